"""Idempotency-Key as Knock documents it: only triggers honour it, for 24 hours; only 2xx
answers are kept; a replay says so in its headers; a key reused for another trigger is an error."""

from __future__ import annotations

import asyncio

from knock_async.testing import KnockTestServer, ManualClock
from tests.conftest import ServerFactory
from tests.server.support import Api, Result

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


async def test_a_replay_says_so_and_names_the_original_request(server: KnockTestServer, api: Api) -> None:
    server.add_workflow("welcome")
    first = await api.post(TRIGGER, json=BODY, headers={"Idempotency-Key": "order-1"})
    again = await api.post(TRIGGER, json=BODY, headers={"Idempotency-Key": "order-1"})
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["original-x-request-id"] == first.headers["x-request-id"]
    assert again.headers["x-request-id"] != first.headers["x-request-id"]  # a request of its own
    assert [c.request_id for c in server.calls("workflows.trigger")] == [
        first.headers["x-request-id"],
        again.headers["x-request-id"],
    ]


async def test_every_answer_has_a_request_id(server: KnockTestServer, api: Api) -> None:
    answers = [
        await api.get("/v1/users"),
        await api.get("/v1/users/nobody"),  # 404
        await api.get("/v1/users", key="sk_wrong"),  # 401
    ]
    ids = [answer.headers["x-request-id"] for answer in answers]
    assert [a.status for a in answers] == [200, 404, 401] and len(set(ids)) == 3


async def test_only_2xx_answers_are_kept(server: KnockTestServer, api: Api) -> None:
    missing = await api.post(TRIGGER, json=BODY, headers={"Idempotency-Key": "k"})
    assert missing.status == 404  # no such workflow yet: the key stays free
    server.add_workflow("welcome")
    retried = await api.post(TRIGGER, json=BODY, headers={"Idempotency-Key": "k"})
    assert retried.ok and "idempotent-replayed" not in retried.headers
    assert len(server.state.runs) == 1


async def test_keys_have_no_effect_outside_triggers(server: KnockTestServer, api: Api) -> None:
    """Knock: "sending it on any other endpoint has no effect": no replay, no misuse either."""
    headers = {"Idempotency-Key": "identify"}
    first = await api.put("/v1/users/alice", json={"name": "Alice"}, headers=headers)
    await api.put("/v1/users/alice", json={"name": "Ada"}, headers=headers)  # not replayed: it acts
    other = await api.put("/v1/users/bob", json={"name": "Bob"}, headers=headers)  # not refused
    assert first.ok and other.ok and "idempotent-replayed" not in other.headers
    assert server.state.users["alice"].properties["name"] == "Ada"
    assert set(server.state.users) == {"alice", "bob"}
    assert [c.replayed for c in server.calls("users.update")] == [False, False, False]
    assert server.take_idempotency_violations() == []


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


# ------------------------------------------------------------------ misuse: one key, another request


def reused(result: Result) -> bool:
    return result.status == 422 and result.body["code"] == "idempotency_key_reused"


async def test_concurrent_different_bodies_under_one_key(server: KnockTestServer, api: Api) -> None:
    """20 requests race with one key and 20 bodies: one acts, 19 are refused, none is lost silently."""
    server.add_workflow("welcome")
    server.inject_fault("delay", when="before", delay=0.2, operation="workflows.trigger")
    headers = {"Idempotency-Key": "shared"}
    results = await asyncio.gather(
        *(api.post(TRIGGER, json={"recipients": [f"u{i}"]}, headers=headers) for i in range(20))
    )
    assert sum(result.ok for result in results) == 1
    assert sum(reused(result) for result in results) == 19
    assert [run.recipient for run in server.state.runs.values()] == [(None, "u" + _acted(server))]
    assert len(server.take_idempotency_violations()) == 19


def _acted(server: KnockTestServer) -> str:
    """Which of the racing triggers acted: the one the log shows answered 200."""
    (winner,) = [call for call in server.calls("workflows.trigger") if call.status == 200]
    return str(winner.body["recipients"][0]).removeprefix("u")


