"""Every operation of the document is served: a realistic request gets its documented 2xx.

Driven by the generated Operation constants (the server's own route table): an operation added
to the document fails here until it has both a handler and an example request below.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import attrs
import pytest

from knock_async._types import Operation
from knock_async.testing import ChannelStep, KnockTestServer
from knock_async.testing._routes import HANDLERS, discover_operations
from tests.conftest import ServerFactory
from tests.server.contract import request_problems
from tests.server.support import Api

OPERATIONS = discover_operations()
WORKFLOW = "welcome"
DAILY = [{"frequency": "daily", "hours": 9, "minutes": 0}]
SLACK_OWNER = json.dumps({"object_id": "t1", "collection": "$tenants"})


@attrs.frozen
class Seed:
    """Ids of what `seed()` created, for the example requests."""

    feed_message: str
    email_message: str
    schedule: str
    bulk_operation: str
    run: str
    feed: str
    push: str
    slack: str
    teams: str
    guide_message: str


@attrs.frozen
class Example:
    path: dict[str, str] = attrs.field(factory=dict)
    query: list[tuple[str, str]] = attrs.field(factory=list)
    body: Any = None


def examples(s: Seed) -> dict[str, Example]:
    """One realistic request per operationId."""
    user = {"user_id": "u1"}
    project = {"collection": "projects", "object_id": "p1"}  # the routes below an object
    the_project = {"collection": "projects", "id": "p1"}  # the object's own routes
    message = {"message_id": s.feed_message}
    statuses = {"message_ids": [s.feed_message]}
    guide = {
        "channel_id": KnockTestServer.channel_id("guides"),
        "guide_id": "7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d",
        "guide_key": "onboarding",
        "guide_step_ref": "step_1",
    }
    single = {
        f"messages.{name}": Example(message)
        for name in (
            "mark_as_seen",
            "mark_as_unseen",
            "mark_as_read",
            "mark_as_unread",
            "archive",
            "unarchive",
        )
    }
    batch = {
        f"messages.batch.{name}": Example(body=statuses)
        for name in (
            "mark_as_seen",
            "mark_as_unseen",
            "mark_as_read",
            "mark_as_unread",
            "archive",
            "unarchive",
        )
    }
    preference_parts = {
        f"{owner}.set_{name}_preferences": Example({**path, "id": "default", **key}, body=body)
        for owner, path in (("users", user), ("objects", project))
        for name, key, body in (
            ("channel_types", {}, {"email": False, "sms": True}),
            ("channel_type", {"type": "sms"}, {"subscribed": False}),
            ("categories", {}, {"marketing": False}),
            ("category", {"key": "marketing"}, {"subscribed": True}),
            ("workflows", {}, {WORKFLOW: {"channel_types": {"email": False}}}),
            ("workflow", {"key": WORKFLOW}, {"subscribed": False}),
        )
    }
    guide_by_id = {
        f"users.guides.mark_message_as_{state}_by_id": Example(
            {**user, "message_id": s.guide_message}, body={**guide, "content": {"title": "Hi"}}
        )
        for state in ("seen", "interacted", "archived")
    }
    rpc = {"id": "rpc-1", "jsonrpc": "2.0"}
    return {
        **single,
        **batch,
        **preference_parts,
        **guide_by_id,
        "users.unset_preferences": Example({**user, "id": "default"}),
        "objects.unset_preferences": Example({**project, "id": "default"}),
        "users.guides.unarchive_guide_message": Example(user, body={"guide_key": "onboarding"}),
        "users.guides.reset_guide_engagements": Example(user, body={"guide_key": "onboarding"}),
        "integrations.census.custom_destination": Example(body={**rpc, "method": "test_connection"}),
        "integrations.hightouch.embedded_destination": Example(
            body={**rpc, "method": "sync_batch", "params": {"records": [{"id": "u9", "name": "Ida"}]}}
        ),
        "messages.list": Example(query=[("page_size", "10"), ("channel_id", s.feed)]),
        "messages.get": Example(message),
        "messages.list_events": Example({"message_id": s.email_message}),
        "messages.list_activities": Example({"message_id": s.email_message}),
        "messages.get_content": Example({"message_id": s.email_message}),
        "messages.list_delivery_logs": Example({"message_id": s.email_message}),
        "messages.batch.get_content": Example(query=[("message_ids[]", s.feed_message)]),
        "messages.mark_as_interacted": Example(message, body={"metadata": {"button": "open"}}),
        "messages.batch.mark_as_interacted": Example(body={**statuses, "metadata": {"button": "open"}}),
        "channels.bulk.update_message_status": Example({"channel_id": s.feed, "action": "seen"}, body={}),
        "users.list": Example(query=[("include[]", "preferences")]),
        "users.get": Example(user),
        "users.update": Example(user, body={"name": "Ada", "email": "ada@example.com", "plan": "pro"}),
        "users.delete": Example(user),
        "users.list_messages": Example(user),
        "users.merge": Example(user, body={"from_user_id": "u2"}),
        "users.bulk.identify": Example(body={"users": [{"id": "u3", "name": "Grace"}]}),
        "users.bulk.delete": Example(body={"user_ids": ["u2"]}),
        "users.list_preferences": Example(user),
        "users.get_preferences": Example({**user, "id": "default"}),
        "users.set_preferences": Example({**user, "id": "default"}, body={"workflows": {WORKFLOW: True}}),
        "users.bulk.set_preferences": Example(
            body={"user_ids": ["u1"], "preferences": {"channel_types": {"email": False}}}
        ),
        "users.preference_center.generate_signed_url": Example(user),
        "users.preference_center.get_config": Example(user),
        "users.list_subscriptions": Example(user),
        "users.list_schedules": Example(user, query=[("workflow", WORKFLOW)]),
        "users.get_channel_data": Example({**user, "channel_id": s.push}),
        "users.set_channel_data": Example(
            {**user, "channel_id": s.push}, body={"data": {"tokens": ["tok-2"]}}
        ),
        "users.unset_channel_data": Example({**user, "channel_id": s.push}),
        "users.feeds.list_items": Example({**user, "id": s.feed}, query=[("status", "unread")]),
        "users.feeds.get_settings": Example({**user, "id": s.feed}),
        "users.guides.get_channel": Example({**user, "channel_id": guide["channel_id"]}),
        "users.guides.mark_message_as_seen": Example(user, body={**guide, "content": {"title": "Hi"}}),
        "users.guides.mark_message_as_interacted": Example(user, body=guide),
        "users.guides.mark_message_as_archived": Example(user, body=guide),
        "objects.list": Example({"collection": "projects"}),
        "objects.get": Example(the_project),
        "objects.set": Example(the_project, body={"name": "Apollo", "owner": "u1"}),
        "objects.delete": Example(the_project),
        "objects.list_messages": Example(the_project),
        "objects.bulk.set": Example(
            {"collection": "projects"}, body={"objects": [{"id": "p2", "name": "Gemini"}]}
        ),
        "objects.bulk.delete": Example({"collection": "projects"}, body={"object_ids": ["p1"]}),
        "objects.list_preferences": Example(project),
        "objects.get_preferences": Example({**project, "id": "default"}),
        "objects.set_preferences": Example(
            {**project, "id": "default"}, body={"categories": {"digest": False}}
        ),
        "objects.list_subscriptions": Example(project, query=[("mode", "object")]),
        "objects.add_subscriptions": Example(
            project, body={"recipients": ["u2"], "properties": {"role": "viewer"}}
        ),
        "objects.delete_subscriptions": Example(project, body={"recipients": ["u1"]}),
        "objects.bulk.add_subscriptions": Example(
            {"collection": "projects"}, body={"subscriptions": [{"id": "p1", "recipients": ["u2"]}]}
        ),
        "objects.bulk.delete_subscriptions": Example(
            {"collection": "projects"}, body={"subscriptions": [{"id": "p1", "recipients": ["u1"]}]}
        ),
        "objects.list_schedules": Example(the_project, query=[("workflow", WORKFLOW)]),
        "objects.get_channel_data": Example({**project, "channel_id": s.slack}),
        "objects.set_channel_data": Example(
            {**project, "channel_id": s.slack}, body={"data": {"connections": [{"channel_id": "C2"}]}}
        ),
        "objects.unset_channel_data": Example({**project, "channel_id": s.slack}),
        "tenants.list": Example(),
        "tenants.get": Example({"id": "t1"}),
        "tenants.set": Example(
            {"id": "t1"}, body={"name": "Acme", "settings": {"branding": {"logo_url": None}}}
        ),
        "tenants.delete": Example({"id": "t1"}),
        "tenants.bulk.set": Example(body={"tenants": ["t2", {"id": "t3", "name": "Initech"}]}),
        "tenants.bulk.delete": Example(query=[("tenant_ids[]", "t1")]),
        "bulk_operations.get": Example({"id": s.bulk_operation}),
        "audiences.list_members": Example({"key": "beta"}),
        "audiences.add_members": Example({"key": "beta"}, body={"members": [{"user": {"id": "u2"}}]}),
        "audiences.remove_members": Example({"key": "beta"}, body={"members": [{"user": {"id": "u1"}}]}),
        "schedules.list": Example(query=[("workflow", WORKFLOW)]),
        "schedules.create": Example(body={"workflow": WORKFLOW, "recipients": ["u1"], "repeats": DAILY}),
        "schedules.update": Example(body={"schedule_ids": [s.schedule], "data": {"digest": True}}),
        "schedules.delete": Example(body={"schedule_ids": [s.schedule]}),
        "schedules.bulk.create": Example(
            body={"schedules": [{"workflow": WORKFLOW, "recipient": "u2", "repeats": DAILY}]}
        ),
        "workflows.trigger": Example(
            {"key": WORKFLOW}, body={"recipients": ["u1"], "data": {"comment": "Hi"}}
        ),
        "workflows.cancel": Example({"key": WORKFLOW}, body={"cancellation_key": "order-1"}),
        "workflow_recipient_runs.list": Example(query=[("workflow", WORKFLOW)]),
        "workflow_recipient_runs.get": Example({"id": s.run}),
        "providers.slack.check_auth": Example(
            {"channel_id": s.slack}, query=[("access_token_object", SLACK_OWNER)]
        ),
        "providers.slack.list_channels": Example(
            {"channel_id": s.slack}, query=[("access_token_object", SLACK_OWNER)]
        ),
        "providers.slack.revoke_access": Example(
            {"channel_id": s.slack}, query=[("access_token_object", SLACK_OWNER)]
        ),
        "providers.ms_teams.check_auth": Example(
            {"channel_id": s.teams}, query=[("ms_teams_tenant_object", SLACK_OWNER)]
        ),
        "providers.ms_teams.list_teams": Example(
            {"channel_id": s.teams}, query=[("ms_teams_tenant_object", SLACK_OWNER)]
        ),
        "providers.ms_teams.list_channels": Example(
            {"channel_id": s.teams}, query=[("ms_teams_tenant_object", SLACK_OWNER), ("team_id", "team-1")]
        ),
        "providers.ms_teams.revoke_access": Example(
            {"channel_id": s.teams}, query=[("ms_teams_tenant_object", SLACK_OWNER)]
        ),
    }


async def seed(server: KnockTestServer, api: Api) -> Seed:
    """A small environment in which every example request makes sense."""
    server.add_workflow(
        WORKFLOW,
        [
            ChannelStep("feed", "in_app_feed"),
            ChannelStep("email"),
            ChannelStep("push", "push"),
            ChannelStep("slack", "chat"),
        ],
    )
    teams = server.add_channel("teams", "chat")
    server.add_guide("onboarding", [{"ref": "step_1", "content": {"title": "Hi"}}])
    server.add_audience("beta")
    server.identify_user("u2", name="Bob")

    async def ok(method: str, path: str, body: Any = None) -> Any:
        result = await api.request(method, path, json=body)
        assert result.ok, (path, result)
        return result.body

    feed, push, slack = server.channel_id("feed"), server.channel_id("push"), server.channel_id("slack")
    await ok("PUT", "/v1/users/u1", {"name": "Ada", "email": "ada@example.com"})
    await ok("PUT", f"/v1/users/u1/channel_data/{push}", {"data": {"tokens": ["tok-1"]}})
    await ok("PUT", "/v1/objects/projects/p1", {"name": "Apollo"})
    await ok(
        "PUT",
        f"/v1/objects/projects/p1/channel_data/{slack}",
        {"data": {"connections": [{"channel_id": "C1"}]}},
    )
    await ok("PUT", "/v1/tenants/t1", {"name": "Acme"})
    slack_data = {
        "connections": [{"channel_id": "C1", "access_token": "xoxb-1"}],
        "token": {"access_token": "xoxb-1"},
    }
    await ok("PUT", f"/v1/objects/$tenants/t1/channel_data/{slack}", {"data": slack_data})
    teams_data = {
        "ms_teams_tenant_id": "entra-1",
        "connections": [{"ms_teams_team_id": "team-1", "ms_teams_channel_id": "c-1"}],
    }
    await ok("PUT", f"/v1/objects/$tenants/t1/channel_data/{teams}", {"data": teams_data})
    await ok("POST", "/v1/objects/projects/p1/subscriptions", {"recipients": ["u1"]})
    await ok("POST", "/v1/audiences/beta/members", {"members": [{"user": {"id": "u1"}}]})
    await ok(
        "POST", f"/v1/workflows/{WORKFLOW}/trigger", {"recipients": ["u1"], "actor": "u2", "data": {"n": 1}}
    )
    [schedule] = await ok(
        "POST", "/v1/schedules", {"workflow": WORKFLOW, "recipients": ["u1"], "repeats": DAILY}
    )
    bulk = await ok("POST", "/v1/users/bulk/identify", {"users": [{"id": "u4"}]})
    step = {
        "channel_id": server.channel_id("guides"),
        "guide_id": "7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d",
        "guide_key": "onboarding",
        "guide_step_ref": "step_1",
        "content": {"title": "Hi"},
    }
    await ok("PUT", "/v1/users/u1/guides/messages/seen", step)
    [guide_message] = server.state.guide_messages[("u1", "onboarding")].values()
    messages = server.state.messages.values()
    return Seed(
        feed_message=next(m.id for m in messages if m.channel.key == "feed"),
        email_message=next(m.id for m in messages if m.channel.key == "email"),
        schedule=schedule["id"],
        bulk_operation=bulk["id"],
        run=next(iter(server.state.runs)),
        feed=feed,
        push=push,
        slack=slack,
        teams=teams,
        guide_message=guide_message.id,
    )


@pytest.fixture
async def seeded(make_server: ServerFactory) -> AsyncIterator[tuple[Api, Seed]]:
    server = await make_server()
    async with Api(server) as api:
        yield api, await seed(server, api)


def test_every_operation_has_a_handler() -> None:
    assert OPERATIONS, "no Operation constants found"
    assert [op.id for op in OPERATIONS if op.id not in HANDLERS] == []


def test_every_operation_has_an_example_request() -> None:
    dummy = Seed(*(f"x{i}" for i in range(len(attrs.fields(Seed)))))
    assert sorted({op.id for op in OPERATIONS} - set(examples(dummy))) == []


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.id for op in OPERATIONS])
async def test_operation_answers_a_realistic_request(
    operation: Operation[Any], seeded: tuple[Api, Seed]
) -> None:
    api, ids = seeded
    example = examples(ids)[operation.id]
    assert request_problems(operation.id, example.body) == []
    path = operation.path.format(**{name: quote(value, safe="") for name, value in example.path.items()})
    result = await api.request(operation.method, path, json=example.body, params=example.query)
    assert result.ok, result
