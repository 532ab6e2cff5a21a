"""Client CPU per call, limiter off: knock-async beside raw aiohttp doing the same requests.

Both sides talk to the same canned server (another process) over one pooled connection,
send the same headers and read the same bytes. The raw side does only what any caller must:
one ClientSession, the request, `loads(await resp.read())`, with the JSON reader knock-async
uses in that run (`json`, or orjson with the `fast` extra: like is compared with like).
Everything knock-async does beyond that (URL and query building, idempotency keys, limit
checks, error mapping, structuring into attrs models, pagination) is what the ratio measures.

knock-async picks its JSON reader when it is imported, so each reader's table runs in a process
of its own (`bench.cpu_run`); without the `fast` extra is simulated there by making
`import orjson` fail before knock-async is imported.

CPU is `time.process_time()` of this process: waiting for the server costs nothing, and the
server's own work happens in its own process. Each side's figure is the median over many
short repetitions; the two sides' repetitions alternate (each goes first as often as the
other) and each ratio is the median of the per-repetition ratios, so that drift in machine
speed (a shared VM, say) hits both sides of a repetition alike.
"""

from __future__ import annotations

import cProfile
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
from knock_async import AsyncKnock

from . import payloads, verdict
from .canned import LAST_REQUEST_PATH

API_KEY: Final = "sk_bench_cpu"
# Issue 20's ceilings for knock-async (limiter off) / raw aiohttp, by JSON reader.
TARGETS: Final[dict[str, dict[str, float]]] = {
    "json": {"get": 1.05, "trigger": 1.10, "feed": 1.5, "iterate": 1.15},
    "orjson": {"get": 1.05, "trigger": 1.10, "feed": 1.25, "iterate": 1.15},
}


def raw_loads(json_library: str) -> Callable[[bytes], Any]:
    """The raw side's JSON reader: the library itself, with none of knock-async's checks."""
    if json_library == "orjson":
        import orjson

        return orjson.loads
    return json.loads


@attrs.frozen
class Case:
    key: str
    title: str
    unit: str  # what one measured unit is: "call" or "page"
    reps: int
    sdk: Callable[[], Awaitable[int]]  # one repetition, limiter off; returns the units it did
    raw: Callable[[], Awaitable[int]]
    note: str = ""


@attrs.frozen
class Measurement:
    """Plain data, so that it crosses from the `bench.cpu_run` process as JSON."""

    key: str
    title: str
    unit: str
    note: str
    json_library: str
    sdk_us: list[float]  # CPU µs per unit, one per repetition
    raw_us: list[float]

    @property
    def target(self) -> float:
        return TARGETS[self.json_library][self.key]

    @property
    def sdk(self) -> float:
        return statistics.median(self.sdk_us)

    @property
    def raw(self) -> float:
        return statistics.median(self.raw_us)

    @property
    def ratio(self) -> float:
        return paired_ratio(self.sdk_us, self.raw_us)

    @property
    def ratio_iqr(self) -> tuple[float, float]:
        """The middle half of the per-repetition ratios: how much to trust `ratio`."""
        quartiles = statistics.quantiles([s / r for s, r in zip(self.sdk_us, self.raw_us, strict=True)], n=4)
        return quartiles[0], quartiles[2]

    @property
    def passed(self) -> bool:
        return self.ratio <= self.target


def paired_ratio(sdk_us: list[float], raw_us: list[float]) -> float:
    # The sides of a repetition run back to back, so a change in machine speed (this is often
    # a shared VM) hits them alike: the median of the per-repetition ratios is steadier than
    # the ratio of the medians.
    return statistics.median(s / r for s, r in zip(sdk_us, raw_us, strict=True))


def knock_headers() -> dict[str, str]:
    """What knock-async sends on every request (see Transport.__init__): the raw sides send
    the same, so both put the same bytes on the wire."""
    return {
        "Authorization": f"Bearer {API_KEY}",
        "User-Agent": f"knock-async/{knock_async.__version__}",
        "Accept": "application/json",
        "Content-Type": "application/json",
    }


