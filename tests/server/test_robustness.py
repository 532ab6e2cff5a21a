"""Hostile input: oversized and over-deep bodies, and a request log that stays bounded."""

from __future__ import annotations

import tracemalloc

from knock_async.testing import BulkPace, KnockTestServer
from knock_async.testing._server import MAX_BODY_BYTES, MAX_JSON_DEPTH
from tests.conftest import ServerFactory
from tests.server.support import Api

JSON = {"Content-Type": "application/json"}


async def test_an_oversized_body_is_413(server: KnockTestServer, api: Api) -> None:
    server.add_workflow("welcome")
    body = b'{"recipients": ["u1"], "data": {"blob": "' + b"x" * (50 * 1024 * 1024) + b'"}}'
    result = await api.post("/v1/workflows/welcome/trigger", data=body, headers=JSON)
    assert (result.status, result.body["code"]) == (413, "request_entity_too_large")
    assert str(MAX_BODY_BYTES) in result.body["message"]
    assert server.state.runs == {}


async def test_an_over_deep_body_is_400(server: KnockTestServer, api: Api) -> None:
    server.add_workflow("welcome")
    for depth in (MAX_JSON_DEPTH + 1, 100_000):
        deep = '{"recipients": ["u1"], "data": {"x": ' + "[" * depth + "]" * depth + "}}"
        result = await api.post("/v1/workflows/welcome/trigger", data=deep, headers=JSON)
        assert (result.status, result.body["code"]) == (400, "invalid_json"), depth
    assert server.state.runs == {}
    # A body exactly at the limit (the data object and the wrapper count as two levels) acts.
    fits = MAX_JSON_DEPTH - 2
    deep = '{"recipients": ["u1"], "data": {"x": ' + "[" * fits + "]" * fits + "}}"
    assert (await api.post("/v1/workflows/welcome/trigger", data=deep, headers=JSON)).ok


async def test_undecodable_bodies_are_400(api: Api) -> None:
    for raw in (b"{not json", b"\xff\xfe\x00", b'{"name": "unterminated'):
        result = await api.put("/v1/users/u1", data=raw, headers=JSON)
        assert (result.status, result.body["code"]) == (400, "invalid_json"), raw


async def test_the_request_log_keeps_the_newest_calls(make_server: ServerFactory) -> None:
    server = await make_server(max_recorded_calls=5)
    async with Api(server) as api:
        for index in range(8):
            await api.put(f"/v1/users/u{index}", json={"name": "x"})
    assert [call.path for call in server.requests] == [f"/v1/users/u{i}" for i in range(3, 8)]
    assert len(server.calls("users.update")) == 5 and server.dropped_calls == 3
    server.reset()
    assert (server.requests, server.dropped_calls) == ([], 0)


async def test_memory_stays_bounded_under_many_requests(make_server: ServerFactory) -> None:
    """Per-request state stops growing once it reaches its bounds: the log keeps 100 requests,
    and keys sent where Knock ignores them (an identify) are not stored at all."""
    server = await make_server(max_recorded_calls=100, max_idempotency_keys=100)
    body = {"name": "x" * 2000}
    async with Api(server) as api:

        async def burst(start: int) -> None:
            for index in range(start, start + 200):
                await api.put("/v1/users/u1", json=body, headers={"Idempotency-Key": f"k{index}"})

        await burst(0)  # fills the log and the store
        tracemalloc.start()
        try:
            await burst(200)
            first, _ = tracemalloc.get_traced_memory()
            await burst(400)
            second, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # 200 more requests with 2 kB bodies would add > 400 kB if anything kept them all.
    assert second - first < 150_000, (first, second)
    assert len(server.requests) == 100 and server.idempotency_keys == 0


async def test_badly_typed_ids_are_422_not_500(server: KnockTestServer, api: Api) -> None:
    """Findings of the fuzzer: lists and objects where ids belong crashed handlers (500)."""
    channel = server.add_channel("feed", "in_app_feed")
    cases = [
        ("/v1/messages/batch/seen", {"message_ids": [[1]]}, "message_ids"),
        ("/v1/messages/batch/unread", {"message_ids": [{"id": "m1"}]}, "message_ids"),
        (f"/v1/channels/{channel}/messages/bulk/seen", {"recipient_ids": [[1]]}, "recipient_ids"),
        (f"/v1/channels/{channel}/messages/bulk/seen", {"trigger_data": {"a": 1}}, "trigger_data"),
        (f"/v1/channels/{channel}/messages/bulk/seen", {"older_than": 5}, "older_than"),
        (f"/v1/channels/{channel}/messages/bulk/seen", {"engagement_status": ["seen"]}, "engagement_status"),
        ("/v1/users/bulk/delete", {"user_ids": [["u1"]]}, "user_ids"),
    ]
    for path, body, field in cases:
        result = await api.post(path, json=body)
        assert (result.status, result.body["errors"][0]["field"]) == (422, field), (path, body)
    for method in ("PUT", "DELETE"):
        result = await api.request(method, "/v1/schedules", json={"schedule_ids": [[1]]})
        assert (result.status, result.body["errors"][0]["field"]) == (422, "schedule_ids")


