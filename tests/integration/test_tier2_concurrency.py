"""Concurrent Tier 2 calls against the embedded server with Knock's rate limits on.

The SDK's default limiter paces them (5 at once, then 5 every 1.05 s) so that Knock never has
to answer 429. (The pacing itself, against a bare Tier 2 stand-in, is the subject of
test_rate_limit_pacing.py.)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from knock_async import UNSET
from knock_async.testing import KnockTestServer, RateLimits
from tests.conftest import ServerFactory
from tests.integration.conftest import ClientFactory

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def leavers(make_server: ServerFactory, count: int, **options: object) -> KnockTestServer:
    server = await make_server(rate_limits=RateLimits(), **options)  # Knock's tiers: Tier 2 is 5 a second
    assert next(op for op in server.operations if op.id == "users.delete").tier == 2
    for n in range(count):
        server.identify_user(f"leaver-{n}")
    return server


async def test_fifty_concurrent_tier2_calls_get_no_429(
    make_server: ServerFactory, make_client: ClientFactory
) -> None:
    server = await leavers(make_server, 50)
    knock = make_client(server, rate_limiter=UNSET)  # UNSET: the SDK's default limiter

    started = time.monotonic()
    results = await asyncio.gather(*(knock.users.delete(f"leaver-{n}") for n in range(50)))
    elapsed = time.monotonic() - started

    assert results == [None] * 50
    statuses = [request.status for request in server.requests]
    assert statuses.count(429) == 0
    assert statuses == [204] * 50  # one request a call: nothing was retried
    assert not server.state.users
    # Paced, not merely lucky: 10 rounds of 5, a round every 1.05 s (the last at 9.45 s).
    assert 9.0 <= elapsed < 15.0, elapsed


async def test_a_slow_first_round_does_not_crowd_the_next(
    make_server: ServerFactory, make_client: ClientFactory
) -> None:
    """The first requests of a cold client open new connections (a TLS handshake to Knock takes
    100-300 ms) and so reach Knock late, while the next round goes out on warm ones. Knock counts
    arrivals: the next round must wait for a second after the first round *arrived*."""
    arrivals: list[float] = []

    @web.middleware
    async def cold_connections(request: web.Request, handler: Handler) -> web.StreamResponse:
        if len(arrivals) < 5:
            arrivals.append(0.0)
            await asyncio.sleep(0.3)  # before the server sees (and counts) the request
        return await handler(request)

    server = await leavers(make_server, 10, middlewares=[cold_connections])
    knock = make_client(server, rate_limiter=UNSET)

    started = time.monotonic()
    await asyncio.gather(*(knock.users.delete(f"leaver-{n}") for n in range(10)))
    elapsed = time.monotonic() - started

    assert [request.status for request in server.requests] == [204] * 10  # no 429, no retry
    assert not server.state.users
    assert 1.3 <= elapsed < 5.0, elapsed  # the second round went a second after the first arrived