class RawCalls:
    """The four requests as a caller of raw aiohttp makes them; shared with `bench.paced`."""

    def __init__(self, base_url: str, session: aiohttp.ClientSession, loads: Callable[[bytes], Any]) -> None:
        self.session = session
        self.loads = loads
        self.headers = knock_headers()
        # knock-async makes a fresh Idempotency-Key per write; the raw side sends one of the
        # same length but a fixed one: making keys is knock-async's work, so it is counted there.
        self.write_headers = {**self.headers, "Idempotency-Key": "5f0c9d7e-2b1a-4c3d-8e9f-a0b1c2d3e4f5"}
        self.user_url = f"{base_url}/v1/users/{payloads.USER_ID}"
        self.trigger_url = f"{base_url}/v1/workflows/{payloads.WORKFLOW_KEY}/trigger"
        self.feed_url = f"{base_url}/v1/users/{payloads.USER_ID}/feeds/{payloads.FEED_CHANNEL_ID}"
        self.users_url = f"{base_url}/v1/users"

    async def get(self) -> Any:
        async with self.session.get(self.user_url, headers=self.headers) as resp:
            return self.loads(await resp.read())

    async def trigger(self) -> Any:
        body = {"recipients": ["user-1", "user-2"], "data": payloads.TRIGGER_DATA}
        data = json.dumps(body, separators=(",", ":")).encode()  # compact, as knock-async sends it
        async with self.session.post(self.trigger_url, data=data, headers=self.write_headers) as resp:
            return self.loads(await resp.read())

    async def feed(self) -> Any:
        async with self.session.get(self.feed_url, headers=self.headers) as resp:
            return self.loads(await resp.read())

    async def page(self, after: str | None) -> tuple[list[Any], str | None]:
        """One page of users.list: its entries and the next page's cursor."""
        params = {"page_size": str(payloads.USERS_PAGE_SIZE)}
        if after:
            params["after"] = after
        async with self.session.get(self.users_url, params=params, headers=self.headers) as resp:
            page = self.loads(await resp.read())
        entries: list[Any] = page["entries"]
        return entries, page["page_info"]["after"]

    async def iterate(self) -> int:
        """All 10,000 users; returns the pages fetched."""
        count, pages, after = 0, 0, None
        while True:
            entries, after = await self.page(after)
            pages += 1
            for _user in entries:
                count += 1
            if not after:
                break
        expect(count == payloads.USERS_TOTAL, f"raw aiohttp iterated {count} users")
        return pages


class SdkCalls:
    """The four requests through knock-async; shared with `bench.paced`."""

    def __init__(self, knock: AsyncKnock) -> None:
        self.knock = knock

    async def get(self) -> Any:
        return await self.knock.users.get(payloads.USER_ID)

    async def trigger(self) -> Any:
        return await self.knock.workflows.trigger(
            payloads.WORKFLOW_KEY, recipients=["user-1", "user-2"], data=payloads.TRIGGER_DATA
        )

    async def feed(self) -> Any:
        return await self.knock.users.feeds.list_items(payloads.USER_ID, payloads.FEED_CHANNEL_ID)

    async def iterate(self) -> int:
        """All 10,000 users; returns the pages fetched."""
        count = 0
        async for _user in self.knock.users.list(page_size=payloads.USERS_PAGE_SIZE):
            count += 1
        expect(count == payloads.USERS_TOTAL, f"knock-async iterated {count} users")
        return payloads.USERS_PAGES


class Clients:
    """knock-async (limiter off) and the raw session, pointed at one canned server."""

    def __init__(self, base_url: str, json_library: str) -> None:
        # No client-side pacing and no retries: a failure must surface, not be retried into
        # the timings.
        self.knock = AsyncKnock(API_KEY, base_url=base_url, rate_limiter=None, max_retries=0)
        self.session = aiohttp.ClientSession()
        self.sdk = SdkCalls(self.knock)
        self.raw = RawCalls(base_url, self.session, raw_loads(json_library))
        self.last_request_url = f"{base_url}{LAST_REQUEST_PATH}"

    async def close(self) -> None:
        await self.knock.close()
        await self.session.close()

    async def _last_request(self) -> dict[str, Any]:
        async with self.session.get(self.last_request_url) as resp:
            last: dict[str, Any] = await resp.json()
        last["headers"] = dict(last["headers"])
        return last

    async def check(self) -> None:
        """Both sides get the right answers and send the same requests (outside the timings)."""
        user = await self.sdk.get()
        sdk_request = await self._last_request()
        expect(user.id == payloads.USER_ID and user.additional_properties == {"plan": "enterprise"}, "user")
        expect((await self.raw.get())["id"] == payloads.USER_ID, "raw user")
        expect(sdk_request == await self._last_request(), "the two sides send different GETs")

        run = await self.sdk.trigger()
        sdk_request = await self._last_request()
        expect(run.workflow_run_id == (await self.raw.trigger())["workflow_run_id"], "trigger")
        raw_request = await self._last_request()
        # The same but for the key's value: a fresh one per call on knock-async's side.
        sdk_key = sdk_request["headers"].pop("Idempotency-Key", "")
        expect(len(sdk_key) == len(raw_request["headers"].pop("Idempotency-Key")), "idempotency key")
        expect(sdk_request == raw_request, "the two sides send different POSTs")

        page = await self.sdk.feed()
        expect(len(page.items) == payloads.FEED_ITEMS == len((await self.raw.feed())["entries"]), "feed")
        expect(page.next_cursor is not None, "feed cursor")
        await self.sdk.iterate()
        sdk_request = await self._last_request()
        await self.raw.iterate()
        expect(sdk_request == await self._last_request(), "the two sides fetch the last page differently")


