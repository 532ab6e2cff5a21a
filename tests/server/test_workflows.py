"""Workflow runs end to end: trigger -> messages -> feed counts -> status changes; cancellation."""

from __future__ import annotations

import asyncio
from typing import Any

from knock_async.testing import ChannelStep, KnockTestServer, ManualClock, SystemClock
from tests.conftest import ServerFactory
from tests.server.support import Api


async def feed(api: Api, user_id: str = "u1", **params: str) -> dict[str, Any]:
    result = await api.get(f"/v1/users/{user_id}/feeds/{api.server.channel_id('in_app_feed')}", params=params)
    assert result.ok, result
    return result.body  # type: ignore[no-any-return]


def counts(page: dict[str, Any]) -> tuple[int, int, int]:
    meta = page["meta"]
    return meta["total_count"], meta["unread_count"], meta["unseen_count"]


async def test_trigger_feed_counts_and_statuses(server: KnockTestServer, api: Api) -> None:
    server.add_workflow("comment", ["in_app_feed", "email"])
    for n in range(3):
        result = await api.post(
            "/v1/workflows/comment/trigger", json={"recipients": ["u1"], "data": {"n": n}}
        )
        assert result.ok
    page = await feed(api)
    assert counts(page) == (3, 3, 3)
    newest = page["entries"][0]
    assert newest["data"] == {"n": 2} and newest["source"]["key"] == "comment"

    seen = await api.put(f"/v1/messages/{newest['id']}/seen")
    assert "seen" in seen.body["engagement_statuses"] and seen.body["seen_at"]
    assert counts(await feed(api)) == (3, 3, 2)

    ids = [item["id"] for item in page["entries"]]
    batch = await api.post("/v1/messages/batch/read", json={"message_ids": ids})
    assert len(batch.body) == 3
    assert counts(await feed(api)) == (3, 0, 2)
    assert counts(await feed(api, status="unseen")) == (2, 0, 2)

    await api.put(f"/v1/messages/{ids[1]}/archived")
    assert counts(await feed(api)) == (2, 0, 1)  # archived items leave the feed and its counts
    assert len((await feed(api, archived="only"))["entries"]) == 1

    await api.delete(f"/v1/messages/{newest['id']}/seen")
    assert counts(await feed(api)) == (2, 0, 2)
    events = (await api.get(f"/v1/messages/{newest['id']}/events")).body["items"]
    assert [e["type"] for e in events][:2] == ["message.unseen", "message.read"]

    emails = (await api.get("/v1/users/u1/messages", params={"channel_id": server.channel_id("email")})).body
    assert len(emails["items"]) == 3


async def test_channel_bulk_status_changes_the_feed(server: KnockTestServer, api: Api) -> None:
    server.add_workflow("comment")
    await api.post("/v1/workflows/comment/trigger", json={"recipients": ["u1", "u2"]})
    channel = server.channel_id("in_app_feed")
    job = (await api.post(f"/v1/channels/{channel}/messages/bulk/seen", json={"recipient_ids": ["u1"]})).body
    assert job["estimated_total_rows"] == 1
    for _ in range(2):
        await api.get(f"/v1/bulk_operations/{job['id']}")
    assert counts(await feed(api, "u1")) == (1, 1, 0)
    assert counts(await feed(api, "u2")) == (1, 1, 1)


async def test_message_details(server: KnockTestServer, api: Api) -> None:
    server.add_workflow(
        "comment", [ChannelStep("email", template="Hi {{ recipient.name }}: {{ data.text }}")]
    )
    await api.put("/v1/users/u1", json={"name": "Ada", "email": "ada@example.com"})
    await api.post("/v1/workflows/comment/trigger", json={"recipients": ["u1"], "data": {"text": "hello"}})
    [message] = (await api.get("/v1/messages")).body["items"]
    content = (await api.get(f"/v1/messages/{message['id']}/content")).body["data"]
    assert content["to"] == "ada@example.com" and content["text_body"] == "Hi Ada: hello"
    logs = (await api.get(f"/v1/messages/{message['id']}/delivery_logs")).body["items"]
    assert len(logs) == 1
    activities = (await api.get(f"/v1/messages/{message['id']}/activities")).body["items"]
    assert activities[0]["recipient"]["name"] == "Ada"
    runs = (await api.get("/v1/workflow_recipient_runs", params={"workflow": "comment"})).body["items"]
    assert [run["status"] for run in runs] == ["completed"]
    detail = (await api.get(f"/v1/workflow_recipient_runs/{runs[0]['id']}")).body
    assert [event["event"] for event in detail["events"]] == ["trigger", "message_delivered"]


