"""The Tier 2 pacing case: 50 concurrent Tier 2 calls through AsyncKnock's default limiter.

Knock allows Tier 2 operations 5 requests per second per key, so 50 calls can at best go as
5 at once and 5 more every second: the last five start at 9 s. That is the ideal wall time;
the target is to come within 15 % of it without the server answering a single 429.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Final

import attrs

import knock_async.resources.users
from knock_async import AsyncKnock
from knock_async._types import Operation

from . import verdict
from .tier2 import Tier2StandIn

CALLS: Final = 50
RATE: Final = 5  # Knock's Tier 2: requests per second per key
IDEAL_SECONDS: Final = CALLS / RATE - 1  # the first five go at 0 s, the last five at 9 s
WALL_TOLERANCE: Final = 0.15
OPERATION_ID: Final = "users.delete"


@attrs.frozen
class PacingResult:
    calls: int
    succeeded: int
    wall: float
    rejected: int  # 429s the stand-in answered
    busiest_window: int  # most requests the stand-in served within one second
    tier: int

    @property
    def wall_ok(self) -> bool:
        return abs(self.wall - IDEAL_SECONDS) <= WALL_TOLERANCE * IDEAL_SECONDS


def operation(operation_id: str) -> Operation[Any]:
    """The generated Operation constant for `operation_id` (its tier is the limiter's input)."""
    for value in vars(knock_async.resources.users).values():
        if isinstance(value, Operation) and value.id == operation_id:
            return value
    raise LookupError(operation_id)


async def run_pacing(calls: int = CALLS) -> PacingResult:
    tier = operation(OPERATION_ID).tier
    # The default limiter and retries: exactly what an application gets out of the box.
    async with (
        Tier2StandIn(rate=RATE) as server,
        AsyncKnock("sk_bench_tier2", base_url=server.url) as knock,
    ):
        started = time.perf_counter()
        results = await asyncio.gather(
            *(knock.users.delete(f"user-{i}") for i in range(calls)), return_exceptions=True
        )
        wall = time.perf_counter() - started
    return PacingResult(
        calls=calls,
        succeeded=sum(1 for result in results if not isinstance(result, BaseException)),
        wall=wall,
        rejected=server.rejected,
        busiest_window=server.busiest_window(),
        tier=tier,
    )


def report(result: PacingResult) -> str:
    ceiling = IDEAL_SECONDS * (1 + WALL_TOLERANCE)
    wall_verdict = verdict(result.wall_ok)
    rejected_verdict = verdict(result.rejected == 0)
    over = (result.wall / IDEAL_SECONDS - 1) * 100
    lines = [
        f"Tier 2 pacing: {result.calls} concurrent {OPERATION_ID} calls (tier {result.tier}), "
        f"default RateLimiter, stand-in enforcing {RATE} requests per rolling second per key",
        f"  {'measure':<28} {'measured':>10} {'target':>22}  result",
        f"  {'wall time':<28} {result.wall:>9.2f}s {f'{IDEAL_SECONDS:.0f} s +/-15% (<= {ceiling:.2f} s)':>22}"
        f"  {wall_verdict} ({over:+.1f}% vs ideal)",
        f"  {'429s answered by server':<28} {result.rejected:>10} {'0':>22}  {rejected_verdict}",
        f"  {'calls succeeded':<28} {result.succeeded:>10} {result.calls:>22}  "
        f"{verdict(result.succeeded == result.calls)}",
        f"  {'most served in any 1 s':<28} {result.busiest_window:>10} {f'<= {RATE}':>22}",
    ]
    if result.tier != 2:
        lines.append(f"  WARNING: {OPERATION_ID} is tier {result.tier} in the generated code, not 2")
    return "\n".join(lines)
