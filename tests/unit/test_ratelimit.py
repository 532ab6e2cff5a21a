"""The rate limiter, on a fake clock: every test runs in virtual time, in milliseconds of real time."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable
from typing import Any, TypeVar

import pytest

from knock_async._ratelimit import DEFAULT_RATES, DEFAULT_WINDOW, InFlight, RateLimiter, default_burst

T = TypeVar("T")
ENV = "env"


class FakeTime:
    """A virtual clock with a `sleep` that waits for virtual time to reach its deadline.

    `run(coro)` moves the clock straight to the next deadline whenever every task is blocked,
    so a schedule spanning minutes runs in no real time and the times it records are exact.
    """

    def __init__(self) -> None:
        self.now = 0.0
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self.sleeps = 0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.sleeps += 1
        waiter = asyncio.get_running_loop().create_future()
        heapq.heappush(self._timers, (self.now + max(delay, 0.0), next(self._order), waiter))
        await waiter

    async def settle(self) -> None:
        """Let every task that can run, run: until the loop has nothing else ready."""
        loop = asyncio.get_running_loop()
        for _ in range(100_000):
            await asyncio.sleep(0)
            if not loop._ready:  # type: ignore[attr-defined]  # (a test may peek)
                return

    async def advance(self, seconds: float) -> None:
        """Move the clock forward by `seconds`, firing the timers due on the way, in order."""
        end = self.now + seconds
        await self.settle()
        while self._timers and self._timers[0][0] <= end:
            when, _, waiter = heapq.heappop(self._timers)
            self.now = max(self.now, when)
            if not waiter.done():
                waiter.set_result(None)
                await self.settle()
        self.now = end
        await self.settle()

    async def run(self, work: Awaitable[T]) -> T:
        task = asyncio.ensure_future(work)
        while True:
            await self.settle()
            if task.done():
                return task.result()
            while self._timers and self._timers[0][2].done():
                heapq.heappop(self._timers)  # a cancelled sleeper
            if not self._timers:
                raise AssertionError("deadlock: every task waits and no timer is set")
            when, _, waiter = heapq.heappop(self._timers)
            self.now = max(self.now, when)
            waiter.set_result(None)


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


def limiter_on(fake: FakeTime, **kwargs: Any) -> RateLimiter:
    return RateLimiter(clock=fake, **kwargs)


async def start_times(
    fake: FakeTime, limiter: RateLimiter, tier: int, count: int, scope: str = ENV
) -> list[float]:
    """When each of `count` concurrent calls got through, in the order they were made."""
    starts: list[float] = [-1.0] * count

    async def call(i: int) -> None:
        async with limiter.slot(tier, scope):
            starts[i] = fake.now

    await fake.run(asyncio.gather(*(call(i) for i in range(count))))
    return starts


def most_in_any_window(starts: list[float], window: float = 1.0) -> int:
    """The most requests a server counting a sliding window of `window` seconds would see."""
    ordered = sorted(starts)
    return max(sum(1 for t in ordered if s <= t < s + window) for s in ordered)


# --- pacing -----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_fifty_tier2_calls_burst_then_five_per_window(fake: FakeTime) -> None:
    starts = await start_times(fake, limiter_on(fake), tier=2, count=50)

    assert starts[:5] == [0.0] * 5  # the burst
    assert most_in_any_window(starts) == 5  # a server allowing 5 per rolling second: no 429
    assert most_in_any_window(starts, DEFAULT_WINDOW) == 5
    assert max(starts) == pytest.approx(9 * DEFAULT_WINDOW)  # 9.45 s; the ideal is 9 s
    for group in range(10):  # then 5 more at every window
        assert starts[5 * group : 5 * group + 5] == pytest.approx([group * DEFAULT_WINDOW] * 5)


@pytest.mark.asyncio
async def test_default_bursts_equal_the_rate_and_never_overfill_a_second(fake: FakeTime) -> None:
    assert [default_burst(DEFAULT_RATES[tier]) for tier in range(1, 6)] == [1, 5, 60, 200, 1000]
    assert default_burst(2.5) == 1 and default_burst(0.5) == 1

    for tier, rate in DEFAULT_RATES.items():
        fake = FakeTime()
        starts = await start_times(fake, limiter_on(fake, max_in_flight=10_000), tier, int(rate) * 3 + 1)
        assert most_in_any_window(starts) == rate, tier
        assert max(starts) == pytest.approx(3 * DEFAULT_WINDOW), tier


@pytest.mark.asyncio
async def test_tier1_is_one_request_per_window(fake: FakeTime) -> None:
    starts = await start_times(fake, limiter_on(fake), tier=1, count=4)
    assert starts == pytest.approx([0.0, 1.05, 2.1, 3.15])


@pytest.mark.asyncio
async def test_custom_rate_burst_and_window(fake: FakeTime) -> None:
    limiter = limiter_on(fake, rates={2: 10}, bursts={2: 1}, window=1.0)
    starts = await start_times(fake, limiter, tier=2, count=5)
    assert starts == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])  # a token every 1/rate seconds


@pytest.mark.asyncio
async def test_tokens_refill_while_idle(fake: FakeTime) -> None:
    limiter = limiter_on(fake)
    await start_times(fake, limiter, tier=2, count=5)
    await fake.advance(10)
    starts = await start_times(fake, limiter, tier=2, count=5)
    assert starts == [10.0] * 5  # a full burst again, no waiting


@pytest.mark.asyncio
async def test_waiting_is_first_come_first_served(fake: FakeTime) -> None:
    limiter = limiter_on(fake)
    order: list[int] = []

    async def call(i: int) -> None:
        async with limiter.slot(1, ENV):
            order.append(i)

    tasks = []
    for i in range(6):
        tasks.append(asyncio.ensure_future(call(i)))
        await fake.settle()  # each one queues before the next arrives
    await fake.run(asyncio.gather(*tasks))
    assert order == list(range(6))
    assert fake.sleeps == 5  # only the first waiter in line sleeps: no herd waking up


@pytest.mark.asyncio
async def test_a_newcomer_never_overtakes_the_queue(fake: FakeTime) -> None:
    limiter = limiter_on(fake)
    order: list[str] = []

    async def call(name: str) -> None:
        async with limiter.slot(1, ENV):
            order.append(name)

    tasks = [asyncio.ensure_future(call("first"))]
    await fake.settle()
    tasks.append(asyncio.ensure_future(call("waiting")))  # asleep until 1.05
    await fake.settle()
    fake.now = 1.05  # the token is due, but the sleeper has not woken up yet
    tasks.append(asyncio.ensure_future(call("newcomer")))
    await fake.settle()
    assert order == ["first"]
    await fake.run(asyncio.gather(*tasks))
    assert order == ["first", "waiting", "newcomer"]


@pytest.mark.asyncio
async def test_scopes_and_tiers_have_their_own_buckets(fake: FakeTime) -> None:
    limiter = limiter_on(fake)
    starts: dict[str, float] = {}

    async def call(name: str, tier: int, scope: str) -> None:
        async with limiter.slot(tier, scope):
            starts[name] = fake.now

    await fake.run(
        asyncio.gather(
            call("u1-a", 1, "user-1"),
            call("u1-b", 1, "user-1"),
            call("u2", 1, "user-2"),
            call("env-tier3", 3, "user-1"),
        )
    )
    assert starts == pytest.approx({"u1-a": 0.0, "u1-b": 1.05, "u2": 0.0, "env-tier3": 0.0})


# --- pause after a 429 ------------------------------------------------------------------


@pytest.mark.asyncio
async def test_pause_stops_the_bucket_for_every_caller(fake: FakeTime) -> None:
    limiter = limiter_on(fake)
    await limiter.pause(2, ENV, 3.0)
    starts = await start_times(fake, limiter, tier=2, count=6)
    assert starts == pytest.approx([3.0] * 5 + [3.0 + DEFAULT_WINDOW])
    # Other buckets are not affected.
    assert await start_times(fake, limiter, tier=2, count=1, scope="other") == [fake.now]


@pytest.mark.asyncio
async def test_pause_while_callers_wait_holds_them_back(fake: FakeTime) -> None:
    limiter = limiter_on(fake)
    starts: list[float] = []

    async def call() -> None:
        async with limiter.slot(1, ENV):
            starts.append(fake.now)

    work = asyncio.gather(*(call() for _ in range(3)))
    await fake.advance(0.5)
    assert starts == [0.0]
    await limiter.pause(1, ENV, 2.0)  # a 429 at 0.5 s: nothing before 2.5 s
    await fake.run(work)
    assert starts == pytest.approx([0.0, 2.5, 2.5 + DEFAULT_WINDOW])


@pytest.mark.asyncio
async def test_a_shorter_pause_does_not_cut_a_longer_one(fake: FakeTime) -> None:
    limiter = limiter_on(fake)
    await limiter.pause(3, ENV, 5.0)
    await limiter.pause(3, ENV, 1.0)
    assert await start_times(fake, limiter, tier=3, count=1) == [5.0]


# --- the call's deadline ----------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_pause_past_the_deadline_fails_at_once(fake: FakeTime) -> None:
    limiter = limiter_on(fake)
    await limiter.pause(1, ENV, 12.0)
    with pytest.raises(TimeoutError, match="outlast"):
        async with limiter.slot(1, ENV, timeout=2.0):
            pass
    assert fake.sleeps == 0  # refused without waiting
    assert limiter.in_flight == 0
    assert await start_times(fake, limiter, tier=1, count=1) == [12.0]  # the queue is intact


@pytest.mark.asyncio
async def test_a_wait_for_a_token_past_the_deadline_fails_and_passes_the_bucket_on(fake: FakeTime) -> None:
    limiter = limiter_on(fake)
    outcomes: list[str] = []

    async def call(name: str, timeout: float | None) -> None:
        try:
            async with limiter.slot(1, ENV, timeout):
                outcomes.append(f"{name}@{fake.now:g}")
        except TimeoutError:
            outcomes.append(f"{name} timed out@{fake.now:g}")

    # Tier 1: one token per 1.05 s. The second caller has 0.5 s left: it cannot make it.
    await fake.run(asyncio.gather(call("a", None), call("b", 0.5), call("c", 60)))
    assert outcomes == ["a@0", "b timed out@0", "c@1.05"]
    assert limiter.in_flight == 0


# --- cancellation -----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_cancelled_waiter_takes_no_token_and_does_not_block_the_queue(fake: FakeTime) -> None:
    limiter = limiter_on(fake)
    starts: dict[str, float] = {}

    async def call(name: str) -> None:
        async with limiter.slot(1, ENV):
            starts[name] = fake.now

    first = asyncio.ensure_future(call("first"))
    await fake.settle()
    second = asyncio.ensure_future(call("second"))  # first in line, asleep until 1.05
    await fake.settle()
    third = asyncio.ensure_future(call("third"))  # queued behind `second`
    await fake.settle()
    fourth = asyncio.ensure_future(call("fourth"))
    await fake.settle()
    await fake.advance(0.5)

    second.cancel()  # the one asleep at the head of the line
    third.cancel()  # and one in the middle of it
    await fake.run(asyncio.gather(first, fourth))
    assert second.cancelled() and third.cancelled()
    assert starts == pytest.approx({"first": 0.0, "fourth": 1.05})  # the token went to `fourth`
    assert limiter.in_flight == 0


@pytest.mark.asyncio
async def test_cancelled_while_waiting_for_a_slot_leaks_nothing(fake: FakeTime) -> None:
    limiter = limiter_on(fake, max_in_flight=1)
    release = asyncio.Event()
    entered: list[str] = []

    async def hold(name: str, tier: int) -> None:
        async with limiter.slot(tier, name):
            entered.append(name)
            await release.wait()

    holder = asyncio.ensure_future(hold("holder", 5))
    await fake.settle()
    waiting = asyncio.ensure_future(hold("waiting", 1))  # has its token, waits for the slot
    await fake.settle()
    assert entered == ["holder"] and limiter.in_flight == 1

    waiting.cancel()
    await fake.settle()
    release.set()
    await fake.run(holder)
    assert limiter.in_flight == 0
    # The cancelled caller's tier-1 bucket gave no token away: its next caller goes at once.
    assert await start_times(fake, limiter, tier=1, count=1, scope="waiting") == [fake.now]


@pytest.mark.asyncio
async def test_a_slot_handed_to_a_waiter_cancelled_in_that_instant_is_passed_on(fake: FakeTime) -> None:
    gate = InFlight(1)
    assert gate.try_acquire()
    second = asyncio.ensure_future(gate.acquire())
    third = asyncio.ensure_future(gate.acquire())
    await fake.settle()
    gate.release()  # hands the slot to `second`...
    second.cancel()  # ...which is cancelled before it could run
    await fake.settle()
    assert second.cancelled() and third.done()  # `third` holds the slot now
    assert gate.free == 0
    gate.release()
    assert gate.free == 1


@pytest.mark.asyncio
async def test_a_waiter_cancelled_before_a_release_is_skipped(fake: FakeTime) -> None:
    gate = InFlight(1)
    assert gate.try_acquire()
    second = asyncio.ensure_future(gate.acquire())
    third = asyncio.ensure_future(gate.acquire())
    await fake.settle()
    second.cancel()  # cancelled, but it has not run its cleanup yet...
    gate.release()  # ...when the slot is freed: it goes to `third`
    await fake.settle()
    assert second.cancelled() and third.done() and gate.free == 0


@pytest.mark.asyncio
async def test_a_slot_is_released_when_the_body_raises(fake: FakeTime) -> None:
    limiter = limiter_on(fake, max_in_flight=1)
    with pytest.raises(RuntimeError):
        async with limiter.slot(5, ENV):
            raise RuntimeError("boom")
    assert limiter.in_flight == 0


# --- in-flight cap ----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_in_flight_cap_is_global_and_fifo(fake: FakeTime) -> None:
    limiter = limiter_on(fake, max_in_flight=2)
    release = asyncio.Event()
    entered: list[int] = []
    peak = 0

    async def call(i: int) -> None:
        nonlocal peak
        async with limiter.slot(5 if i % 2 else 4, f"scope-{i}"):
            entered.append(i)
            peak = max(peak, limiter.in_flight)
            await release.wait()

    tasks = []
    for i in range(6):
        tasks.append(asyncio.ensure_future(call(i)))
        await fake.settle()
    assert entered == [0, 1] and limiter.in_flight == 2
    release.set()
    await fake.run(asyncio.gather(*tasks))
    assert entered == list(range(6))
    assert peak == 2 and limiter.in_flight == 0


@pytest.mark.asyncio
async def test_a_pause_during_the_slot_wait_is_respected(fake: FakeTime) -> None:
    limiter = limiter_on(fake, max_in_flight=1)
    release = asyncio.Event()
    starts: list[float] = []

    async def holder() -> None:
        async with limiter.slot(5, "other"):
            await release.wait()

    async def call() -> None:
        async with limiter.slot(2, ENV):
            starts.append(fake.now)

    held = asyncio.ensure_future(holder())
    await fake.settle()
    waiting = asyncio.ensure_future(call())
    await fake.settle()
    await limiter.pause(2, ENV, 4.0)  # a 429 for tier 2 while `call` waits for the slot
    release.set()
    await fake.run(asyncio.gather(held, waiting))
    assert starts == [4.0]


# --- turning it off, configuration ------------------------------------------------------


@pytest.mark.asyncio
async def test_disabled_never_waits(fake: FakeTime) -> None:
    for limiter in (RateLimiter.disabled(), RateLimiter(enabled=False, clock=fake)):
        await limiter.pause(1, ENV, 60)
        starts = await start_times(fake, limiter, tier=1, count=100)
        assert starts == [0.0] * 100
        assert limiter.in_flight == 0
    assert fake.sleeps == 0


@pytest.mark.asyncio
async def test_real_clock_smoke() -> None:
    limiter = RateLimiter(rates={1: 1000.0}, bursts={1: 1}, window=1.0)  # 1 ms apart, real clock
    loop = asyncio.get_running_loop()
    started = loop.time()
    starts: list[float] = []

    async def call() -> None:
        async with limiter.slot(1, ENV):
            starts.append(loop.time())

    await asyncio.gather(*(call() for _ in range(5)))
    assert len(starts) == 5
    assert starts[-1] - starts[0] >= 0.004 - 1e-3  # the asyncio timer may fire a hair early
    assert loop.time() - started < 1.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rates": {2: 0}}, "rate must be above 0"),
        ({"bursts": {2: 0}}, "burst must be at least 1"),
        ({"bursts": {9: 1}}, "no rate"),
        ({"max_in_flight": 0}, "max_in_flight"),
        ({"window": 0.5}, "window"),
        ({"max_buckets": 0}, "max_buckets must be at least 1"),
    ],
)
def test_bad_configuration_is_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RateLimiter(**kwargs)


@pytest.mark.asyncio
async def test_unknown_tier_is_refused(fake: FakeTime) -> None:
    limiter = limiter_on(fake)
    with pytest.raises(ValueError, match="unknown rate-limit tier 7"):
        async with limiter.slot(7, ENV):
            pass


@pytest.mark.asyncio
async def test_idle_buckets_are_swept(fake: FakeTime) -> None:
    limiter = limiter_on(fake, max_buckets=10)
    for i in range(10):
        await start_times(fake, limiter, tier=4, count=1, scope=f"user-{i}")
    await limiter.pause(4, "user-0", 100)  # a paused bucket must be kept
    await fake.advance(5)
    await start_times(fake, limiter, tier=4, count=1, scope="new")
    assert limiter.tracked_scopes == {(4, "user-0"), (4, "new")}