def expect(condition: bool, what: str) -> None:
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

    sdk, raw = clients.sdk, clients.raw
    # Many short repetitions rather than a few long ones: see paired_ratio.
    calls, feed_calls = n(150), n(15)
    return [
        Case("get", 'users.get("user-1")', "call", 41, _repeat(sdk.get, calls), _repeat(raw.get, calls)),
        Case(
            "trigger",
            'workflows.trigger("new-comment")',
            "call",
            41,
            _repeat(sdk.trigger, calls),
            _repeat(raw.trigger, calls),
            note="2 recipients, 5 data fields",
        ),
        Case(
            "feed",
            "users.feeds.list_items (1 page)",
            "call",
            41,
            _repeat(sdk.feed, feed_calls),
            _repeat(raw.feed, feed_calls),
            note=f"{payloads.FEED_ITEMS} items, {len(payloads.feed_body()) / 1000:.0f} KB",
        ),
        Case(
            "iterate",
            "async for user in users.list()",
            "page",
            max(3, n(15)),
            sdk.iterate,
            raw.iterate,
            note=f"{payloads.USERS_TOTAL} users, {payloads.USERS_PAGES} pages",
        ),
    ]


async def _cpu_us(run: Callable[[], Awaitable[int]]) -> float:
    # No gc.collect() here: the collector's work is part of a call's cost, and collecting
    # before every repetition would hide the part that builds up over many calls.
    started = time.process_time()
    units = await run()
    return (time.process_time() - started) / units * 1e6


async def measure(case: Case, json_library: str) -> Measurement:
    # Warm-up: connections open, cattrs hooks generated, caches filled.
    await case.sdk()
    await case.raw()
    gc.collect()  # start from the same heap on every case
    sdk_us: list[float] = []
    raw_us: list[float] = []
    for rep in range(case.reps):
        sides = [(case.sdk, sdk_us), (case.raw, raw_us)]
        for run, into in sides if rep % 2 == 0 else sides[::-1]:  # each side goes first as often
            into.append(await _cpu_us(run))
    return Measurement(case.key, case.title, case.unit, case.note, json_library, sdk_us, raw_us)


async def profile(case: Case, *, top: int = 30) -> str:
    """cProfile of knock-async's side of `case` (after a warm-up), by own time and cumulative."""
    await case.sdk()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(case.reps):
        await case.sdk()
    profiler.disable()
    return stats_text(profiler, top)


def stats_text(profiler: cProfile.Profile, top: int) -> str:
    """A profile's `top` functions by own time, then by cumulative time."""
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def table(results: list[Measurement]) -> str:
    header = (
        f"  {'case':<34} {'JSON':<7} {'per':<5} {'raw aiohttp':>12} {'knock-async':>12} {'ratio':>6} "
        f"{'(middle half)':>13} {'target':>8}  result  notes"
    )
    lines = [header, "  " + "-" * (len(header) - 2)]
    for m in results:
        notes = m.note
        if m.unit == "page":
            size = payloads.USERS_PAGE_SIZE
            per_user = f"per user {m.sdk / size:.1f} vs {m.raw / size:.1f} µs"
            notes = f"{notes}; {per_user}" if notes else per_user
        low, high = m.ratio_iqr
        lines.append(
            f"  {m.title:<34} {m.json_library:<7} {m.unit:<5} {m.raw:>9.1f} µs {m.sdk:>9.1f} µs "
            f"{m.ratio:>5.2f}x {f'{low:.2f}-{high:.2f}x':>13} {f'<={m.target:.2f}x':>8}  "
            f"{verdict(m.passed):<6}  {notes}"
        )
    return "\n".join(lines)


async def run_cpu(
    base_url: str, json_library: str, *, scale: float = 1.0, only: str | None = None
) -> list[Measurement]:
    clients = Clients(base_url, json_library)
    try:
        await clients.check()
        results = []
        for case in cases(clients, scale=scale):
            if only is None or case.key == only:
                results.append(await measure(case, json_library))
        return results
    finally:
        await clients.close()


async def run_profile(base_url: str, key: str, *, scale: float = 1.0) -> str:
    clients = Clients(base_url, "json")
    try:
        (case,) = [case for case in cases(clients, scale=scale) if case.key == key]
        return await profile(case)
    finally:
        await clients.close()
