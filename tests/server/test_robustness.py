"""Hostile input: oversized and over-deep bodies, and a request log that stays bounded."""

from __future__ import annotations

import tracemalloc

from knock_async.testing import KnockTestServer
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
    assert len(server.calls("users.identify")) == 5 and server.dropped_calls == 3
    server.reset()
    assert (server.requests, server.dropped_calls) == ([], 0)


async def test_memory_stays_bounded_under_many_requests(make_server: ServerFactory) -> None:
    """Per-request state (log, idempotency keys) stops growing once it reaches its bounds."""
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
    assert len(server.requests) == 100 and len(server._idempotency) == 100