async def test_inline_identification(server: KnockTestServer, api: Api) -> None:
    server.add_workflow("comment")
    body = {
        "recipients": [
            {"id": "new-user", "name": "New", "email": "new@example.com"},
            {"id": "p1", "collection": "projects"},
        ],
        "actor": {"id": "actor-1", "name": "Actor"},
        "tenant": {"id": "acme", "name": "Acme"},
    }
    assert (await api.post("/v1/workflows/comment/trigger", json=body)).ok
    assert (await api.get("/v1/users/new-user")).body["email"] == "new@example.com"
    assert (await api.get("/v1/users/actor-1")).body["name"] == "Actor"
    assert (await api.get("/v1/tenants/acme")).body["name"] == "Acme"
    assert (await api.get("/v1/objects/projects/p1")).ok
    item = (await feed(api, "new-user"))["entries"][0]
    assert item["actors"][0]["id"] == "actor-1" and item["tenant"] == "acme"


async def test_preferences_turn_steps_off(server: KnockTestServer, api: Api) -> None:
    server.add_workflow("comment", ["in_app_feed", "email"], categories=["social"])
    await api.put("/v1/users/u1/preferences/default", json={"channel_types": {"email": False}})
    await api.put("/v1/users/u2/preferences/default", json={"categories": {"social": False}})
    await api.post("/v1/workflows/comment/trigger", json={"recipients": ["u1", "u2", "u3"]})
    delivered = sorted((m.recipient[1], m.channel.type) for m in server.state.messages.values())
    assert delivered == [("u1", "in_app_feed"), ("u3", "email"), ("u3", "in_app_feed")]


async def test_objects_fan_out_to_subscribers(server: KnockTestServer, api: Api) -> None:
    server.add_workflow("comment")
    await api.put("/v1/objects/projects/p1", json={"name": "Apollo"})
    await api.post("/v1/objects/projects/p1/subscriptions", json={"recipients": ["u1", "u2"]})
    await api.post(
        "/v1/workflows/comment/trigger", json={"recipients": [{"id": "p1", "collection": "projects"}]}
    )
    assert counts(await feed(api, "u1")) == (1, 1, 1)
    assert counts(await feed(api, "u2")) == (1, 1, 1)
    assert len((await api.get("/v1/objects/projects/p1/messages")).body["items"]) == 1


async def test_delayed_run_delivers_when_the_clock_gets_there(
    server: KnockTestServer, api: Api, clock: ManualClock
) -> None:
    server.add_workflow("reminder", delay=3600)
    await api.post("/v1/workflows/reminder/trigger", json={"recipients": ["u1"]})
    assert counts(await feed(api)) == (0, 0, 0)
    clock.advance(3599)
    assert counts(await feed(api)) == (0, 0, 0)
    clock.advance(1)
    assert counts(await feed(api)) == (1, 1, 1)


async def test_cancellation_stops_a_delayed_run(
    server: KnockTestServer, api: Api, clock: ManualClock
) -> None:
    server.add_workflow("reminder", delay=60)
    trigger = "/v1/workflows/reminder/trigger"
    await api.post(trigger, json={"recipients": ["u1", "u2"], "cancellation_key": "order-1"})
    await api.post(trigger, json={"recipients": ["u1"], "cancellation_key": "order-2"})
    cancel = {"cancellation_key": "order-1", "recipients": ["u1"]}
    assert (await api.post("/v1/workflows/reminder/cancel", json=cancel)).status == 204
    clock.advance(61)
    assert counts(await feed(api, "u1")) == (1, 1, 1)  # order-2 only
    assert counts(await feed(api, "u2")) == (1, 1, 1)  # not named in the cancel
    runs = (await api.get("/v1/workflow_recipient_runs", params=[("status[]", "cancelled")])).body["items"]
    assert [(run["recipient"], run["trigger_source"]["cancellation_key"]) for run in runs] == [
        ("u1", "order-1")
    ]


async def test_real_timers_deliver_too(make_server: ServerFactory) -> None:
    server = await make_server(clock=SystemClock())
    server.add_workflow("soon", delay=0.05)
    async with Api(server) as api:
        await api.post("/v1/workflows/soon/trigger", json={"recipients": ["u1"]})
        assert server.state.messages == {}
        await asyncio.sleep(0.1)
        assert counts(await feed(api)) == (1, 1, 1)
