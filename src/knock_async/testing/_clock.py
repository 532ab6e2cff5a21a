"""Time as the server sees it: an injectable `ServerClock` for delays, timestamps and expiry.

`SystemClock` runs delayed work on real asyncio timers; `ManualClock` only moves when a test
calls `advance()`, so a workflow delay of an hour takes no time at all in a test.

`ManualClock` is also a `knock_async.Clock` (the client's protocol: `monotonic`, `sleep`), so
one fake clock can drive a client (its backoff, pacing and bulk polling) and the server in the
same test: `AsyncKnock(..., clock=server_clock)`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import heapq
import itertools
from collections.abc import Callable
from typing import Protocol

UTC = dt.timezone.utc


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class ServerClock(Protocol):
    """What the server needs from time: the current instant and a way to run something later.

    (Not `knock_async.Clock`, the client's: monotonic seconds and an async sleep.)
    """

    def now(self) -> dt.datetime: ...

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle: ...


class SystemClock:
    """Wall-clock time and real asyncio timers: what the server uses when it runs normally."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(UTC)

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        return asyncio.get_running_loop().call_later(max(0.0, delay), callback)


class _ManualTimer:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    """A clock that stands still until `advance()`; due callbacks run inside `advance()`, in order.

    As a client's `knock_async.Clock`: `monotonic()` is the seconds advanced since it was
    made, and `await sleep(s)` returns once `advance()` has moved time `s` seconds on (the
    sleeper resumes at the loop's next turn, e.g. after `await asyncio.sleep(0)`).
    """

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._now = start or dt.datetime(2024, 1, 1, tzinfo=UTC)
        self._start = self._now
        self._timers: list[tuple[dt.datetime, int, _ManualTimer, Callable[[], None]]] = []
        self._order = itertools.count()  # ties run in scheduling order

    def now(self) -> dt.datetime:
        return self._now

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        timer = _ManualTimer()
        due = self._now + dt.timedelta(seconds=max(0.0, delay))
        heapq.heappush(self._timers, (due, next(self._order), timer, callback))
        return timer

    def advance(self, seconds: float) -> None:
        """Move time forward, running every callback that falls due on the way (at its due time)."""
        target = self._now + dt.timedelta(seconds=seconds)
        while self._timers and self._timers[0][0] <= target:
            due, _, timer, callback = heapq.heappop(self._timers)
            self._now = max(self._now, due)
            if not timer.cancelled:
                callback()
        self._now = target

    def monotonic(self) -> float:
        """Seconds advanced since this clock was made."""
        return (self._now - self._start).total_seconds()

    async def sleep(self, seconds: float) -> None:
        """Return once time has been advanced `seconds` past now; a cancelled sleep leaves no timer."""
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not woken.done():  # cancelled meanwhile
                woken.set_result(None)

        timer = self.call_later(seconds, wake)
        try:
            await woken
        finally:
            timer.cancel()

    @property
    def pending(self) -> int:
        """How many scheduled callbacks have not run (or been cancelled) yet."""
        return sum(1 for _, _, timer, _ in self._timers if not timer.cancelled)


def isoformat(moment: dt.datetime) -> str:
    """RFC 3339 in UTC with exactly six fraction digits and a `Z`, as Knock writes it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> dt.datetime:
    """Parse an RFC 3339 time; Python 3.10's fromisoformat does not take a `Z` suffix."""
    parsed = dt.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
