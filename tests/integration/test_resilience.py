"""Resilience: 2 000 triggers through a server that fails 10 % of them, each delivered once.

Faults are 500s and dropped connections, half of them before the server acts (a plain retry
is safe) and half after it acted (the run exists, but the client never heard): only the SDK's
Idempotency-Key, the same on every retry of a call, keeps those retries from running twice.

Choices:
- The server's rate limits are off. This test is about faults, and its outcome must come
  from them alone: client and server share one event loop here, so under 2 000 concurrent
  calls the moment a request reaches the server drifts from the moment the client paced it,
  and a rolling-window server would see bursts the client never sent. Pacing against the
  server's tiers is test_tier2_concurrency.py's job.
- The SDK's default rate limiter stays on (it paces Tier 5 at 1 000 per 1.05 s): its in-flight
  slots must come back after every dropped connection and every retry, or this run stalls.
- Retries: up to 10 a call (a call fails for good with odds of 0.1**11), with the backoff's
  sleep made instant (recorded instead) so the test takes about 2 s.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict

from knock_async import RateLimiter
from knock_async.testing import ChannelStep, Faults, RecordedRequest
from tests.conftest import ServerFactory
from tests.helpers import RecordingClock
from tests.integration.conftest import ClientFactory

TRIGGERS = 2_000
CONCURRENCY = 200  # calls under way at once (the limiter's own cap, 64 in flight, still applies)


async def test_no_trigger_is_lost_or_duplicated_through_faults(
    make_server: ServerFactory, make_client: ClientFactory
) -> None:
    server = await make_server(
        faults=Faults(
            rate=0.1,
            kinds=("error", "drop"),
            when="either",
            seed=20_240_501,
            operations=frozenset({"workflows.trigger"}),
        )
    )
    # On top of the random ones, some that certainly hit after the action, of each kind.
    server.inject_fault("drop", when="after", operation="workflows.trigger", count=20)
    server.inject_fault("error", when="after", operation="workflows.trigger", count=20, status=503)
    server.add_workflow("order-placed", [ChannelStep("in-app", "in_app_feed")])
    backoffs: list[float] = []  # the transport's waits: recorded, and over at once
    knock = make_client(server, max_retries=10, rate_limiter=RateLimiter(), clock=RecordingClock(backoffs))
    gate = asyncio.Semaphore(CONCURRENCY)

    async def place_order(n: int) -> str:
        async with gate:
            run = await knock.workflows.trigger(
                "order-placed", recipients=[f"customer-{n}"], data={"order": n}
            )
            return run.workflow_run_id

    run_ids = await asyncio.wait_for(asyncio.gather(*(place_order(n) for n in range(TRIGGERS))), 60)

    # Every call succeeded, each with its own run.
    assert len(run_ids) == len(set(run_ids)) == TRIGGERS
    # The server holds exactly one run and one delivered message per trigger: nothing lost,
    # nothing duplicated; and each call got the answer of the run it made.
    runs = list(server.state.runs.values())
    assert len(runs) == TRIGGERS
    assert Counter(run.recipient[1] for run in runs) == {f"customer-{n}": 1 for n in range(TRIGGERS)}
    assert all(run.status == "completed" for run in runs)
    assert {run.workflow_run_id for run in runs} == set(run_ids)
    messages = list(server.state.messages.values())
    assert len(messages) == TRIGGERS and all(message.status == "delivered" for message in messages)
    assert len({message.recipient for message in messages}) == TRIGGERS

    # The faults really happened, before and after acting, and the retries dealt with them.
    attempts: dict[int, list[RecordedRequest]] = defaultdict(list)
    for request in server.calls("workflows.trigger"):
        attempts[request.body["data"]["order"]].append(request)
    statuses = Counter(request.status for group in attempts.values() for request in group)
    assert set(statuses) <= {200, 500, 503, None}
    failed = statuses[500] + statuses[503] + statuses[None]
    assert 0.08 * TRIGGERS < failed < 0.2 * TRIGGERS
    assert statuses[None] > 20 and statuses[500] > 20 and statuses[503] >= 20
    assert len(backoffs) == failed  # every failed attempt was retried, and only those
    assert all(group[-1].status == 200 for group in attempts.values())
    # An attempt answered from the idempotency store means an earlier one acted unheard.
    replayed_after = Counter(
        group[i - 1].status for group in attempts.values() for i in range(1, len(group)) if group[i].replayed
    )
    assert replayed_after[None] >= 20 and replayed_after[500] + replayed_after[503] >= 20
    assert sum(1 for group in attempts.values() if any(r.replayed and r.status == 200 for r in group)) >= 40
