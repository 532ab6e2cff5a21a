"""Client CPU per call: knock-async beside raw aiohttp + `json` doing the same requests.

Both sides talk to the same canned server (another process) over one pooled connection,
send the same headers and read the same bytes. The raw side does only what any caller must:
one ClientSession, the request, `json.loads(await resp.read())`. Everything knock-async does
beyond that (URL and query building, idempotency keys, limit checks, error mapping,
structuring into attrs models, pagination) is what the ratio measures.

knock-async is measured twice: with the limiter off (`rate_limiter=None`) and as the default
client (limiter on). The limiter-on client has Knock's default rates raised so that no call
waits: waiting costs no CPU, only wall time, and the point is the limiter's own CPU.

CPU is `time.process_time()` of this process: waiting for the server costs nothing, and the
server's own work happens in its own process. Each side's figure is the median over many
short repetitions; the three sides' repetitions run back to back (rotating which goes first)
and each ratio is the median of the per-repetition ratios, so that drift in machine speed
(a shared VM, say) hits all sides of a repetition alike.
"""

from __future__ import annotations

import cProfile
import functools
import gc
import io
import json
import pstats
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

import aiohttp
import attrs

import knock_async
from knock_async import AsyncKnock, RateLimiter
from knock_async._ratelimit import DEFAULT_RATES

from . import payloads
from .canned import LAST_REQUEST_PATH

API_KEY: Final = "sk_bench_cpu"


@attrs.frozen
class Case:
    key: str
    title: str
    unit: str  # what one measured unit is: "call" or "page"
    target: float  # knock-async (limiter off) / raw ceiling
    reps: int
    sdk: Callable[[], Awaitable[int]]  # one repetition, limiter off; returns the units it did
    limited: Callable[[], Awaitable[int]]  # the same through the default client (limiter on)
    raw: Callable[[], Awaitable[int]]
    note: str = ""


@attrs.frozen
class Measurement:
    case: Case
    sdk_us: list[float]  # CPU µs per unit, one per repetition (limiter off)
    limited_us: list[float]  # the same, limiter on
    raw_us: list[float]

    @property
    def sdk(self) -> float:
        return statistics.median(self.sdk_us)

    @property
    def limited(self) -> float:
        return statistics.median(self.limited_us)

    @property
    def raw(self) -> float:
        return statistics.median(self.raw_us)

    @property
    def ratio(self) -> float:
        return _paired_ratio(self.sdk_us, self.raw_us)

    @property
    def limited_ratio(self) -> float:
        return _paired_ratio(self.limited_us, self.raw_us)

    @property
    def ratio_iqr(self) -> tuple[float, float]:
        """The middle half of the per-repetition ratios (limiter off): how much to trust `ratio`."""
        quartiles = statistics.quantiles([s / r for s, r in zip(self.sdk_us, self.raw_us, strict=True)], n=4)
        return quartiles[0], quartiles[2]

    @property
    def passed(self) -> bool:
        return self.ratio <= self.case.target


def _paired_ratio(sdk_us: list[float], raw_us: list[float]) -> float:
    # The sides of a repetition run back to back, so a change in machine speed (this is often
    # a shared VM) hits them alike: the median of the per-repetition ratios is steadier than
    # the ratio of the medians.
    return statistics.median(s / r for s, r in zip(sdk_us, raw_us, strict=True))


def _unpaced() -> RateLimiter:
    """The default limiter with every tier's rate raised out of reach: the same work per call
    (buckets, in-flight slots), no waiting."""
    return RateLimiter(rates=dict.fromkeys(DEFAULT_RATES, 1e9))


