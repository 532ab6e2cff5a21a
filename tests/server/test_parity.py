"""Behaviour the embedded server shares with Knock beyond the document's own routes and shapes.

Routes Knock serves twice answer like their twins; trigger settings, absolute progress paths,
tenant timestamps, per-user guide engagement and JSON-RPC validation behave as on Knock.
"""

from __future__ import annotations

from typing import Any

import pytest

from knock_async.testing import KnockTestServer, ManualClock
from tests.conftest import ServerFactory
from tests.server.support import Api


async def _feed_message(server: KnockTestServer, api: Api) -> dict[str, Any]:
    server.add_workflow("comment")
    assert (await api.post("/v1/workflows/comment/trigger", json={"recipients": ["u1"]})).ok
    page = await api.get(f"/v1/users/u1/feeds/{server.channel_id('in_app_feed')}")
    return page.body["entries"][0]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("mark", "twin", "field"),
    [("read", "unread", "read_at"), ("seen", "unseen", "seen_at"), ("archived", "unarchived", "archived_at")],
)
async def test_delete_twins_undo_like_their_twins(
    server: KnockTestServer, api: Api, mark: str, twin: str, field: str
) -> None:
    message = await _feed_message(server, api)
    assert (await api.put(f"/v1/messages/{message['id']}/{mark}")).body[field]
    undone = await api.delete(f"/v1/messages/{message['id']}/{twin}")
    assert undone.ok and undone.body[field] is None
    [request] = server.requests[-1:]
    assert (request.method, request.path) == ("DELETE", f"/v1/messages/{message['id']}/{twin}")


async def test_notify_triggers_and_cancels_like_the_workflow_routes(make_server: ServerFactory) -> None:
    clock = ManualClock()
    server = await make_server(clock=clock)
    server.add_workflow("reminder", delay=60)
    async with Api(server) as api:
        sent = await api.post(
            "/v1/notify", json={"name": "reminder", "recipients": ["u1"], "cancellation_key": "k1"}
        )
        assert sent.ok and sent.body["workflow_run_id"]
        [run] = server.state.runs.values()
        assert (run.workflow, run.status) == ("reminder", "processing")
        # The legacy body spells the key with one "l".
        cancelled = await api.post("/v1/notify/cancel", json={"name": "reminder", "cancelation_key": "k1"})
        assert cancelled.status == 204 and run.status == "cancelled"
        missing = await api.post("/v1/notify", json={"recipients": ["u1"]})
        assert missing.status == 422 and "name" in str(missing.body)
    assert server.calls("workflows.trigger")[0].path == "/v1/notify"


async def test_skip_delay_delivers_at_once(make_server: ServerFactory) -> None:
    server = await make_server(clock=ManualClock())
    server.add_workflow("reminder", delay=3600)
    async with Api(server) as api:
        body = {"recipients": ["u1"], "settings": {"skip_delay": True}}
        assert (await api.post("/v1/workflows/reminder/trigger", json=body)).ok
        assert (await api.post("/v1/workflows/reminder/trigger", json={"recipients": ["u2"]})).ok
        bad = await api.post(
            "/v1/workflows/reminder/trigger", json={"recipients": ["u3"], "settings": "fast"}
        )
        assert bad.status == 422
    statuses = {run.recipient[1]: run.status for run in server.state.runs.values()}
    assert statuses == {"u1": "completed", "u2": "processing"}


async def test_an_email_keeps_where_it_was_sent(server: KnockTestServer, api: Api) -> None:
    server.add_workflow("digest", ["email", "in_app_feed"])
    await api.put("/v1/users/u1", json={"name": "Ada", "email": "ada@old.example"})
    assert (await api.post("/v1/workflows/digest/trigger", json={"recipients": ["u1"]})).ok
    await api.put("/v1/users/u1", json={"email": "ada@new.example"})
    sent = {m["channel"]["type"]: m for m in (await api.get("/v1/users/u1/messages")).body["items"]}
    assert sent["email"]["recipient_snapshot"] == {"email": "ada@old.example", "name": "Ada"}
    assert sent["in_app_feed"]["recipient_snapshot"] is None


