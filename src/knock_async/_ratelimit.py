"""Client-side pacing for Knock's per-endpoint rate limits.

Knock allows, per environment (API key) and per signed user, a number of requests per second
that depends on the endpoint's tier. We keep one bucket per (tier, scope) so that a client
running many calls at once stays under those limits instead of collecting 429s, plus one
global cap on requests in flight.

A bucket holds `burst` tokens; a token spent at time t comes back at t + burst / rate * window.
With the default burst (= rate) that reads: at most `rate` requests start in any `window`
seconds, i.e. in any one-second window whether Knock counts fixed or sliding windows, with
`window - 1` seconds to spare for network jitter. 50 Tier 2 calls then go as 5 at once and 5
more every 1.05 s: the last starts at 9.45 s (the ideal is 9 s).

Knock counts a request when it arrives, somewhere between its start and its end here. A
request slower than the spare time (the first ones on new TLS connections, say) may arrive
late enough to share Knock's window with the next round, so when a request ends its token is
stamped `end - spare` if that is later than its start: the next use of the token then arrives
at least a second after it, however long it took. Faster requests keep their start time.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import deque
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from ._clock import REAL_CLOCK, Clock

# Requests per second that Knock allows for each tier.
DEFAULT_RATES: Final[Mapping[int, float]] = {1: 1.0, 2: 5.0, 3: 60.0, 4: 200.0, 5: 1000.0}
DEFAULT_MAX_IN_FLIGHT: Final = 64
# Knock's one-second window, stretched by 5 %: a request that leaves on time but travels
# faster than the one `rate` places before it must still land in the next window.
DEFAULT_WINDOW: Final = 1.05
DEFAULT_MAX_BUCKETS: Final = 1024  # buckets kept before idle ones are dropped (one per user token...)


def default_burst(rate: float) -> int:
    """The whole rate at once for a whole-number rate, else 1.

    A burst that divides the rate never puts more than `rate` requests in a one-second window:
    the bucket refills `burst` tokens every `burst / rate` seconds, i.e. `rate` per second.
    """
    return int(rate) if rate >= 1 and rate == int(rate) else 1


class _Bucket:
    """The pacing state of one (tier, scope)."""

    __slots__ = ("burst", "paused_until", "period", "sent", "waiters")

    def __init__(self, burst: int, period: float) -> None:
        self.burst = burst
        self.period = period  # how long a spent token stays spent
        # The last `burst` requests, oldest first: [when the token counts from] (see `_restamp`).
        self.sent: deque[list[float]] = deque(maxlen=burst)
        self.paused_until = -math.inf
        # FIFO of the callers waiting here; the first one owns the bucket and is the only one
        # that sleeps, so nobody overtakes it and no herd wakes up to compete for one token.
        self.waiters: deque[asyncio.Future[None]] = deque()

    def ready_at(self) -> float:
        """When the next token may be taken."""
        if len(self.sent) < self.burst:
            return self.paused_until
        return max(self.paused_until, self.sent[0][0] + self.period)

    def idle(self, now: float) -> bool:
        """True when dropping this bucket changes nothing (a new one would behave the same)."""
        recent = bool(self.sent) and self.sent[-1][0] + self.period > now
        return not self.waiters and not recent and self.paused_until <= now


class InFlight:
    """A FIFO counting semaphore that hands a freed slot straight to the next waiter.

    Written out (rather than asyncio.Semaphore) for its guarantees on every supported Python:
    strict arrival order, and a waiter cancelled just as it was handed a slot passes it on.
    """

    __slots__ = ("_free", "_waiters")

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def free(self) -> int:
        return self._free

    def try_acquire(self) -> bool:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return True
        return False

    async def acquire(self) -> None:
        if self.try_acquire():
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.cancelled():
                with contextlib.suppress(ValueError):  # release() may have skipped it already
                    self._waiters.remove(waiter)
            else:
                self.release()  # handed a slot in the same instant we were cancelled: pass it on
            raise

    def release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():  # a cancelled waiter that has not run yet is skipped
                waiter.set_result(None)  # the slot changes hands without ever being free
                return
        self._free += 1


class RateLimiter:
    """Token buckets per (tier, scope) plus a global cap on requests in flight.

    Args:
        rates: requests per second by tier, overriding `DEFAULT_RATES` (Knock's tiers).
        bursts: requests allowed at once by tier; default `default_burst(rate)`, i.e. the rate.
            Choose a burst that divides the rate, or a one-second window may see more.
        max_in_flight: requests running at once, over all tiers and scopes.
        window: the seconds in which at most `rate` requests start: Knock's 1 s plus a margin.
        enabled: False lets every request through at once; see `RateLimiter.disabled()`.
            (Passing `rate_limiter=None` to the transport has the same effect.)
        clock: tells the time and waits (`knock_async.Clock`); a test may pass a
            `knock_async.testing.ManualClock`. `AsyncKnock` gives its default limiter its own clock.
        max_buckets: (tier, scope) buckets kept before the idle ones are dropped; there is one
            per signed user, so a server calling for many users does not grow without bound.
            `tracked_scopes` lists the ones kept.

    Waiting is first come, first served per bucket, and a caller cancelled while waiting
    takes no token and no slot.
    """

    def __init__(
        self,
        *,
        rates: Mapping[int, float] | None = None,
        bursts: Mapping[int, int] | None = None,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        window: float = DEFAULT_WINDOW,
        enabled: bool = True,
        clock: Clock = REAL_CLOCK,
        max_buckets: int = DEFAULT_MAX_BUCKETS,
    ) -> None:
        self._rates = {**DEFAULT_RATES, **(rates or {})}
        self._bursts = {tier: default_burst(rate) for tier, rate in self._rates.items()}
        self._bursts.update(bursts or {})
        for tier, rate in self._rates.items():
            if not rate > 0:
                raise ValueError(f"tier {tier}: the rate must be above 0, got {rate}")
        for tier, burst in self._bursts.items():
            if tier not in self._rates:
                raise ValueError(f"burst given for tier {tier}, which has no rate")
            if burst < 1:
                raise ValueError(f"tier {tier}: the burst must be at least 1, got {burst}")
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight}")
        if window < 1:
            raise ValueError(f"window must be at least Knock's 1 second, got {window}")
        if max_buckets < 1:
            raise ValueError(f"max_buckets must be at least 1, got {max_buckets}")
        self.enabled = enabled
        self.max_in_flight = max_in_flight
        self._window = window
        self._spare = window - 1.0  # seconds a request may take to reach Knock and still count on time
        self._clock = clock
        self._buckets: dict[tuple[int, str], _Bucket] = {}
        self._max_buckets = max_buckets
        self._in_flight = InFlight(max_in_flight)

    @classmethod
    def disabled(cls) -> RateLimiter:
        """A limiter that lets every request through at once (Knock's 429s are then retried)."""
        return cls(enabled=False)

    @property
    def rates(self) -> Mapping[int, float]:
        """Requests per second by tier, Knock's defaults with the overrides applied."""
        return MappingProxyType(self._rates)

    @property
    def bursts(self) -> Mapping[int, int]:
        """Requests allowed at once by tier."""
        return MappingProxyType(self._bursts)

    @property
    def tracked_scopes(self) -> frozenset[tuple[int, str]]:
        """The (tier, scope) pairs whose pacing state is kept now."""
        return frozenset(self._buckets)

    @property
    def in_flight(self) -> int:
        """Requests currently holding a slot."""
        return self.max_in_flight - self._in_flight.free if self.enabled else 0

    def slot(
        self, tier: int, scope: str, timeout: float | None = None
    ) -> contextlib.AbstractAsyncContextManager[None]:
        """Wait for a token of `tier`'s bucket for `scope`, then for an in-flight slot.

        The slot is held inside the `async with` and released on exit. Every attempt of a
        request (retries too) should take its own slot. `timeout`: the seconds the call has
        left; when the token cannot come within them, TimeoutError is raised at once.
        """
        deadline = None if timeout is None else self._clock.monotonic() + timeout
        return _Slot(self, tier, scope, deadline)

    async def pause(self, tier: int, scope: str, seconds: float) -> None:
        """A 429 arrived: hand out no token of this bucket for `seconds`, to anyone."""
        if not self.enabled:
            return
        bucket = self._bucket(tier, scope)
        bucket.paused_until = max(bucket.paused_until, self._clock.monotonic() + seconds)
        # The bucket's first waiter, if asleep, wakes at the old time, sees the pause and sleeps
        # on: a pause only ever moves the ready time later, so nobody needs waking now.

    async def _take(self, tier: int, scope: str, deadline: float | None) -> list[float] | None:
        """A token and a slot for one request (None when the limiter is off)."""
        if not self.enabled:
            return None
        bucket = self._bucket(tier, scope)
        now = self._clock.monotonic()
        if not bucket.waiters and bucket.ready_at() <= now and self._in_flight.try_acquire():
            token = [now]  # the common case: no queue, a token and a slot are free
            bucket.sent.append(token)
            return token
        return await self._wait(bucket, deadline)

    def _give_back(self, token: list[float] | None) -> None:
        if token is not None:
            self._restamp(token)
            self._in_flight.release()

    def _restamp(self, token: list[float]) -> None:
        """The request ended: if it took longer than the spare time, it may have reached Knock
        as late as now, so its token counts from `now - spare` (its next use then arrives at
        least a second after it). A token already handed on is a detached list: no effect."""
        ended = self._clock.monotonic() - self._spare
        if ended > token[0]:
            token[0] = ended

    def _check_deadline(self, delay: float, deadline: float | None) -> None:
        # `deadline` is an instant on this limiter's clock (see `slot`).
        if deadline is not None and delay > deadline - self._clock.monotonic():
            raise TimeoutError(f"the rate limiter's wait ({delay:.2f} s) would outlast the call's deadline")

    async def _wait(self, bucket: _Bucket, deadline: float | None) -> list[float]:
        """Queue on `bucket`; once first, sleep until a token is due, then take a slot."""
        # A pause that outlasts the deadline fails now, not when the caller's turn comes.
        self._check_deadline(bucket.paused_until - self._clock.monotonic(), deadline)
        me = asyncio.get_running_loop().create_future()
        bucket.waiters.append(me)
        if len(bucket.waiters) == 1:
            me.set_result(None)  # nobody ahead: we own the bucket now
        try:
            await me
            while True:
                delay = bucket.ready_at() - self._clock.monotonic()
                if delay > 0:
                    self._check_deadline(delay, deadline)
                    await self._clock.sleep(delay)
                    continue
                # The token is taken only together with the slot, so the time recorded is
                # when the request really starts, however long the slot took to free up.
                await self._in_flight.acquire()
                now = self._clock.monotonic()
                if bucket.ready_at() <= now:
                    token = [now]
                    bucket.sent.append(token)
                    return token
                self._in_flight.release()  # a 429 paused the bucket while we waited for the slot
        finally:
            # Whether we got through or were cancelled: leave the queue and, if we owned the
            # bucket, hand it to the next waiter. A cancelled waiter took no token and no slot.
            if bucket.waiters[0] is me:
                bucket.waiters.popleft()
                # The next one may be cancelled but not yet run: it then passes the bucket on.
                if bucket.waiters and not bucket.waiters[0].done():
                    bucket.waiters[0].set_result(None)
            else:
                bucket.waiters.remove(me)

    def _bucket(self, tier: int, scope: str) -> _Bucket:
        bucket = self._buckets.get((tier, scope))
        if bucket is None:
            rate = self._rates.get(tier)
            if rate is None:
                raise ValueError(f"unknown rate-limit tier {tier}; known tiers: {sorted(self._rates)}")
            if len(self._buckets) >= self._max_buckets:
                self._sweep()
            burst = self._bursts[tier]
            bucket = self._buckets[tier, scope] = _Bucket(burst, burst / rate * self._window)
        return bucket

    def _sweep(self) -> None:
        # Scopes come and go (one per signed user); an idle bucket is as good as a new one.
        now = self._clock.monotonic()
        for key in [key for key, bucket in self._buckets.items() if bucket.idle(now)]:
            del self._buckets[key]


class _Slot:
    """`async with limiter.slot(...)`: a plain class, as this runs on every call (an
    `asynccontextmanager` costs a generator and its machinery each time)."""

    __slots__ = ("_deadline", "_limiter", "_scope", "_tier", "_token")

    def __init__(self, limiter: RateLimiter, tier: int, scope: str, deadline: float | None) -> None:
        self._limiter = limiter
        self._tier = tier
        self._scope = scope
        self._deadline = deadline
        self._token: list[float] | None = None

    async def __aenter__(self) -> None:
        self._token = await self._limiter._take(self._tier, self._scope, self._deadline)

    async def __aexit__(self, *exc_info: object) -> None:
        self._limiter._give_back(self._token)