class Clients:
    """knock-async and the raw session, pointed at one canned server."""

    def __init__(self, base_url: str) -> None:
        # No client-side pacing (the feed is Tier 2: 5 per second) and no retries: a failure
        # must surface, not be retried into the timings.
        self.knock = AsyncKnock(API_KEY, base_url=base_url, rate_limiter=None, max_retries=0)
        self.knock_limited = AsyncKnock(API_KEY, base_url=base_url, rate_limiter=_unpaced(), max_retries=0)
        self.session = aiohttp.ClientSession()
        # What knock-async sends on every request (see Transport.__init__): the raw side sends
        # the same, so both put the same bytes on the wire.
        self.headers = {
            "Authorization": f"Bearer {API_KEY}",
            "User-Agent": f"knock-async/{knock_async.__version__}",
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        # knock-async makes a fresh Idempotency-Key per write; the raw side sends one of the
        # same length but a fixed one: making keys is knock-async's work, so it is counted there.
        self.write_headers = {**self.headers, "Idempotency-Key": "5f0c9d7e-2b1a-4c3d-8e9f-a0b1c2d3e4f5"}
        self.user_url = f"{base_url}/v1/users/{payloads.USER_ID}"
        self.trigger_url = f"{base_url}/v1/workflows/{payloads.WORKFLOW_KEY}/trigger"
        self.feed_url = f"{base_url}/v1/users/{payloads.USER_ID}/feeds/{payloads.FEED_CHANNEL_ID}"
        self.users_url = f"{base_url}/v1/users"
        self.last_request_url = f"{base_url}{LAST_REQUEST_PATH}"

    async def close(self) -> None:
        await self.knock.close()
        await self.knock_limited.close()
        await self.session.close()

    # --- one unit of each case, both ways --------------------------------------------------

    async def sdk_get(self, knock: AsyncKnock) -> Any:
        return await knock.users.get(payloads.USER_ID)

    async def raw_get(self) -> Any:
        async with self.session.get(self.user_url, headers=self.headers) as resp:
            return json.loads(await resp.read())

    async def sdk_trigger(self, knock: AsyncKnock) -> Any:
        return await knock.workflows.trigger(
            payloads.WORKFLOW_KEY, recipients=["user-1", "user-2"], data=payloads.TRIGGER_DATA
        )

    async def raw_trigger(self) -> Any:
        body = {"recipients": ["user-1", "user-2"], "data": payloads.TRIGGER_DATA}
        data = json.dumps(body, separators=(",", ":")).encode()  # compact, as knock-async sends it
        async with self.session.post(self.trigger_url, data=data, headers=self.write_headers) as resp:
            return json.loads(await resp.read())

    async def sdk_feed(self, knock: AsyncKnock) -> Any:
        return await knock.users.feeds.list_items(payloads.USER_ID, payloads.FEED_CHANNEL_ID)

    async def raw_feed(self) -> Any:
        async with self.session.get(self.feed_url, headers=self.headers) as resp:
            return json.loads(await resp.read())

    async def sdk_iterate(self, knock: AsyncKnock) -> int:
        """All 10,000 users; returns the pages fetched."""
        count = 0
        async for _user in knock.users.list(page_size=payloads.USERS_PAGE_SIZE):
            count += 1
        _expect(count == payloads.USERS_TOTAL, f"knock-async iterated {count} users")
        return payloads.USERS_PAGES

    async def raw_iterate(self) -> int:
        count = 0
        pages = 0
        params = {"page_size": str(payloads.USERS_PAGE_SIZE)}
        while True:
            async with self.session.get(self.users_url, params=params, headers=self.headers) as resp:
                page = json.loads(await resp.read())
            pages += 1
            for _user in page["entries"]:
                count += 1
            cursor = page["page_info"]["after"]
            if not cursor:
                break
            params = {"page_size": str(payloads.USERS_PAGE_SIZE), "after": cursor}
        _expect(count == payloads.USERS_TOTAL, f"raw aiohttp iterated {count} users")
        return pages

    async def _last_request(self) -> dict[str, Any]:
        async with self.session.get(self.last_request_url) as resp:
            last: dict[str, Any] = await resp.json()
        last["headers"] = dict(last["headers"])
        return last

    async def check(self) -> None:
        """Both sides get the right answers and send the same requests (outside the timings)."""
        user = await self.sdk_get(self.knock)
        sdk_request = await self._last_request()
        _expect(user.id == payloads.USER_ID and user.additional_properties == {"plan": "enterprise"}, "user")
        _expect((await self.raw_get())["id"] == payloads.USER_ID, "raw user")
        _expect(sdk_request == await self._last_request(), "the two sides send different GETs")

        run = await self.sdk_trigger(self.knock)
        sdk_request = await self._last_request()
        _expect(run.workflow_run_id == (await self.raw_trigger())["workflow_run_id"], "trigger")
        raw_request = await self._last_request()
        # The same but for the key's value: a fresh one per call on knock-async's side.
        sdk_key = sdk_request["headers"].pop("Idempotency-Key", "")
        _expect(len(sdk_key) == len(raw_request["headers"].pop("Idempotency-Key")), "idempotency key")
        _expect(sdk_request == raw_request, "the two sides send different POSTs")

        page = await self.sdk_feed(self.knock)
        _expect(len(page.items) == payloads.FEED_ITEMS == len((await self.raw_feed())["entries"]), "feed")
        _expect(page.next_cursor is not None, "feed cursor")
        await self.sdk_iterate(self.knock)
        sdk_request = await self._last_request()
        await self.sdk_iterate(self.knock_limited)
        _expect(sdk_request == await self._last_request(), "the limiter changes the requests")
        await self.raw_iterate()
        _expect(sdk_request == await self._last_request(), "the two sides fetch the last page differently")


def _expect(condition: bool, what: str) -> None:
    # Not `assert`: the check must hold under `python -O` too.
    if not condition:
        raise RuntimeError(f"benchmark self-check failed: {what}")


def _repeat(call: Callable[[], Awaitable[Any]], times: int) -> Callable[[], Awaitable[int]]:
    async def run() -> int:
        for _ in range(times):
            await call()
        return times

    return run


def cases(clients: Clients, *, scale: float = 1.0) -> list[Case]:
    """The four cases; `scale` multiplies the work per repetition (e.g. 0.2 for a quick look)."""

    def n(count: int) -> int:
        return max(1, round(count * scale))

    def sdk_sides(call: Callable[[AsyncKnock], Awaitable[Any]], times: int) -> dict[str, Any]:
        """`sdk` and `limited`: `call` on the client without and with the limiter."""
        return {
            "sdk": _repeat(functools.partial(call, clients.knock), times),
            "limited": _repeat(functools.partial(call, clients.knock_limited), times),
        }

    # Many short repetitions rather than a few long ones: see _paired_ratio.
    calls, feed_calls = n(150), n(15)
    return [
        Case(
            key="get",
            title='users.get("user-1")',
            unit="call",
            target=1.5,
            reps=41,
            **sdk_sides(clients.sdk_get, calls),
            raw=_repeat(clients.raw_get, calls),
        ),
        Case(
            key="trigger",
            title='workflows.trigger("new-comment")',
            unit="call",
            target=1.5,
            reps=41,
            **sdk_sides(clients.sdk_trigger, calls),
            raw=_repeat(clients.raw_trigger, calls),
            note="2 recipients, 5 data fields",
        ),
        Case(
            key="feed",
            title="users.feeds.list_items (1 page)",
            unit="call",
            target=1.5,
            reps=41,
            **sdk_sides(clients.sdk_feed, feed_calls),
            raw=_repeat(clients.raw_feed, feed_calls),
            note=f"{payloads.FEED_ITEMS} items, {len(payloads.feed_body()) / 1000:.0f} KB",
        ),
        Case(
            key="iterate",
            title="async for user in users.list()",
            unit="page",
            target=1.2,
            reps=max(3, n(15)),
            sdk=functools.partial(clients.sdk_iterate, clients.knock),
            limited=functools.partial(clients.sdk_iterate, clients.knock_limited),
            raw=clients.raw_iterate,
            note=f"{payloads.USERS_TOTAL} users, {payloads.USERS_PAGES} pages",
        ),
    ]


async def _cpu_us(run: Callable[[], Awaitable[int]]) -> float:
    # No gc.collect() here: the collector's work is part of a call's cost, and collecting
    # before every repetition would hide the part that builds up over many calls.
    started = time.process_time()
    units = await run()
    return (time.process_time() - started) / units * 1e6


async def measure(case: Case) -> Measurement:
    # Warm-up: connections open, cattrs hooks generated, caches filled.
    sides = {"sdk": case.sdk, "limited": case.limited, "raw": case.raw}
    for run in sides.values():
        await run()
    gc.collect()  # start from the same heap on every case
    us: dict[str, list[float]] = {name: [] for name in sides}
    order = list(sides)
    for _ in range(case.reps):
        for name in order:
            us[name].append(await _cpu_us(sides[name]))
        order = order[1:] + order[:1]  # each side goes first as often as the others
    return Measurement(case, us["sdk"], us["limited"], us["raw"])


async def profile(case: Case, *, top: int = 30) -> str:
    """cProfile of knock-async's side of `case` (after a warm-up), by own time and cumulative."""
    await case.sdk()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(case.reps):
        await case.sdk()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def table(results: list[Measurement]) -> str:
    header = (
        f"  {'case':<34} {'per':<5} {'raw aiohttp':>12} {'limiter off':>12} {'ratio':>6} "
        f"{'(middle half)':>13} {'target':>7}  result  {'limiter on':>12} {'ratio':>6}  notes"
    )
    lines = [header, "  " + "-" * (len(header) - 2)]
    for m in results:
        notes = m.case.note
        if m.case.unit == "page":
            size = payloads.USERS_PAGE_SIZE
            per_user = f"per user {m.sdk / size:.1f} vs {m.raw / size:.1f} µs"
            notes = f"{notes}; {per_user}" if notes else per_user
        low, high = m.ratio_iqr
        lines.append(
            f"  {m.case.title:<34} {m.case.unit:<5} {m.raw:>9.1f} µs {m.sdk:>9.1f} µs {m.ratio:>5.2f}x "
            f"{f'{low:.2f}-{high:.2f}x':>13} {f'<={m.case.target}x':>7}  "
            f"{'PASS' if m.passed else 'MISS':<6}  {m.limited:>9.1f} µs {m.limited_ratio:>5.2f}x  {notes}"
        )
    return "\n".join(lines)


async def run_cpu(base_url: str, *, scale: float = 1.0, only: str | None = None) -> list[Measurement]:
    clients = Clients(base_url)
    try:
        await clients.check()
        results = []
        for case in cases(clients, scale=scale):
            if only is None or case.key == only:
                results.append(await measure(case))
        return results
    finally:
        await clients.close()


async def run_profile(base_url: str, key: str, *, scale: float = 1.0) -> str:
    clients = Clients(base_url)
    try:
        (case,) = [case for case in cases(clients, scale=scale) if case.key == key]
        return await profile(case)
    finally:
        await clients.close()
