"""RedisRateLimiter against a real redis-server: several limiters stand in for several processes."""

from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable

import pytest
from bench.fleet import RedisServer, free_port
from redis.asyncio import Redis

from knock_async import APITimeoutError, AsyncKnock, RedisRateLimiter
from knock_async._limiter import scope_for
from knock_async._ratelimit import DEFAULT_WINDOW
from knock_async.testing import KnockTestServer

SCOPE = "f3a9c0de"  # what the transport passes: already a hash of the key and user token
LimiterFactory = Callable[..., RedisRateLimiter]


@pytest.fixture
async def make_limiter() -> AsyncIterator[LimiterFactory]:
    made: list[RedisRateLimiter] = []

    def make(url: str, **options: object) -> RedisRateLimiter:
        options.setdefault("retry_interval", 0.2)
        limiter = RedisRateLimiter.from_url(url, **options)  # type: ignore[arg-type]
        made.append(limiter)
        return limiter

    yield make
    for limiter in made:
        await limiter.aclose()


async def start_times(limiters: list[RedisRateLimiter], count: int, tier: int = 2) -> list[float]:
    """Start `count` calls spread over `limiters` at once; when each got through, from the first."""
    starts: list[float] = []

    async def call(limiter: RedisRateLimiter) -> None:
        async with limiter.slot(tier, SCOPE):
            starts.append(time.monotonic())

    await asyncio.gather(*(call(limiters[n % len(limiters)]) for n in range(count)))
    first = min(starts)
    return sorted(start - first for start in starts)


def most_in_one_second(starts: list[float]) -> int:
    return max(sum(1 for other in starts if start <= other < start + 1.0) for start in starts)


async def test_limiters_on_one_redis_share_one_budget(
    redis_server: RedisServer, make_limiter: LimiterFactory
) -> None:
    fleet = [make_limiter(redis_server.url) for _ in range(3)]
    starts = await start_times(fleet, 12)  # Tier 2: 5 a second for all three together
    assert most_in_one_second(starts) == 5
    assert starts[4] < 0.5 and starts[5] >= DEFAULT_WINDOW - 0.01 and starts[10] >= 2 * DEFAULT_WINDOW - 0.01
    assert starts[-1] < 2 * DEFAULT_WINDOW + 1.0  # paced, not stalled


async def test_scopes_tiers_and_namespaces_have_their_own_budgets(
    redis_server: RedisServer, make_limiter: LimiterFactory
) -> None:
    one, other_app = make_limiter(redis_server.url), make_limiter(redis_server.url, namespace="other-app")
    await start_times([one], 5)
    started = time.monotonic()
    await start_times([other_app], 5)
    async with one.slot(2, "another-user"), one.slot(3, SCOPE):
        pass
    assert time.monotonic() - started < 0.5


async def test_a_pause_in_one_process_holds_back_the_others(
    redis_server: RedisServer, make_limiter: LimiterFactory
) -> None:
    first, second = make_limiter(redis_server.url), make_limiter(redis_server.url)
    started = time.monotonic()
    await first.pause(2, SCOPE, 1.0)
    async with second.slot(2, SCOPE):
        waited = time.monotonic() - started
    assert 0.95 <= waited < 2.0


async def test_a_pause_moves_a_start_already_reserved(
    redis_server: RedisServer, make_limiter: LimiterFactory
) -> None:
    first, second = make_limiter(redis_server.url), make_limiter(redis_server.url)
    await start_times([first], 5)
    started = time.monotonic()
    waiting = asyncio.create_task(start_times([second], 1))  # reserved for 1.05 s from now
    await asyncio.sleep(0.2)
    await first.pause(2, SCOPE, 2.0)  # a 429 now: nothing before 2.2 s
    await waiting
    assert time.monotonic() - started >= 2.15


async def test_a_wait_past_the_deadline_fails_at_once_and_takes_nothing(
    redis_server: RedisServer, make_limiter: LimiterFactory
) -> None:
    limiter = make_limiter(redis_server.url)
    await limiter.pause(2, SCOPE, 3.0)
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="after this call's deadline"):
        async with limiter.slot(2, SCOPE, timeout=1.0):
            pass
    assert time.monotonic() - started < 0.5
    assert limiter.in_flight == 0
    redis = Redis.from_url(redis_server.url)
    assert [key async for key in redis.scan_iter("*:starts")] == []  # no start was reserved
    await redis.aclose()


