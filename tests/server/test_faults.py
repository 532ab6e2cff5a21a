"""Fault injection: 500s, dropped connections and delays, before or after the action."""

from __future__ import annotations

import time

import aiohttp
import pytest

from knock_async.testing import Faults, KnockTestServer
from tests.conftest import ServerFactory
from tests.server.support import Api


async def test_error_before_acting_changes_nothing(server: KnockTestServer, api: Api) -> None:
    server.inject_fault("error", when="before")
    result = await api.put("/v1/users/u1", json={"name": "Ada"})
    assert result.status == 500 and result.body["type"] == "api_error"
    assert "u1" not in server.state.users
    assert (await api.put("/v1/users/u1", json={"name": "Ada"})).ok  # one fault only


async def test_error_after_acting_keeps_the_change(server: KnockTestServer, api: Api) -> None:
    server.inject_fault("error", when="after", status=503)
    assert (await api.put("/v1/users/u1", json={"name": "Ada"})).status == 503
    assert server.state.users["u1"].properties == {"name": "Ada"}


@pytest.mark.parametrize(("when", "acted"), [("before", False), ("after", True)])
async def test_dropped_connection(server: KnockTestServer, when: str, acted: bool) -> None:
    server.add_workflow("welcome")
    server.inject_fault("drop", when=when)  # type: ignore[arg-type]
    # A POST: aiohttp's client itself retries idempotent methods (PUT, GET...) once on a drop.
    async with aiohttp.ClientSession(
        server.url, headers={"Authorization": f"Bearer {server.api_key}"}
    ) as session:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await session.post("/v1/workflows/welcome/trigger", json={"recipients": ["u1"]})
        assert (len(server.state.runs) == 1) is acted
        assert server.requests[-1].status is None
        async with session.get("/v1/users") as response:
            assert response.status == 200  # the server itself is fine


async def test_delay(server: KnockTestServer, api: Api) -> None:
    server.inject_fault("delay", delay=0.1)
    started = time.monotonic()
    assert (await api.get("/v1/users")).ok
    assert time.monotonic() - started >= 0.1


async def test_faults_can_target_one_operation_and_repeat(server: KnockTestServer, api: Api) -> None:
    server.inject_fault("error", operation="users.get", count=2)
    await api.put("/v1/users/u1", json={})
    assert (await api.get("/v1/users")).ok
    assert [(await api.get("/v1/users/u1")).status for _ in range(3)] == [500, 500, 200]


async def test_random_faults_are_seeded(make_server: ServerFactory) -> None:
    async def statuses(seed: int) -> list[int]:
        server = await make_server(faults=Faults(rate=0.5, kinds=("error",), when="either", seed=seed))
        async with Api(server) as api:
            return [(await api.get("/v1/users")).status for _ in range(30)]

    first = await statuses(7)
    assert first == await statuses(7)
    assert 0 < first.count(500) < 30
    assert first != await statuses(8)


async def test_random_faults_can_be_limited_to_operations(make_server: ServerFactory) -> None:
    server = await make_server(faults=Faults(rate=1.0, operations=frozenset({"users.update"})))
    async with Api(server) as api:
        assert (await api.get("/v1/users")).ok
        assert (await api.put("/v1/users/u1", json={})).status == 500
        server.configure_faults(Faults.none())
        assert (await api.put("/v1/users/u1", json={})).ok


async def test_a_fault_is_drawn_once_and_only_by_requests_that_act_or_replay(
    server: KnockTestServer, api: Api
) -> None:
    server.add_workflow("welcome")
    trigger = "/v1/workflows/welcome/trigger"
    assert (await api.post(trigger, json={"recipients": ["u1"]}, headers={"Idempotency-Key": "k"})).ok
    server.inject_fault("error", operation="workflows.trigger", count=2)
    misuse = await api.post(trigger, json={"recipients": ["u2"]}, headers={"Idempotency-Key": "k"})
    assert (misuse.status, misuse.body["code"]) == (422, "idempotency_key_reused")  # no fault drawn
    server.take_idempotency_violations()
    replay = await api.post(trigger, json={"recipients": ["u1"]}, headers={"Idempotency-Key": "k"})
    assert replay.status == 500  # a replay can fail again (acting on nothing): the first fault
    acting = await api.post(trigger, json={"recipients": ["u3"]})
    assert acting.status == 500  # the second fault, after acting
    assert (await api.post(trigger, json={"recipients": ["u4"]})).ok  # none left
    assert len(server.state.runs) == 3
