"""Time as the client sees it: one seam for the transport, both limiters and the bulk helpers.

A `Clock` tells the time (`monotonic`, seconds on a clock that never goes back) and waits
(`sleep`). The client's `ClientConfig.clock` is handed to everything that waits, so a test can
give it `knock_async.testing.ManualClock` and drive backoff, pacing and bulk polling, and the
embedded server, with one fake clock.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Coroutine
from typing import Any, Final, Protocol, TypeVar

T = TypeVar("T")


class Clock(Protocol):
    """What the client needs from time."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back; only differences between readings matter."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Return once `seconds` have passed on this clock."""
        ...


class RealClock:
    """`time.monotonic` and `asyncio.sleep`: the clock of every client unless told otherwise."""

    __slots__ = ()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def __repr__(self) -> str:
        return "RealClock()"


REAL_CLOCK: Final = RealClock()


class Elapsed(TimeoutError):
    """`within`'s own timeout (a TimeoutError), told apart from one the awaited call raised."""


# The one way the runtime bounds an awaitable by a span of real time.
if sys.version_info >= (3, 11):

    async def within(seconds: float, call: Coroutine[Any, Any, T]) -> T:
        """`await call`, cancelling it and raising `Elapsed` after `seconds`."""
        try:
            async with asyncio.timeout(seconds) as scope:
                return await call
        except TimeoutError:
            if scope.expired():
                raise Elapsed(f"not done within {seconds:g} s") from None
            raise

else:  # 3.10 has no asyncio.timeout; wait_for runs the call in a task of its own

    async def within(seconds: float, call: Coroutine[Any, Any, T]) -> T:
        """`await call`, cancelling it and raising `Elapsed` after `seconds`."""
        try:
            return await asyncio.wait_for(call, seconds)
        except asyncio.TimeoutError as exc:
            if type(exc) is asyncio.TimeoutError:  # wait_for's own; the call's are subclasses
                raise Elapsed(f"not done within {seconds:g} s") from None
            raise
