"""A tour of the whole Knock API through the SDK, checking the state each call leaves behind.

Each scenario is one area of the API, run with an `AsyncKnock` against a `KnockTestServer`.
`test_operations.py` runs each on a fresh server, and runs all of them on one server to check
that together they call every operation of the document. Scenarios name their own users,
objects and workflows, so they can share a server.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import attrs
import pytest

from knock_async import (
    AsyncKnock,
    AsyncPager,
    BulkProgress,
    NotFoundError,
    PermissionDeniedError,
    models,
)
from knock_async.testing import ChannelStep, KnockTestServer, ManualClock

FEED = "in-app"  # an in_app_feed channel
EMAIL = "email"
PUSH = "push-fcm"
SLACK = "slack"
TEAMS = "ms-teams"
GUIDES = "guides"

T = TypeVar("T")
ItemT = TypeVar("ItemT")


@attrs.frozen
class Env:
    knock: AsyncKnock
    server: KnockTestServer

    @property
    def clock(self) -> ManualClock:
        clock = self.server.clock
        assert isinstance(clock, ManualClock), "the tour runs on a ManualClock"
        return clock

    def channel(self, key: str) -> str:
        return self.server.channel_id(key)

    async def settle(self, operation: models.BulkOperation) -> models.BulkOperation:
        """Wait for a bulk operation (the server advances it on each poll)."""
        done = await self.knock.bulk_operations.wait(operation, poll_interval=0.001, max_poll_interval=0.01)
        assert done.status == "completed"
        return done


def declare(server: KnockTestServer) -> None:
    """The channels and workflows the tour uses (Knock's dashboard would hold these)."""
    server.add_workflow(
        "new-comment",
        [
            ChannelStep(FEED, "in_app_feed", template="{{ actor.name }}: {{ data.comment }}"),
            ChannelStep(EMAIL, "email", template="{{ actor.name }} commented: {{ data.comment }}"),
        ],
        categories=["social"],
        name="New comment",
    )
    server.add_workflow("project-update", [ChannelStep(FEED, "in_app_feed")])
    server.add_workflow("reminder", [ChannelStep(FEED, "in_app_feed")], delay=3600)
    server.add_workflow("weekly-digest", [ChannelStep(EMAIL, "email")])
    server.add_channel(PUSH, "push")
    server.add_channel(SLACK, "chat")
    server.add_channel(TEAMS, "chat")
    server.add_guide(
        "onboarding",
        [
            {"ref": "step-1", "content": {"title": "Welcome"}},
            {"ref": "step-2", "content": {"title": "Invite"}},
        ],
        channel=GUIDES,
    )
    server.add_guide("retired-tip", ["tip"], channel=GUIDES, type="card", active=False)


async def collect(pager: AsyncPager[ItemT, Any]) -> list[ItemT]:
    """Every item of every page of a pager."""
    return [item async for item in pager]


async def not_found(call: Awaitable[T]) -> NotFoundError:
    with pytest.raises(NotFoundError) as caught:
        await call
    return caught.value


# ---------------------------------------------------------------------------- users


async def users(env: Env) -> None:
    knock, server = env.knock, env.server
    first = await knock.users.update(
        "ada", name="Ada", email="ada@example.com", custom_properties={"plan": "pro", "seats": 3}
    )
    assert first.name == "Ada" and first.additional_properties == {"plan": "pro", "seats": 3}
    # A second identify merges: what it leaves out stays, what it sends wins.
    await knock.users.update("ada", phone_number="+15550100", custom_properties={"seats": 5, "team": "core"})
    ada = await knock.users.get("ada")
    assert (ada.name, ada.email, ada.phone_number) == ("Ada", "ada@example.com", "+15550100")
    assert ada.additional_properties == {"plan": "pro", "seats": 5, "team": "core"}
    assert server.state.users["ada"].properties["seats"] == 5

    await knock.users.update("grace", name="Grace", email="grace@example.com")
    listed = {user.id: user for user in await collect(knock.users.list(page_size=1))}
    assert {"ada", "grace"} <= listed.keys() and listed["ada"].additional_properties["team"] == "core"
    assert len(listed) == len(server.state.users)

    # Preference sets: a write replaces the set unless it asks to merge.
    await knock.users.set_preferences(
        "ada", "default", channel_types={"email": False, "sms": True}, workflows={"weekly-digest": False}
    )
    replaced = await knock.users.set_preferences("ada", "default", categories={"marketing": False})
    assert replaced.categories == {"marketing": False}
    assert replaced.channel_types is None and replaced.workflows is None
    stored = await knock.users.get_preferences("ada", "default")
    assert (stored.categories, stored.channel_types, stored.workflows) == ({"marketing": False}, None, None)
    merged = await knock.users.set_preferences(
        "ada", "default", _persistence_strategy="merge", channel_types={"email": False}
    )
    assert merged.categories == {"marketing": False}
    assert isinstance(merged.channel_types, models.PreferenceSetChannelTypes)
    assert merged.channel_types.email is False
    await knock.users.set_preferences("ada", "acme", workflows={"new-comment": False})
    sets = {preference_set.id: preference_set for preference_set in await knock.users.list_preferences("ada")}
    assert sets.keys() == {"default", "acme"} and sets["acme"].workflows == {"new-comment": False}

    # Bulk preferences write the same set for many users, replacing what each had.
    operation = await knock.users.bulk.set_preferences(
        user_ids=["ada", "grace"], preferences={"channel_types": {"sms": False}}
    )
    done = await env.settle(operation)
    assert (done.success_count, done.error_count) == (2, 0)
    for user_id in ("ada", "grace"):
        after = await knock.users.get_preferences(user_id, "default")
        assert isinstance(after.channel_types, models.PreferenceSetChannelTypes)
        assert after.channel_types.sms is False and after.categories is None

    # Channel data: push tokens and a Slack connection, replaced and unset independently.
    push, slack = env.channel(PUSH), env.channel(SLACK)
    await knock.users.set_channel_data("ada", push, data={"tokens": ["token-1", "token-2"]})
    await knock.users.set_channel_data("ada", push, data={"tokens": ["token-3"]})
    tokens = await knock.users.get_channel_data("ada", push)
    assert tokens.channel_id == push
    assert isinstance(tokens.data, models.PushChannelData) and tokens.data.tokens == ["token-3"]
    await knock.users.set_channel_data(
        "ada",
        slack,
        data=models.SlackChannelData(
            connections=[models.SlackTokenConnection(access_token="xoxb-ada", channel_id="C0ADA")]
        ),
    )
    connection = await knock.users.get_channel_data("ada", slack)
    assert isinstance(connection.data, models.SlackChannelData)
    assert isinstance(connection.data.connections[0], models.SlackTokenConnection)
    assert connection.data.connections[0].channel_id == "C0ADA"
    await knock.users.unset_channel_data("ada", push)
    await not_found(knock.users.get_channel_data("ada", push))
    assert (await knock.users.get_channel_data("ada", slack)).channel_id == slack

    # The hosted preference center.
    signed = await knock.users.preference_center.generate_signed_url("ada")
    assert signed.token and signed.token in signed.url and "/ada" in signed.url
    config = await knock.users.preference_center.get_config("ada")
    assert config.enabled and config.user_email == "ada@example.com"
    assert "new-comment" in {row.identifier for row in config.config.rows}

    # Merging moves the source user (properties, channel data, messages) into the target.
    await knock.users.update("anon-7", custom_properties={"cart": 3, "plan": "free"})
    await knock.users.set_channel_data("anon-7", push, data={"tokens": ["anon-token"]})
    await knock.workflows.trigger("new-comment", recipients=["anon-7"], data={"comment": "welcome"})
    merged_user = await knock.users.merge("ada", from_user_id="anon-7")
    assert merged_user.additional_properties["cart"] == 3
    assert merged_user.additional_properties["plan"] == "pro"  # the target's own values win
    await not_found(knock.users.get("anon-7"))
    moved = await knock.users.get_channel_data("ada", push)
    assert isinstance(moved.data, models.PushChannelData) and moved.data.tokens == ["anon-token"]
    inherited = await collect(knock.users.list_messages("ada", source="new-comment"))
    assert len(inherited) == 2 and {message.recipient for message in inherited} == {"ada"}
    assert await collect(knock.users.list_messages("anon-7")) == []

    # Deleting, one and in bulk.
    await knock.users.update("temp")
    await knock.users.delete("temp")
    await not_found(knock.users.get("temp"))
    for user_id in ("gone-1", "gone-2"):
        await knock.users.update(user_id)
    deleted = await env.settle(await knock.users.bulk.delete(user_ids=["gone-1", "gone-2", "never-was"]))
    assert (deleted.success_count, deleted.error_count) == (2, 1)
    assert isinstance(deleted.error_items, list) and [item.id for item in deleted.error_items] == [
        "never-was"
    ]
    assert not {"temp", "gone-1", "gone-2"} & server.state.users.keys()


async def bulk_identify(env: Env) -> None:
    """2 500 users through run_in_chunks: 3 bulk calls, then the pager sees every one."""
    knock, server = env.knock, env.server
    people = [{"id": f"bulk-{n:04d}", "name": f"Person {n}", "cohort": n % 7} for n in range(2_500)]
    reports: list[BulkProgress] = []
    result = await knock.bulk_operations.run_in_chunks(
        lambda chunk: knock.users.bulk.identify(users=chunk),
        people,
        poll_interval=0.001,
        max_poll_interval=0.01,
        on_progress=reports.append,
    )
    result.raise_for_errors()
    assert len(result.operations) == 3
    assert (result.success_count, result.error_count, result.processed_rows) == (2_500, 0, 2_500)
    assert all(operation.status == "completed" for operation in result.operations)
    calls = server.calls("users.bulk.identify")
    assert sorted(len(call.body["users"]) for call in calls) == [500, 1_000, 1_000]
    assert all(call.status == 200 for call in calls)
    assert reports[-1].done and reports[-1].processed_rows == 2_500 and reports[-1].chunks_finished == 3

    pages_before = len(server.calls("users.list"))
    seen = {user.id: user for user in await collect(knock.users.list(page_size=50))}
    assert {person["id"] for person in people} <= seen.keys()
    assert len(seen) == len(server.state.users)
    assert seen["bulk-0009"].name == "Person 9" and seen["bulk-0009"].additional_properties == {"cohort": 2}
    assert len(server.calls("users.list")) - pages_before == -(-len(seen) // 50)  # one request a page


# ---------------------------------------------------------------------------- objects


async def objects(env: Env) -> None:
    knock, server = env.knock, env.server
    for user_id in ("ada", "grace"):
        await knock.users.update(user_id)
    created = await knock.objects.set("projects", "p1", name="Apollo", custom_properties={"stage": "beta"})
    assert (created.collection, created.id) == ("projects", "p1")
    assert isinstance(created.properties, dict) and created.properties["stage"] == "beta"
    await knock.objects.set("projects", "p1", custom_properties={"owner": "ada"})
    apollo = await knock.objects.get("projects", "p1")
    assert isinstance(apollo.properties, dict)
    assert (apollo.properties["stage"], apollo.properties["owner"]) == ("beta", "ada")
    await knock.objects.set("projects", "p2", name="Gemini")
    await knock.objects.set("teams", "t1", name="Core")
    assert {o.id for o in await collect(knock.objects.list("projects", page_size=1))} >= {"p1", "p2"}
    assert {o.id for o in await collect(knock.objects.list("teams"))} == {"t1"}

    # An object's preferences and channel data.
    await knock.objects.set_preferences("projects", "p1", "default", channel_types={"email": False})
    preferences = await knock.objects.get_preferences("projects", "p1", "default")
    assert isinstance(preferences.channel_types, models.PreferenceSetChannelTypes)
    assert preferences.channel_types.email is False
    assert [p.id for p in await knock.objects.list_preferences("projects", "p1")] == ["default"]
    slack = env.channel(SLACK)
    await knock.objects.set_channel_data(
        "projects", "p1", slack, data={"connections": [{"access_token": "xoxb-p1", "channel_id": "C0P1"}]}
    )
    stored = await knock.objects.get_channel_data("projects", "p1", slack)
    assert isinstance(stored.data, models.SlackChannelData) and stored.channel_id == slack
    await knock.objects.unset_channel_data("projects", "p1", slack)
    await not_found(knock.objects.get_channel_data("projects", "p1", slack))

    # Subscriptions, from both sides; recipients may be identified inline.
    subscribed = await knock.objects.add_subscriptions(
        "projects", "p1", recipients=["ada", {"id": "linus", "name": "Linus"}], properties={"role": "watcher"}
    )
    assert len(subscribed) == 2 and all(s.properties == {"role": "watcher"} for s in subscribed)
    assert (await knock.users.get("linus")).name == "Linus"
    subscribers = await collect(knock.objects.list_subscriptions("projects", "p1"))
    assert {s.recipient.id for s in subscribers} == {"ada", "linus"}
    only_ada = await collect(knock.objects.list_subscriptions("projects", "p1", recipients=["ada"]))
    assert [s.recipient.id for s in only_ada] == ["ada"]
    of_ada = await collect(knock.users.list_subscriptions("ada"))
    assert ("projects", "p1") in {(s.object.collection, s.object.id) for s in of_ada}
    # Object references in a query travel as objects[][id]=..&objects[][collection]=..
    filtered = await collect(
        knock.users.list_subscriptions("ada", objects=[{"id": "p1", "collection": "projects"}])
    )
    assert [(s.object.collection, s.object.id) for s in filtered] == [("projects", "p1")]
    assert (
        await collect(knock.users.list_subscriptions("ada", objects=[{"id": "t1", "collection": "teams"}]))
        == []
    )
    removed = await knock.objects.delete_subscriptions("projects", "p1", recipients=["linus"])
    assert [s.recipient.id for s in removed] == ["linus"]
    assert [s.recipient.id for s in await collect(knock.objects.list_subscriptions("projects", "p1"))] == [
        "ada"
    ]

    # An object can subscribe to another object.
    p1_ref = models.RecipientReference(id="p1", collection="projects")
    await knock.objects.add_subscriptions("teams", "t1", recipients=[{"id": "p1", "collection": "projects"}])
    by_subscriber = await collect(knock.objects.list_subscriptions("teams", "t1", recipients=[p1_ref]))
    assert [(s.recipient.id, getattr(s.recipient, "collection", None)) for s in by_subscriber] == [
        ("p1", "projects")
    ]
    as_recipient = await collect(
        knock.objects.list_subscriptions(
            "projects", "p1", mode="recipient", objects=[{"id": "t1", "collection": "teams"}]
        )
    )
    assert [(s.object.collection, s.object.id) for s in as_recipient] == [("teams", "t1")]

    # Bulk subscriptions.
    added = await knock.objects.bulk.add_subscriptions(
        "projects",
        subscriptions=[{"id": "p2", "recipients": ["ada", "grace"]}, {"id": "p3", "recipients": ["grace"]}],
    )
    assert (await env.settle(added)).success_count == 2
    assert {s.recipient.id for s in await collect(knock.objects.list_subscriptions("projects", "p2"))} == {
        "ada",
        "grace",
    }
    # Two object references in a row: each field seen again starts the next object.
    both = await collect(
        knock.users.list_subscriptions(
            "ada",
            objects=[{"id": "p1", "collection": "projects"}, {"id": "p2", "collection": "projects"}],
        )
    )
    assert sorted(s.object.id for s in both) == ["p1", "p2"]
    dropped = await knock.objects.bulk.delete_subscriptions(
        "projects", subscriptions=[{"id": "p2", "recipients": ["ada"]}]
    )
    assert (await env.settle(dropped)).success_count == 1
    assert [s.recipient.id for s in await collect(knock.objects.list_subscriptions("projects", "p2"))] == [
        "grace"
    ]

    # Triggering for an object notifies it and its subscribers.
    await knock.workflows.trigger(
        "project-update", recipients=[{"id": "p1", "collection": "projects"}], data={"status": "launched"}
    )
    [message] = await collect(knock.objects.list_messages("projects", "p1"))
    assert message.recipient == p1_ref and message.data == {"status": "launched"}
    assert len(await collect(knock.users.list_messages("ada", source="project-update"))) == 1

    # Bulk set and delete, and delete.
    written = await knock.objects.bulk.set("projects", objects=[{"id": "p4", "name": "Four"}, {"id": "p5"}])
    assert (await env.settle(written)).success_count == 2
    four = await knock.objects.get("projects", "p4")
    assert isinstance(four.properties, dict) and four.properties["name"] == "Four"
    gone = await knock.objects.bulk.delete("projects", object_ids=["p4", "p5"])
    assert (await env.settle(gone)).success_count == 2
    await not_found(knock.objects.get("projects", "p4"))
    await knock.objects.delete("projects", "p3")
    await not_found(knock.objects.get("projects", "p3"))
    assert ("projects", "p3") not in server.state.objects


# ---------------------------------------------------------------------------- tenants


async def tenants(env: Env) -> None:
    knock = env.knock
    created = await knock.tenants.set(
        "acme",
        name="Acme",
        settings={"branding": {"primary_color": "#ff0000"}},
        custom_properties={"tier": "gold"},
    )
    assert created.name == "Acme" and created.additional_properties["tier"] == "gold"
    await knock.tenants.set("acme", custom_properties={"region": "eu"})
    acme = await knock.tenants.get("acme")
    assert acme.name == "Acme" and acme.additional_properties == {"tier": "gold", "region": "eu"}
    assert isinstance(acme.settings, models.TenantSettings)
    assert isinstance(acme.settings.branding, models.TenantBranding)
    assert acme.settings.branding.primary_color == "#ff0000"
    assert [t.id for t in await collect(knock.tenants.list(name="Acme"))] == ["acme"]
    assert [t.id for t in await collect(knock.tenants.list(tenant_id="acme"))] == ["acme"]

    written = await knock.tenants.bulk.set(tenants=["beta", {"id": "gamma", "name": "Gamma"}])
    assert (await env.settle(written)).success_count == 2
    assert {t.id for t in await collect(knock.tenants.list(page_size=1))} >= {"acme", "beta", "gamma"}
    assert (await knock.tenants.get("gamma")).name == "Gamma"
    deleted = await knock.tenants.bulk.delete(tenant_ids=["beta", "gamma"])
    assert (await env.settle(deleted)).success_count == 2
    await not_found(knock.tenants.get("beta"))
    await knock.tenants.delete("acme")
    await not_found(knock.tenants.get("acme"))


# ---------------------------------------------------------------------------- schedules


async def schedules(env: Env) -> None:
    knock = env.knock
    start = dt.datetime(2030, 1, 7, 9, 0, tzinfo=dt.timezone.utc)
    created = await knock.schedules.create(
        workflow="weekly-digest",
        recipients=["sched-ada", {"id": "p9", "collection": "projects"}],
        repeats=[{"frequency": "weekly", "days": ["mon"], "hours": 9}],
        data={"edition": 1},
        scheduled_at=start,
    )
    assert len(created) == 2
    assert all(s.workflow == "weekly-digest" and s.data == {"edition": 1} for s in created)
    assert all(s.next_occurrence_at == start for s in created)
    ids = [schedule.id for schedule in created]
    listed = await collect(knock.schedules.list(workflow="weekly-digest", page_size=1))
    assert {s.id for s in listed} == set(ids)
    for_user = await collect(knock.schedules.list(workflow="weekly-digest", recipients=["sched-ada"]))
    assert [s.recipient.id for s in for_user] == ["sched-ada"]
    # An object reference as a query filter: recipients[][id]=p9&recipients[][collection]=projects
    for_object = await collect(
        knock.schedules.list(workflow="weekly-digest", recipients=[{"id": "p9", "collection": "projects"}])
    )
    assert [(s.recipient.id, getattr(s.recipient, "collection", None)) for s in for_object] == [
        ("p9", "projects")
    ]
    mixed = await collect(
        knock.schedules.list(
            workflow="weekly-digest", recipients=["sched-ada", {"id": "p9", "collection": "projects"}]
        )
    )
    assert {s.id for s in mixed} == set(ids)

    updated = await knock.schedules.update(
        schedule_ids=ids, data={"edition": 2}, repeats=[{"frequency": "daily", "hours": 8}]
    )
    assert len(updated) == 2
    for schedule in await collect(knock.schedules.list(workflow="weekly-digest")):
        assert schedule.data == {"edition": 2}
        assert [(rule.frequency, rule.hours) for rule in schedule.repeats] == [("daily", 8)]
    assert [s.id for s in await collect(knock.users.list_schedules("sched-ada"))] == [ids[0]]
    assert [s.id for s in await collect(knock.objects.list_schedules("projects", "p9"))] == [ids[1]]

    bulk = await knock.schedules.bulk.create(
        schedules=[
            {"workflow": "weekly-digest", "recipient": "sched-grace", "repeats": [{"frequency": "daily"}]}
        ]
    )
    assert (await env.settle(bulk)).success_count == 1
    [graces] = await collect(knock.schedules.list(workflow="weekly-digest", recipients=["sched-grace"]))

    deleted = await knock.schedules.delete(schedule_ids=[*ids, graces.id])
    assert {s.id for s in deleted} == {*ids, graces.id}
    assert await collect(knock.schedules.list(workflow="weekly-digest")) == []


# ---------------------------------------------------------------------------- audiences


async def audiences(env: Env) -> None:
    knock = env.knock
    await knock.audiences.add_members(
        "beta-testers",
        members=[
            {"user": {"id": "aud-ada"}},
            {"user": {"id": "aud-new", "name": "Newbie"}, "tenant": "acme"},
        ],
        create_audience=True,
    )
    members = (await knock.audiences.list_members("beta-testers")).entries
    assert {(m.user_id, m.tenant) for m in members} == {("aud-ada", None), ("aud-new", "acme")}
    newbie = next(m for m in members if m.user_id == "aud-new")
    assert newbie.user is not None and newbie.user.name == "Newbie"  # identified inline
    await knock.audiences.remove_members(
        "beta-testers", members=[{"user": {"id": "aud-new"}, "tenant": "acme"}]
    )
    assert [m.user_id for m in (await knock.audiences.list_members("beta-testers")).entries] == ["aud-ada"]


# ---------------------------------------------------------------------------- messages and feeds


async def feed_counts(env: Env, user_id: str, **filters: Any) -> tuple[int, int, int, int]:
    """(items, total_count, unread_count, unseen_count) of the user's feed."""
    page = await env.knock.users.feeds.list_items(user_id, env.channel(FEED), **filters)
    meta = page.data.meta
    return len(page.items), meta.total_count, meta.unread_count, meta.unseen_count


async def messages(env: Env) -> None:
    knock, server = env.knock, env.server
    feed, email = env.channel(FEED), env.channel(EMAIL)
    await knock.users.update("reader", name="Reader", email="reader@example.com")
    runs = [
        await knock.workflows.trigger(
            "new-comment",
            recipients=["reader"],
            actor={"id": "author", "name": "Author"},
            tenant="msg-tenant",
            data={"comment": f"comment {n}"},
        )
        for n in range(4)
    ]
    assert len({run.workflow_run_id for run in runs}) == 4
    assert await feed_counts(env, "reader") == (4, 4, 4, 4)
    assert (await knock.users.feeds.get_settings("reader", feed)).features.branding_required is False

    page = await knock.users.feeds.list_items("reader", feed)
    items = page.items
    assert [item.data for item in items] == [{"comment": f"comment {n}"} for n in (3, 2, 1, 0)]
    assert items[0].blocks and "Author: comment 3" in str(items[0].blocks[0])
    assert all(item.tenant == "msg-tenant" and item.source.key == "new-comment" for item in items)
    a, b, c, d = (item.id for item in items)

    # Seen and read, one at a time, in a batch and for the whole channel.
    seen = await knock.messages.mark_as_seen(a)
    assert seen.seen_at and "seen" in seen.engagement_statuses
    assert await feed_counts(env, "reader") == (4, 4, 4, 3)
    await knock.messages.batch.mark_as_seen(message_ids=[b, c])
    assert await feed_counts(env, "reader") == (4, 4, 4, 1)
    await knock.messages.mark_as_read(a)
    assert await feed_counts(env, "reader") == (4, 4, 3, 1)
    read = await knock.messages.batch.mark_as_read(message_ids=[b, "no-such-message"])
    assert [message.id for message in read] == [b]  # unknown ids drop out
    assert await feed_counts(env, "reader") == (4, 4, 2, 1)
    assert await feed_counts(env, "reader", status="unread") == (2, 2, 2, 1)
    await env.settle(await knock.channels.bulk.update_message_status(feed, "seen", recipient_ids=["reader"]))
    await env.settle(await knock.channels.bulk.update_message_status(feed, "read", recipient_ids=["reader"]))
    assert await feed_counts(env, "reader") == (4, 4, 0, 0)
    assert all(
        message.read_at
        for message in await collect(knock.messages.list(channel_id=feed, tenant="msg-tenant"))
    )

    # ... and back.
    await knock.messages.mark_as_unread(a)
    await knock.messages.mark_as_unseen(a)
    assert await feed_counts(env, "reader") == (4, 4, 1, 1)
    await knock.messages.batch.mark_as_unread(message_ids=[b, c])
    await knock.messages.batch.mark_as_unseen(message_ids=[b])
    assert await feed_counts(env, "reader") == (4, 4, 3, 2)

    # Archived messages leave the feed (and its counts) until unarchived.
    archived = await knock.messages.archive(a)
    assert archived.archived_at
    assert await feed_counts(env, "reader") == (3, 3, 2, 1)
    assert (await feed_counts(env, "reader", archived="only"))[:2] == (1, 1)
    await knock.messages.batch.archive(message_ids=[b, c])
    assert await feed_counts(env, "reader") == (1, 1, 0, 0)
    await knock.messages.unarchive(a)
    await knock.messages.batch.unarchive(message_ids=[b])
    assert await feed_counts(env, "reader") == (3, 3, 2, 2)

    # Interactions carry metadata.
    interacted = await knock.messages.mark_as_interacted(d, metadata={"action": "like"})
    assert interacted.interacted_at and interacted.metadata == {"action": "like"}
    batch = await knock.messages.batch.mark_as_interacted(message_ids=[c], metadata={"action": "reply"})
    assert batch[0].metadata == {"action": "reply"} and "interacted" in batch[0].engagement_statuses
    assert {
        m.id for m in await collect(knock.users.list_messages("reader", engagement_status=["interacted"]))
    } == {
        c,
        d,
    }
    await env.settle(
        await knock.channels.bulk.update_message_status(feed, "archive", recipient_ids=["reader"])
    )
    assert await feed_counts(env, "reader") == (0, 0, 0, 0)

    # One message, read every way.
    message = await knock.messages.get(d)
    assert (message.id, message.channel_id, message.recipient, message.tenant) == (
        d,
        feed,
        "reader",
        "msg-tenant",
    )
    assert message.actors == ["author"] and message.source.key == "new-comment"
    emails = await collect(knock.messages.list(channel_id=email, source="new-comment", status=["delivered"]))
    reader_emails = [m for m in emails if m.recipient == "reader"]
    assert len(reader_emails) == 4
    latest_email = reader_emails[0]
    content = await knock.messages.get_content(latest_email.id)
    assert isinstance(content.data, models.MessageEmailContent)
    assert content.data.to == "reader@example.com"
    assert content.data.text_body == "Author commented: comment 3"
    both = await knock.messages.batch.get_content(message_ids=[d, latest_email.id])
    assert [item.message_id for item in both] == [d, latest_email.id]
    assert isinstance(both[0].data, models.MessageInAppFeedContent)
    events = [event.type for event in await collect(knock.messages.list_events(d))]
    assert {"message.sent", "message.delivered", "message.interacted", "message.archived"} <= set(events)
    [activity] = await collect(knock.messages.list_activities(d))
    assert activity.data == {"comment": "comment 0"} == message.data
    assert isinstance(activity.actor, models.User) and activity.actor.id == "author"
    assert await collect(knock.messages.list_delivery_logs(d)) == []  # in-app: no provider
    [log] = await collect(knock.messages.list_delivery_logs(latest_email.id))
    assert log.service_name and log.response.status == 200
    by_run = await collect(knock.users.list_messages("reader", workflow_run_id=runs[0].workflow_run_id))
    assert {m.channel_id for m in by_run} == {feed, email}
    assert server.state.messages[d].engaged.keys() == {"seen", "read", "interacted", "archived"}


async def cancellation(env: Env) -> None:
    """A delayed run cancelled with its cancellation key never delivers; the others do."""
    knock = env.knock
    first = await knock.workflows.trigger(
        "reminder", recipients=["cancel-me", "keep-me"], cancellation_key="order-1", data={"order": 1}
    )
    await knock.workflows.trigger("reminder", recipients=["cancel-all"], cancellation_key="order-2")
    pending = await collect(knock.workflow_recipient_runs.list(workflow="reminder"))
    assert {run.status for run in pending} == {"processing"}
    assert {run.workflow_run_id for run in pending if run.recipient != "cancel-all"} == {
        first.workflow_run_id
    }

    env.clock.advance(1_800)  # half way through the delay
    await knock.workflows.cancel("reminder", cancellation_key="order-1", recipients=["cancel-me"])
    await knock.workflows.cancel("reminder", cancellation_key="order-2")
    env.clock.advance(1_801)  # past the delay

    delivered = {m.recipient for m in await collect(knock.messages.list(source="reminder"))}
    assert delivered == {"keep-me"}
    assert await feed_counts(env, "cancel-me") == (0, 0, 0, 0)
    assert await feed_counts(env, "keep-me") == (1, 1, 1, 1)
    status = {
        run.recipient: run.status
        for run in await collect(knock.workflow_recipient_runs.list(workflow="reminder"))
    }
    assert status == {"cancel-me": "cancelled", "keep-me": "completed", "cancel-all": "cancelled"}
    cancelled = await collect(knock.workflow_recipient_runs.list(workflow="reminder", status=["cancelled"]))
    assert {run.recipient for run in cancelled} == {"cancel-me", "cancel-all"}
    detail = await knock.workflow_recipient_runs.get(
        next(r.id for r in cancelled if r.recipient == "cancel-me")
    )
    assert [event.event for event in detail.events][-1] == "cancelled"


async def workflow_runs(env: Env) -> None:
    knock = env.knock
    project = models.RecipientReference(id="run-project", collection="projects")
    run = await knock.workflows.trigger(
        "project-update",
        recipients=["run-user", models.InlineObjectRequest(id="run-project", collection="projects")],
        actor="run-actor",
        tenant="run-tenant",
    )
    runs = await collect(knock.workflow_recipient_runs.list(workflow="project-update", tenant="run-tenant"))
    assert len(runs) == 2 and {r.workflow_run_id for r in runs} == {run.workflow_run_id}
    assert all(r.status == "completed" and r.actor == "run-actor" for r in runs)
    [for_user] = await collect(knock.workflow_recipient_runs.list(recipient="run-user"))
    assert for_user.recipient == "run-user"
    # An object recipient travels as recipient[id]=..&recipient[collection]=..
    [for_object] = await collect(knock.workflow_recipient_runs.list(recipient=project))
    assert for_object.recipient == project
    [by_dict] = await collect(
        knock.workflow_recipient_runs.list(recipient={"id": "run-project", "collection": "projects"})
    )
    assert by_dict.id == for_object.id
    assert await collect(knock.workflow_recipient_runs.list(recipient="run-project")) == []  # a user id
    completed = await collect(
        knock.workflow_recipient_runs.list(workflow="project-update", status=["completed"], has_errors=False)
    )
    assert {r.id for r in runs} <= {r.id for r in completed}
    detail = await knock.workflow_recipient_runs.get(for_user.id)
    assert detail.id == for_user.id and detail.workflow == "project-update"
    assert [event.event for event in detail.events] == ["trigger", "message_delivered"]


# ---------------------------------------------------------------------------- providers and guides


async def providers(env: Env) -> None:
    """SlackKit and TeamsKit endpoints answer from channel data stored on an object."""
    knock = env.knock
    slack, teams = env.channel(SLACK), env.channel(TEAMS)
    await knock.objects.set_channel_data(
        "$tenants",
        "acme-slack",
        slack,
        data={
            "token": {"access_token": "xoxb-workspace"},
            "connections": [
                {"channel_id": "C01", "channel_name": "general", "access_token": "xoxb-workspace"}
            ],
        },
    )
    token_object = json.dumps({"object_id": "acme-slack", "collection": "$tenants"})
    assert (await knock.providers.slack.check_auth(slack, access_token_object=token_object)).connection.ok
    channels = await collect(knock.providers.slack.list_channels(slack, access_token_object=token_object))
    assert [(c.id, c.name) for c in channels] == [("C01", "general")]
    revoked_slack = await knock.providers.slack.revoke_access(slack, access_token_object=token_object)
    assert revoked_slack.ok == "ok"
    with pytest.raises(PermissionDeniedError):
        await knock.providers.slack.check_auth(slack, access_token_object=token_object)
    revoked = await knock.objects.get_channel_data("$tenants", "acme-slack", slack)
    assert isinstance(revoked.data, models.SlackChannelData) and not revoked.data.token
    assert isinstance(revoked.data.connections[0], models.SlackTokenConnection)
    assert not revoked.data.connections[0].access_token and revoked.data.connections[0].channel_id == "C01"

    await knock.objects.set_channel_data(
        "$tenants",
        "acme-teams",
        teams,
        data={
            "ms_teams_tenant_id": "entra-tenant-1",
            "connections": [
                {"ms_teams_team_id": "team-1", "ms_teams_channel_id": "chan-1"},
                {"ms_teams_team_id": "team-1", "ms_teams_channel_id": "chan-2"},
                {"ms_teams_team_id": "team-2", "ms_teams_channel_id": "chan-3"},
            ],
        },
    )
    tenant_object = json.dumps({"object_id": "acme-teams", "collection": "$tenants"})
    assert (
        await knock.providers.ms_teams.check_auth(teams, ms_teams_tenant_object=tenant_object)
    ).connection.ok
    found = await collect(knock.providers.ms_teams.list_teams(teams, ms_teams_tenant_object=tenant_object))
    assert [team.id for team in found] == ["team-1", "team-2"]
    team_channels = await knock.providers.ms_teams.list_channels(
        teams, ms_teams_tenant_object=tenant_object, team_id="team-1"
    )
    assert [c.id for c in team_channels.ms_teams_channels] == ["chan-1", "chan-2"]
    revoked_teams = await knock.providers.ms_teams.revoke_access(teams, ms_teams_tenant_object=tenant_object)
    assert revoked_teams.ok == "ok"
    with pytest.raises(PermissionDeniedError):
        await knock.providers.ms_teams.check_auth(teams, ms_teams_tenant_object=tenant_object)


async def guides(env: Env) -> None:
    """Declared guides: listing shows each step's engagement, which the engagement calls change."""
    knock, server = env.knock, env.server
    channel, guide = env.channel(GUIDES), knock.users.guides
    listed = await guide.get_channel("guide-user", channel, tenant="acme", data='{"plan": "pro"}')
    assert dict(server.calls("users.guides.get_channel")[-1].query) == {
        "tenant": "acme",
        "data": '{"plan": "pro"}',
    }
    [onboarding] = listed.entries
    assert [step.ref for step in onboarding.steps] == ["step-1", "step-2"]
    assert onboarding.steps[0].message.id is None  # nothing engaged yet
    assert [(g.key, g.reason) for g in listed.ineligible_guides] == [("retired-tip", "guide_not_active")]
    assert [
        g.key for g in (await guide.get_channel("guide-user", channel, type="card")).ineligible_guides
    ] == ["retired-tip"]

    step = {
        "channel_id": channel,
        "guide_id": onboarding.id,
        "guide_key": "onboarding",
        "guide_step_ref": "step-1",
    }
    assert (
        await guide.mark_message_as_seen("guide-user", **step, content={"title": "Welcome"})
    ).status == "ok"
    assert server.calls("users.guides.mark_message_as_seen")[-1].body == {
        **step,
        "content": {"title": "Welcome"},
    }
    message = (await first_step(env)).message
    assert message.id and message.seen_at and not message.interacted_at

    # The per-message forms name the step's message by its id.
    await guide.mark_message_as_interacted_by_id(
        "guide-user", message.id, **step, metadata={"button": "next"}
    )
    interacted = (await first_step(env)).message
    assert interacted.id == message.id and interacted.interacted_at and interacted.read_at
    await guide.mark_message_as_seen_by_id("guide-user", message.id, **step, content={"title": "Welcome"})
    assert (await first_step(env)).message.seen_at == message.seen_at  # the first sighting counts
    await not_found(guide.mark_message_as_seen_by_id("guide-user", "no-such-message", **step, content={}))
    second = {**step, "guide_step_ref": "step-2"}
    await guide.mark_message_as_interacted("guide-user", **second)
    listed = await guide.get_channel("guide-user", channel)
    [later] = [entry.steps[1].message for entry in listed.entries if entry.key == "onboarding"]
    assert later.id not in (None, message.id) and later.interacted_at and not later.seen_at

    # Archiving hides the guide, unarchiving shows it again, a reset forgets every engagement.
    await guide.mark_message_as_archived_by_id("guide-user", message.id, **step, is_final=True)
    hidden = await guide.get_channel("guide-user", channel)
    assert hidden.entries == []
    assert ("onboarding", "marked_as_archived") in [(g.key, g.reason) for g in hidden.ineligible_guides]
    await guide.unarchive_guide_message("guide-user", guide_key="onboarding")
    shown = (await first_step(env)).message
    assert shown.archived_at is None and shown.seen_at == message.seen_at
    await guide.reset_guide_engagements("guide-user", guide_key="onboarding")
    assert (await first_step(env)).message.id is None
    await guide.mark_message_as_archived("guide-user", **step)
    assert (await guide.get_channel("guide-user", channel)).entries == []
    await not_found(guide.reset_guide_engagements("guide-user", guide_key="no-such-guide"))


async def first_step(env: Env) -> models.GuideStep:
    """The onboarding guide's first step as guide-user sees it."""
    listed = await env.knock.users.guides.get_channel("guide-user", env.channel(GUIDES))
    [onboarding] = [entry for entry in listed.entries if entry.key == "onboarding"]
    return onboarding.steps[0]


# ---------------------------------------------------------------------------- integrations


async def integrations(env: Env) -> None:
    """Census and Hightouch sync users into Knock with JSON-RPC calls."""
    knock = env.knock
    checked = await knock.integrations.census.custom_destination(
        id="rpc-1", jsonrpc="2.0", method="test_connection"
    )
    assert (checked.id, checked.result) == ("rpc-1", {"success": True})
    synced = await knock.integrations.hightouch.embedded_destination(
        id="rpc-2",
        jsonrpc="2.0",
        method="sync_batch",
        params={"records": [{"id": "etl-1", "name": "Etl", "plan": "pro"}, {"name": "no id"}]},
    )
    assert isinstance(synced.result, dict)
    assert [(r["identifier"], r["success"]) for r in synced.result["record_results"]] == [
        ("etl-1", True),
        (None, False),
    ]
    user = await knock.users.get("etl-1")
    assert user.name == "Etl" and user.additional_properties == {"plan": "pro"}


# ---------------------------------------------------------------------------- deprecated preference parts


async def preference_parts(env: Env) -> None:
    """Knock's deprecated per-part preference updates: each warns, and changes only its part."""
    knock = env.knock
    owners: list[tuple[Any, tuple[str, ...]]] = [
        (knock.users, ("parts-user",)),
        (knock.objects, ("projects", "parts-project")),
    ]
    for namespace, owner in owners:
        await namespace.set_preferences(
            *owner, "default", categories={"marketing": True}, commercial_subscribed=True
        )
        with pytest.warns(DeprecationWarning, match="set_channel_types_preferences is deprecated"):
            after = await namespace.set_channel_types_preferences(*owner, "default", email=False, sms=True)
        assert after.categories == {"marketing": True} and after.commercial_subscribed is True
        assert (after.channel_types.email, after.channel_types.sms) == (False, True)
        with pytest.warns(DeprecationWarning):
            after = await namespace.set_channel_type_preferences(*owner, "default", "email", subscribed=True)
        assert (after.channel_types.email, after.channel_types.sms) == (True, True)

        with pytest.warns(DeprecationWarning):
            after = await namespace.set_categories_preferences(*owner, "default", settings={"digest": False})
        assert after.categories == {"digest": False}  # the whole part is replaced
        with pytest.warns(DeprecationWarning):
            after = await namespace.set_category_preferences(*owner, "default", "marketing", subscribed=False)
        assert after.categories == {"digest": False, "marketing": False}

        with pytest.warns(DeprecationWarning):
            await namespace.set_workflows_preferences(*owner, "default", settings={"new-comment": False})
        with pytest.warns(DeprecationWarning):
            after = await namespace.set_workflow_preferences(
                *owner, "default", "weekly-digest", channel_types={"email": False}
            )
        assert isinstance(after.workflows, dict) and after.workflows["new-comment"] is False
        assert after.workflows["weekly-digest"] == {"channel_types": {"email": False}}
        assert (await namespace.get_preferences(*owner, "default")).workflows == after.workflows

        # Deleting a set removes it; reading it again answers an empty set.
        await namespace.unset_preferences(*owner, "default")
        assert await namespace.list_preferences(*owner) == []
        emptied = await namespace.get_preferences(*owner, "default")
        assert (emptied.categories, emptied.channel_types, emptied.workflows) == (None, None, None)

    # An opt-out made through a per-key update holds when the workflow runs.
    with pytest.warns(DeprecationWarning):
        await knock.users.set_workflow_preferences(
            "parts-user", "default", "project-update", subscribed=False
        )
    await knock.workflows.trigger("project-update", recipients=["parts-user"])
    assert await collect(knock.users.list_messages("parts-user", source="project-update")) == []


Scenario = Callable[[Env], Awaitable[None]]

SCENARIOS: dict[str, Scenario] = {
    "users": users,
    "bulk_identify": bulk_identify,
    "objects": objects,
    "tenants": tenants,
    "schedules": schedules,
    "audiences": audiences,
    "messages": messages,
    "cancellation": cancellation,
    "workflow_runs": workflow_runs,
    "providers": providers,
    "guides": guides,
    "integrations": integrations,
    "preference_parts": preference_parts,
}