async def test_trigger_another_recipient_with_a_used_key(server: KnockTestServer, api: Api) -> None:
    server.add_workflow("welcome")
    headers = {"Idempotency-Key": "order"}
    alice = await api.post(TRIGGER, json={"recipients": ["alice"], "data": {"secret": "s3"}}, headers=headers)
    bob = await api.post(TRIGGER, json={"recipients": ["bob"]}, headers=headers)
    assert alice.ok and reused(bob)
    assert f"POST {TRIGGER}" in bob.body["message"] and "s3" not in bob.body["message"]
    assert [run.recipient for run in server.state.runs.values()] == [(None, "alice")]
    (violation,) = server.take_idempotency_violations()
    assert (violation.operation_id, violation.key) == ("workflows.trigger", "order")


async def test_a_key_used_elsewhere_is_still_free_for_a_trigger(server: KnockTestServer, api: Api) -> None:
    server.add_workflow("welcome")
    headers = {"Idempotency-Key": "everything"}
    assert (await api.put("/v1/users/alice", json={"name": "Alice"}, headers=headers)).ok
    trigger = await api.post(TRIGGER, json=BODY, headers=headers)
    assert trigger.ok and len(server.state.runs) == 1
    notify = await api.post("/v1/notify", json={"name": "welcome", **BODY}, headers=headers)
    assert reused(notify)  # the twin route is another request for the same key
    assert len(server.take_idempotency_violations()) == 1


async def test_different_recipients_under_one_key_are_refused(server: KnockTestServer, api: Api) -> None:
    server.add_workflow("welcome")
    headers = {"Idempotency-Key": "order-1"}
    assert (await api.post(TRIGGER, json={"recipients": ["u1"]}, headers=headers)).ok
    assert reused(await api.post(TRIGGER, json={"recipients": ["u2"]}, headers=headers))
    assert reused(await api.post(TRIGGER, json={"recipients": ["u1"], "data": {"x": 1}}, headers=headers))
    assert {m.recipient for m in server.state.messages.values()} == {(None, "u1")}
    assert len(server.take_idempotency_violations()) == 2


async def test_query_and_user_token_are_part_of_the_request(server: KnockTestServer, api: Api) -> None:
    server.add_workflow("welcome")
    first = await api.post(TRIGGER, json=BODY, headers={"Idempotency-Key": "k"})
    other_query = await api.post(TRIGGER, json=BODY, params={"x": "1"}, headers={"Idempotency-Key": "k"})
    other_token = await api.post(
        TRIGGER, json=BODY, headers={"Idempotency-Key": "k", "X-Knock-User-Token": "another-user"}
    )
    assert first.ok and reused(other_query) and reused(other_token)
    assert len(server.take_idempotency_violations()) == 2


async def test_a_genuine_retry_matches_whatever_the_key_order(server: KnockTestServer, api: Api) -> None:
    server.add_workflow("welcome")
    headers = {"Idempotency-Key": "same-request", "Content-Type": "application/json"}
    first = await api.request(
        "POST", TRIGGER, data='{"recipients": ["u1"], "data": {"a": 1, "b": 2}}', headers=headers
    )
    again = await api.request(
        "POST", TRIGGER, data='{"data": {"b": 2, "a": 1}, "recipients": ["u1"]}', headers=headers
    )
    assert first.ok and (again.status, again.body) == (first.status, first.body)
    assert len(server.state.runs) == 1 and server.take_idempotency_violations() == []


async def test_the_store_keeps_the_newest_keys(make_server: ServerFactory) -> None:
    server = await make_server(max_idempotency_keys=3)
    server.add_workflow("welcome")
    async with Api(server) as api:
        for key in ("k1", "k2", "k3", "k4"):
            await api.post(TRIGGER, json=BODY, headers={"Idempotency-Key": key})
        assert server.idempotency_keys == 3
        await api.post(TRIGGER, json=BODY, headers={"Idempotency-Key": "k4"})  # kept: replayed
        assert len(server.state.runs) == 4
        await api.post(TRIGGER, json=BODY, headers={"Idempotency-Key": "k1"})  # dropped: acts again
        assert len(server.state.runs) == 5


async def test_expired_keys_leave_the_store(server: KnockTestServer, api: Api, clock: ManualClock) -> None:
    server.add_workflow("welcome")
    for key in ("a", "b"):
        await api.post(TRIGGER, json=BODY, headers={"Idempotency-Key": key})
    clock.advance(24 * 3600)
    await api.post(TRIGGER, json=BODY, headers={"Idempotency-Key": "c"})
    assert server.idempotency_keys == 1