async def test_stored_values_are_type_checked(server: KnockTestServer, api: Api) -> None:
    """Values the server would store and answer with later must fit the document's types."""
    server.add_workflow("welcome")
    cases = [
        ("PUT", "/v1/users/u1", {"name": 5}, "name"),
        ("PUT", "/v1/users/u1", {"created_at": "yesterday"}, "created_at"),
        ("PUT", "/v1/users/u1/preferences/default", {"commercial_subscribed": 12}, "commercial_subscribed"),
        (
            "PUT",
            "/v1/users/u1/preferences/default",
            {"workflows": {"w": {"conditions": [{}]}}},
            "workflows.w.conditions[0].variable",
        ),
        (
            "PUT",
            "/v1/users/u1/preferences/default",
            {"channel_types": {"email": "yes"}},
            "channel_types.email",
        ),
        ("PUT", "/v1/tenants/t1", {"settings": {"branding": {"logo_url": 1}}}, "settings.branding.logo_url"),
        ("PUT", "/v1/tenants/t1", {"name": ["acme"]}, "name"),
        (
            "POST",
            "/v1/workflows/welcome/trigger",
            {"recipients": ["u2", {"id": "u3", "email": 7}]},
            "recipients[1].email",
        ),
        (
            "POST",
            "/v1/schedules",
            {"workflow": "welcome", "recipients": ["u1"], "repeats": [{"frequency": "yearly"}]},
            "repeats[0].frequency",
        ),
        (
            "POST",
            "/v1/schedules",
            {"workflow": "welcome", "recipients": ["u1"], "repeats": [], "data": [1]},
            "data",
        ),
    ]
    feed = server.channel_id("in_app_feed")
    cases += [
        ("PUT", f"/v1/users/u1/channel_data/{feed}", {"data": {"tokens": [1]}}, "data.tokens[0]"),
        ("PUT", f"/v1/users/u1/channel_data/{feed}", {"data": {"colour": "red"}}, "data"),
        (
            "PUT",
            f"/v1/users/u1/channel_data/{feed}",
            {"data": {"connections": [{"incoming_webhook": {}}]}},
            "data.connections[0].incoming_webhook.url",
        ),
    ]
    for method, path, body, field in cases:
        result = await api.request(method, path, json=body)
        assert (result.status, result.body["errors"][0]["field"]) == (422, field), (path, body)
    # Refused before acting: nothing was stored, not even the valid first recipient of the trigger.
    assert (server.state.users, server.state.tenants, server.state.runs) == ({}, {}, {})


async def test_a_badly_typed_bulk_row_fails_alone(make_server: ServerFactory) -> None:
    server = await make_server(bulk=BulkPace(mode="instant"))
    async with Api(server) as api:
        users = [{"id": "u1", "name": "Ada"}, {"id": "u2", "name": {"first": "Bob"}}]
        job = (await api.post("/v1/users/bulk/identify", json={"users": users})).body
    assert (job["success_count"], job["error_count"]) == (1, 1)
    assert job["error_items"] == [{"id": "rows[1]", "collection": None}]
    assert set(server.state.users) == {"u1"}


async def test_stored_shapes_answer_as_documented(server: KnockTestServer, api: Api) -> None:
    """The contract check (on every response of these tests) catches what the fuzzer found here."""
    push = server.add_channel("push", "push")
    tenant = await api.put(
        "/v1/tenants/t1", json={"settings": {"preference_set": {"workflows": {"w": True}}}}
    )
    assert tenant.body["settings"]["preference_set"] == {
        "__typename": "PreferenceSet",
        "id": "default",
        "workflows": {"w": True},
    }
    devices = await api.put(f"/v1/users/u1/channel_data/{push}", json={"data": {"devices": []}})
    assert devices.body["data"] == {"devices": [], "tokens": []}


async def test_a_long_query_reaches_the_api(api: Api) -> None:
    """A query longer than aiohttp's 8 KiB default line still gets Knock's JSON answer."""
    ids = [("tenant_ids[]", f"tenant-{index:05d}") for index in range(1000)]  # about 22 kB of query
    result = await api.post("/v1/tenants/bulk/delete", params=ids)
    assert result.ok and result.body["estimated_total_rows"] == 1000
