"""The default rate limiter keeps 50 concurrent Tier 2 calls within Knock's limit.

Against a bare stand-in (bench/tier2.py, which `make bench` times too) that enforces Tier 2
the way Knock does: 5 requests per rolling second per API key, and 429 with Retry-After and
Knock's error body beyond that. This test holds what must always be true: every call
succeeds, the server never had to answer 429, and the calls ran concurrently, paced in
rounds rather than one after another. How close the wall time comes to the ideal 9 s is the
benchmark's business, not a test's: timing on a shared CI machine is too noisy to assert.
"""

from __future__ import annotations

import asyncio
import time

from bench.tier2 import Tier2StandIn

from knock_async import AsyncKnock, RateLimitError
from tests.helpers import generated_operations

CALLS = 50
RATE = 5  # Knock's Tier 2: requests per second per key


async def test_fifty_concurrent_tier2_calls_are_paced_without_a_429() -> None:
    # The limiter paces by the Operation's tier: users.delete must be Tier 2 for this to test it.
    assert generated_operations()["users.delete"].tier == 2

    async with (
        Tier2StandIn(rate=RATE) as server,
        AsyncKnock("sk_test_pacing", base_url=server.url) as knock,  # the default limiter
    ):
        started = time.monotonic()
        results = await asyncio.gather(*(knock.users.delete(f"user-{n}") for n in range(CALLS)))
        elapsed = time.monotonic() - started

    assert results == [None] * CALLS
    assert server.rejected == 0, f"the server answered {server.rejected} requests with 429"
    assert len(server.admitted) == CALLS  # one request a call: nothing needed a retry
    assert server.busiest_window() <= RATE
    # Concurrent, not serialized: the first round of five left together, and the whole run is
    # far below the 20 s that strictly sequential calls (one at a time, half the rate) would take.
    assert server.admitted[RATE - 1] - server.admitted[0] < 0.5
    assert elapsed < CALLS / RATE * 2 * 0.75, f"{elapsed:.1f} s"


async def test_the_stand_in_enforces_tier_2_per_key() -> None:
    """Without client-side pacing the stand-in must refuse the sixth request of a second: else the
    test above would pass against a server that limits nothing."""
    async with (
        Tier2StandIn(rate=RATE) as server,
        AsyncKnock("sk_test_a", base_url=server.url, rate_limiter=None, max_retries=0) as first,
        AsyncKnock("sk_test_b", base_url=server.url, rate_limiter=None, max_retries=0) as second,
    ):
        outcomes = await asyncio.gather(
            *(first.users.delete(f"user-{n}") for n in range(RATE + 3)), return_exceptions=True
        )
        # Another key has a window of its own.
        await asyncio.gather(*(second.users.delete(f"user-{n}") for n in range(RATE)))

    refused = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    assert outcomes.count(None) == RATE
    assert len(refused) == 3 == server.rejected
    for error in refused:
        assert isinstance(error, RateLimitError)
        assert (error.status, error.code, error.type) == (429, "rate_limit_exceeded", "rate_limit_error")
        assert set(error.body) == {"code", "message", "status", "type"}  # Knock's error body
        assert error.retry_after is not None and error.retry_after >= 1
    assert len(server.admitted) == 2 * RATE
