"""Idempotency-Key: the first response is replayed for 24 hours and the request acts once."""

from __future__ import annotations

import asyncio

from knock_async.testing import KnockTestServer, ManualClock
from tests.server.support import Api

TRIGGER = "/v1/workflows/welcome/trigger"
BODY = {"recipients": ["u1"], "data": {"order": 1}}


async def test_sequential_replay(server: KnockTestServer, api: Api) -> None:
    server.add_workflow("welcome")
    first = await api.post(TRIGGER, json=BODY, headers={"Idempotency-Key": "order-1"})
    again = await api.post(TRIGGER, json=BODY, headers={"Idempotency-Key": "order-1"})
    assert first.ok and (again.status, again.body) == (first.status, first.body)
    assert len(server.state.runs) == 1
    calls = server.calls("workflows.trigger")
    assert [(c.replayed, c.body) for c in calls] == [(False, BODY), (True, BODY)]
    other = await api.post(TRIGGER, json=BODY, headers={"Idempotency-Key": "order-2"})
    assert other.body != first.body and len(server.state.runs) == 2


async def test_errors_are_replayed_too(api: Api) -> None:
    first = await api.post(
        "/v1/users/nobody/merge", json={"from_user_id": "x"}, headers={"Idempotency-Key": "k"}
    )
    again = await api.post(
        "/v1/users/nobody/merge", json={"from_user_id": "x"}, headers={"Idempotency-Key": "k"}
    )
    assert first.status == again.status == 404 and first.body == again.body


async def test_keys_are_scoped_per_api_key(server: KnockTestServer, api: Api) -> None:
    server.add_workflow("welcome")
    server.add_api_key("sk_test_other")
    await api.post(TRIGGER, json=BODY, headers={"Idempotency-Key": "same"})
    await api.post(TRIGGER, json=BODY, headers={"Idempotency-Key": "same"}, key="sk_test_other")
    assert len(server.state.runs) == 2


async def test_keys_expire_after_24_hours(server: KnockTestServer, api: Api, clock: ManualClock) -> None:
    server.add_workflow("welcome")
    await api.post(TRIGGER, json=BODY, headers={"Idempotency-Key": "daily"})
    clock.advance(23 * 3600)
    await api.post(TRIGGER, json=BODY, headers={"Idempotency-Key": "daily"})
    assert len(server.state.runs) == 1
    clock.advance(3600)
    await api.post(TRIGGER, json=BODY, headers={"Idempotency-Key": "daily"})
    assert len(server.state.runs) == 2


async def test_concurrent_duplicates_act_once(server: KnockTestServer, api: Api) -> None:
    server.add_workflow("welcome")
    # Hold the first request for a while before it acts, so the duplicate arrives mid-flight.
    server.inject_fault("delay", when="before", delay=0.2, operation="workflows.trigger")
    headers = {"Idempotency-Key": "racing"}
    first, second = await asyncio.gather(
        api.post(TRIGGER, json=BODY, headers=headers), api.post(TRIGGER, json=BODY, headers=headers)
    )
    assert first.ok and (second.status, second.body) == (first.status, first.body)
    assert len(server.state.runs) == 1


async def test_retry_after_a_failure_that_already_acted(server: KnockTestServer, api: Api) -> None:
    """The reason for idempotency keys: the first attempt acted, but its answer was lost."""
    server.add_workflow("welcome")
    server.inject_fault("error", when="after", operation="workflows.trigger")
    failed = await api.post(TRIGGER, json=BODY, headers={"Idempotency-Key": "retry-me"})
    assert failed.status == 500 and len(server.state.runs) == 1
    retried = await api.post(TRIGGER, json=BODY, headers={"Idempotency-Key": "retry-me"})
    assert retried.ok and len(server.state.runs) == 1
    assert retried.body["workflow_run_id"] == next(iter(server.state.runs.values())).workflow_run_id


async def test_a_failure_before_acting_leaves_the_key_free(server: KnockTestServer, api: Api) -> None:
    server.add_workflow("welcome")
    server.inject_fault("error", when="before", operation="workflows.trigger")
    assert (await api.post(TRIGGER, json=BODY, headers={"Idempotency-Key": "k"})).status == 500
    assert server.state.runs == {}
    assert (await api.post(TRIGGER, json=BODY, headers={"Idempotency-Key": "k"})).ok
    assert len(server.state.runs) == 1
