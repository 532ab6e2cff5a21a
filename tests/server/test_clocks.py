"""The two clock protocols: the client's `knock_async.Clock` (monotonic + async sleep) and the
server's `knock_async.testing.ServerClock` (now + call_later). `ManualClock` is both, so one
fake clock drives a client and the server; mypy --strict checks it, on code a user would write."""

from __future__ import annotations

import asyncio
from pathlib import Path

from knock_async.testing import ManualClock
from tests.helpers import type_check

BOTH = """
from knock_async import Clock
from knock_async.testing import ManualClock, ServerClock, SystemClock

fake = ManualClock()
client_clock: Clock = fake
server_clock: ServerClock = fake
real: ServerClock = SystemClock()
"""

SYSTEM_AS_CLIENT_CLOCK = """
from knock_async import Clock
from knock_async.testing import SystemClock

client_clock: Clock = SystemClock()
"""


def test_manual_clock_is_both_clocks(tmp_path: Path) -> None:
    stdout, status = type_check(tmp_path, BOTH)
    assert status == 0, stdout


def test_the_server_clock_is_not_a_client_clock(tmp_path: Path) -> None:
    stdout, status = type_check(tmp_path, SYSTEM_AS_CLIENT_CLOCK)
    assert status == 1
    assert 'has type "SystemClock", variable has type "Clock"' in stdout


async def test_one_manual_clock_moves_a_client_sleep_and_a_server_timer() -> None:
    clock = ManualClock()
    fired: list[float] = []
    clock.call_later(5, lambda: fired.append(clock.monotonic()))
    sleeper = asyncio.ensure_future(clock.sleep(5))
    await asyncio.sleep(0)
    clock.advance(5)
    await asyncio.wait_for(sleeper, 1)
    assert fired == [5.0] and clock.monotonic() == 5.0