async def test_progress_path_is_an_absolute_url_on_this_server(server: KnockTestServer, api: Api) -> None:
    operation = (await api.post("/v1/users/bulk/identify", json={"users": [{"id": "u1"}]})).body
    assert operation["progress_path"] == f"{server.url}/v1/bulk_operations/{operation['id']}"
    polled = await api.get(operation["progress_path"].removeprefix(server.url))
    assert polled.ok and polled.body["id"] == operation["id"]


async def test_tenants_carry_their_timestamps(make_server: ServerFactory) -> None:
    clock = ManualClock()
    server = await make_server(clock=clock)
    async with Api(server) as api:
        created = (
            await api.put("/v1/tenants/t1", json={"name": "Acme", "created_at": "2000-01-01T00:00:00Z"})
        ).body
        clock.advance(60)
        updated = (await api.put("/v1/tenants/t1", json={"name": "Acme Corp"})).body
    assert created["created_at"] == created["updated_at"] != "2000-01-01T00:00:00Z"  # Knock keeps its own
    assert updated["created_at"] == created["created_at"] and updated["updated_at"] > created["updated_at"]


async def test_guide_engagement_is_per_user(server: KnockTestServer, api: Api) -> None:
    guide = server.add_guide("tour", ["intro"], channel="in-app-guides")
    step = {
        "channel_id": guide.channel_id,
        "guide_id": guide.id,
        "guide_key": "tour",
        "guide_step_ref": "intro",
    }
    assert (await api.put("/v1/users/ada/guides/messages/archived", json=step)).ok
    ada = (await api.get(f"/v1/users/ada/guides/{guide.channel_id}")).body
    grace = (await api.get(f"/v1/users/grace/guides/{guide.channel_id}")).body
    assert ada["entries"] == [] and [g["reason"] for g in ada["ineligible_guides"]] == ["marked_as_archived"]
    assert [entry["key"] for entry in grace["entries"]] == ["tour"]
    elsewhere = (await api.get(f"/v1/users/grace/guides/{server.channel_id('other')}")).body
    assert elsewhere["entries"] == [] and elsewhere["guide_groups"] == []

    message_id = server.state.guide_messages[("ada", "tour")]["intro"].id
    grace_by_ada_id = await api.put(
        f"/v1/users/grace/guides/messages/{message_id}/seen", json={**step, "content": {}}
    )
    assert grace_by_ada_id.status == 404  # a message id names one user's step only
    unknown_step = await api.put(
        "/v1/users/ada/guides/messages/seen", json={**step, "guide_step_ref": "outro", "content": {}}
    )
    assert unknown_step.status == 422


def test_a_guide_needs_a_step(server: KnockTestServer) -> None:
    with pytest.raises(ValueError, match="at least one step"):
        server.add_guide("empty", [])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"id": "1", "jsonrpc": "1.0", "method": "test_connection"}, "jsonrpc"),
        ({"id": "1", "jsonrpc": "2.0", "method": "drop_everything"}, "method"),
        ({"id": "1", "jsonrpc": "2.0", "method": "sync_batch", "params": {}}, "params.records"),
        ({"jsonrpc": "2.0", "method": "test_connection"}, "id"),
    ],
)
async def test_rpc_requests_are_validated(api: Api, body: dict[str, Any], field: str) -> None:
    result = await api.post("/v1/integrations/census/custom-destination", json=body)
    assert result.status == 422 and field in str(result.body)


async def test_client_side_keys_may_update_a_users_preference_parts(
    server: KnockTestServer, api: Api
) -> None:
    # Knock's client-side SDKs make these calls with a publishable key; objects stay server-side.
    key = server.publishable_key
    user = await api.put(
        "/v1/users/u1/preferences/default/channel_types/email", json={"subscribed": False}, key=key
    )
    assert user.ok and user.body["channel_types"] == {"email": False}
    project = await api.put("/v1/objects/projects/p1/preferences/default/channel_types", json={}, key=key)
    assert project.status == 403