async def test_a_fleet_pause_longer_than_the_call_timeout_fails_the_call_early(
    redis_server: RedisServer, make_limiter: LimiterFactory
) -> None:
    limiter = make_limiter(redis_server.url)
    async with KnockTestServer() as server:
        server.identify_user("ada")
        knock = AsyncKnock(server.api_key, base_url=server.url, timeout=2.0, rate_limiter=limiter)
        await limiter.pause(2, scope_for(server.api_key, None), 30.0)  # another process drew a 429
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            await knock.users.delete("ada")
        await knock.close()
    assert time.monotonic() - started < 2.0  # not a 30 s wait cut off by the timeout
    assert server.requests == []  # nothing was sent during the pause


async def test_a_cancelled_waiter_gives_its_start_back(
    redis_server: RedisServer, make_limiter: LimiterFactory
) -> None:
    limiter = make_limiter(redis_server.url)
    await start_times([limiter], 5)

    async def wait_for_a_slot() -> None:
        async with limiter.slot(2, SCOPE):
            raise AssertionError("the bucket is empty: this call cannot start yet")

    waiter = asyncio.create_task(wait_for_a_slot())
    await asyncio.sleep(0.2)
    redis = Redis.from_url(redis_server.url)
    [key] = [key async for key in redis.scan_iter("*:starts")]
    assert await redis.zcard(key) == 6  # five started, one reserved
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await asyncio.sleep(0.2)
    assert await redis.zcard(key) == 5
    assert limiter.in_flight == 0
    await redis.aclose()


async def test_redis_keys_carry_no_secret_and_the_namespace(
    redis_server: RedisServer, make_limiter: LimiterFactory
) -> None:
    limiter = make_limiter(redis_server.url, namespace="billing")
    await limiter.pause(2, SCOPE, 0.5)
    await start_times([limiter], 1)
    redis = Redis.from_url(redis_server.url)
    keys = sorted([key.decode() async for key in redis.scan_iter("*")])
    await redis.aclose()
    assert [key.rsplit(":", 1)[1] for key in keys] == ["pause", "processes", "starts"]
    assert all(key.startswith("billing:{") and SCOPE not in key for key in keys)
    assert repr(limiter) == "RedisRateLimiter(namespace='billing')"


async def test_a_down_redis_falls_back_to_local_pacing_with_one_warning(
    make_limiter: LimiterFactory, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = make_limiter(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    with caplog.at_level(logging.WARNING, logger="knock_async"):
        starts = await start_times([limiter], 7)
    assert not limiter.sharing
    assert most_in_one_second(starts) == 5  # still paced, by the local limiter
    assert [r.getMessage() for r in caplog.records if "Redis" in r.getMessage()] == [
        "Redis is unavailable (ConnectionError); pacing Knock calls in this process alone until it is back"
    ]


async def test_a_hanging_redis_costs_one_command_timeout_then_local_pacing(
    make_limiter: LimiterFactory,
) -> None:
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        port = silent.getsockname()[1]
        limiter = make_limiter(f"redis://127.0.0.1:{port}/0", command_timeout=0.1, retry_interval=60)
        started = time.monotonic()
        await start_times([limiter], 5)
        assert time.monotonic() - started < 1.0
        assert not limiter.sharing


async def test_sharing_resumes_when_redis_is_back(
    redis_server: RedisServer, make_limiter: LimiterFactory, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = make_limiter(redis_server.url)
    redis_server.stop()
    with caplog.at_level(logging.WARNING, logger="knock_async"):
        await start_times([limiter], 2)
        assert not limiter.sharing
        redis_server.start()
        await asyncio.sleep(0.3)  # past retry_interval
        await start_times([limiter], 2, tier=3)
    assert limiter.sharing
    assert "Redis is back; Knock calls share the fleet's budget again" in caplog.messages
    redis = Redis.from_url(redis_server.url)
    assert len([key async for key in redis.scan_iter("*:starts")]) == 1  # the tier 3 calls
    await redis.aclose()


def test_importable_without_redis_until_used() -> None:
    script = (
        "import sys; sys.modules['redis'] = None\n"
        "from knock_async import APITimeoutError, AsyncKnock, RedisRateLimiter\n"
        "try:\n    RedisRateLimiter.from_url('redis://localhost')\n"
        "except ImportError as exc:\n    print(exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "RedisRateLimiter needs redis-py: pip install 'knock-async[redis]'"
