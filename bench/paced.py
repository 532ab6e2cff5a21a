"""The default client pacing a burst by tier, against raw aiohttp paced by hand with aiolimiter.

Each workload is a burst bigger than its tier allows in one second (twice or three times the
rate), so that both sides really pace: knock-async through its default `RateLimiter` (Knock's
rates, its in-flight cap of 64), raw aiohttp through an `aiolimiter.AsyncLimiter` at the same
rate, with a connection pool capped at the same 64. Both read JSON with the reader
knock-async uses in this process. Measured: CPU per unit (`time.process_time()`: waiting
costs none; the mean over the repetitions, see PacedMeasurement.ratio) and the wall time of
the burst (median), per side, sides alternating; before each side the
bench sleeps until both limiters are full again, so that each side starts from the same state.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

import aiohttp
import attrs
from aiolimiter import AsyncLimiter

import knock_async.resources.users
import knock_async.resources.workflows
from knock_async import AsyncKnock
from knock_async._convert import JSON_LIBRARY
from knock_async._ratelimit import DEFAULT_MAX_IN_FLIGHT, DEFAULT_RATES, DEFAULT_WINDOW
from knock_async._types import Operation

from . import payloads, verdict
from .cpu import API_KEY, RawCalls, SdkCalls, raw_loads

TARGET: Final = 1.10  # default client / raw aiohttp + aiolimiter, on each workload
REFILL_SECONDS: Final = DEFAULT_WINDOW + 0.2  # both limiters are full again after this idle time
_RESOURCES: Final = (knock_async.resources.users, knock_async.resources.workflows)


def tier_of(operation_id: str) -> int:
    """The tier of the generated Operation constant for `operation_id` (the limiter's input)."""
    for module in _RESOURCES:
        for value in vars(module).values():
            if isinstance(value, Operation) and value.id == operation_id:
                return value.tier
    raise LookupError(operation_id)


@attrs.frozen
class Workload:
    key: str
    title: str
    operation_id: str
    units: int  # calls (or pages) in one burst
    unit: str
    sdk: Callable[[SdkCalls], Awaitable[Any]]  # one call (or one pass over the users)
    raw: Callable[[RawCalls, AsyncLimiter], Awaitable[Any]]
    concurrent: bool = True  # False: the passes run one after another (paging)

    @property
    def rate(self) -> float:
        return DEFAULT_RATES[tier_of(self.operation_id)]


async def _raw_paced(limiter: AsyncLimiter, call: Callable[[], Awaitable[Any]]) -> Any:
    async with limiter:
        return await call()


async def _raw_pages(raw: RawCalls, limiter: AsyncLimiter) -> int:
    """All 10,000 users, each page fetched inside the limiter."""
    count, after = 0, None
    while True:
        async with limiter:
            entries, after = await raw.page(after)
        for _user in entries:
            count += 1
        if not after:
            break
    if count != payloads.USERS_TOTAL:
        raise RuntimeError(f"benchmark self-check failed: raw aiohttp iterated {count} users")
    return count


WORKLOADS: Final = (
    Workload(
        "get", 'users.get("user-1")', "users.get", 400, "call", SdkCalls.get,
        lambda raw, limiter: _raw_paced(limiter, raw.get),
    ),
    Workload(
        "trigger", 'workflows.trigger("new-comment")', "workflows.trigger", 2000, "call",
        SdkCalls.trigger, lambda raw, limiter: _raw_paced(limiter, raw.trigger),
    ),
    Workload(
        "feed", "users.feeds.list_items (1 page)", "users.feeds.list_items", 20, "call", SdkCalls.feed,
        lambda raw, limiter: _raw_paced(limiter, raw.feed),
    ),
    Workload(
        "iterate", "async for user in users.list(), twice", "users.list", 2 * payloads.USERS_PAGES, "page",
        SdkCalls.iterate, _raw_pages, concurrent=False,
    ),
)  # fmt: skip


@attrs.frozen
class PacedMeasurement:
    workload: Workload
    sdk_us: list[float]  # CPU µs per unit, one per repetition
    raw_us: list[float]
    sdk_wall: list[float]  # seconds per burst
    raw_wall: list[float]

    @property
    def sdk(self) -> float:
        return statistics.fmean(self.sdk_us)

    @property
    def raw(self) -> float:
        return statistics.fmean(self.raw_us)

    @property
    def ratio(self) -> float:
        # Means, not medians: a burst that holds many responses at once sets off a full
        # collection in some repetitions and not others. That cost is real and comes at a
        # rate; a median would count it as all or nothing.
        return self.sdk / self.raw

    @property
    def passed(self) -> bool:
        return self.ratio <= TARGET


async def _burst(workload: Workload, one: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    """CPU µs per unit and wall seconds of one burst; starts once the limiters are full."""
    await asyncio.sleep(REFILL_SECONDS)
    cpu_started, wall_started = time.process_time(), time.perf_counter()
    if workload.concurrent:
        await asyncio.gather(*(one() for _ in range(workload.units)))
    else:
        for _ in range(workload.units // payloads.USERS_PAGES):
            await one()
    wall = time.perf_counter() - wall_started
    return (time.process_time() - cpu_started) / workload.units * 1e6, wall


async def _measure(workload: Workload, base_url: str, reps: int) -> PacedMeasurement:
    # A fresh client and limiter per workload: no workload starts with another's buckets.
    limiter = AsyncLimiter(workload.rate, 1.0)
    connector = aiohttp.TCPConnector(limit=DEFAULT_MAX_IN_FLIGHT)
    async with (
        AsyncKnock(API_KEY, base_url=base_url) as knock,
        aiohttp.ClientSession(connector=connector) as session,
    ):
        sdk, raw = SdkCalls(knock), RawCalls(base_url, session, raw_loads(JSON_LIBRARY))
        sides: list[tuple[Callable[[], Awaitable[Any]], tuple[list[float], list[float]]]] = [
            (lambda: workload.sdk(sdk), ([], [])),
            (lambda: workload.raw(raw, limiter), ([], [])),
        ]
        for one, _ in sides:  # warm-up: connections open, models built, hooks made
            await _burst(workload, one)
        for rep in range(reps):
            for one, (cpu_us, walls) in sides if rep % 2 == 0 else sides[::-1]:
                us, wall = await _burst(workload, one)
                cpu_us.append(us)
                walls.append(wall)
    (sdk_us, sdk_wall), (raw_us, raw_wall) = (figures for _, figures in sides)
    return PacedMeasurement(workload, sdk_us, raw_us, sdk_wall, raw_wall)


async def run_paced(base_url: str, *, reps: int = 5, only: str | None = None) -> list[PacedMeasurement]:
    return [
        await _measure(workload, base_url, reps)
        for workload in WORKLOADS
        if only is None or workload.key == only
    ]


def table(results: list[PacedMeasurement]) -> str:
    header = (
        f"  {'workload':<40} {'tier':>4} {'rate':>6} {'burst':>6} {'raw+aiolimiter':>15} "
        f"{'default client':>15} {'ratio':>6} {'target':>8}  result  {'wall raw / client':>18}"
    )
    lines = [header, "  " + "-" * (len(header) - 2)]
    for m in results:
        w = m.workload
        walls = f"{statistics.median(m.raw_wall):.2f} / {statistics.median(m.sdk_wall):.2f} s"
        lines.append(
            f"  {w.title:<40} {tier_of(w.operation_id):>4} {w.rate:>4.0f}/s {w.units:>6} "
            f"{m.raw:>9.1f} µs/{w.unit[0]} {m.sdk:>9.1f} µs/{w.unit[0]} "
            f"{m.ratio:>5.2f}x {f'<={TARGET:.2f}x':>8}  {verdict(m.passed):<6}  {walls:>18}"
        )
    return "\n".join(lines)
