"""What knock-async costs before and beside the calls: a fresh process's first call, import
time, and the memory of models.

- Fresh process: import + client + first call (`users.get` against the canned server), in a
  fresh interpreter, against raw aiohttp + `json` doing the same (import, session, request):
  the process's CPU up to the parsed answer (the target's measure: waiting for the server and
  for the machine's other tenants costs none), and the wall time of each stage from before
  the first import. The runs of the two alternate, the figures are medians. Target: at most
  raw aiohttp + 40 ms.
- Import: `import knock_async` against `import aiohttp` (which it needs anyway), each in a
  fresh interpreter, its CPU timed inside it (interpreter start-up is not counted); the runs of the
  two alternate, and the figures are medians. Both from bytecode, as installed packages are
  (pip compiles them): PYTHONDONTWRITEBYTECODE, should it be set, would make every run
  compile the SDK from source but not aiohttp. Target: at most aiohttp + 60 ms.
- Memory: a 50-item feed page as models against the same page as parsed JSON (`json.loads`),
  each measured by tracemalloc as what it keeps alive. Target: at most 1x.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import subprocess
import sys
import tracemalloc
from typing import Any, Final

import attrs

from . import payloads, verdict

IMPORT_TARGET_MS: Final = 60.0
FRESH_TARGET_MS: Final = 40.0
MEMORY_TARGET: Final = 1.0

# Each prints three instants in ms since before the first import (imported, client made, answer
# parsed), then the process's CPU ms up to the answer, interpreter start-up included (the same
# for both sides). The first call is users.get, the cheapest read: what it needs, not every model.
_FRESH_KNOCK = """
import time
started = time.perf_counter()
import asyncio
import knock_async

async def main():
    async with knock_async.AsyncKnock("sk_bench_fresh", base_url={base_url!r}) as knock:
        made = time.perf_counter()
        user = await knock.users.get("user-1")
        done = time.perf_counter()
    assert user.id == "user-1"
    return made, done

imported = time.perf_counter()
made, done = asyncio.run(main())
print(*((t - started) * 1000 for t in (imported, made, done)), time.process_time() * 1000)
"""
_FRESH_RAW = """
import time
started = time.perf_counter()
import asyncio
import json
import aiohttp

async def main():
    async with aiohttp.ClientSession() as session:
        made = time.perf_counter()
        async with session.get({base_url!r} + "/v1/users/user-1", headers={headers!r}) as resp:
            user = json.loads(await resp.read())
        done = time.perf_counter()
    assert user["id"] == "user-1"
    return made, done

imported = time.perf_counter()
made, done = asyncio.run(main())
print(*((t - started) * 1000 for t in (imported, made, done)), time.process_time() * 1000)
"""

_TIME_IMPORT = """
import sys, time
started = time.process_time()
import {module}
elapsed = time.process_time() - started
print(elapsed * 1000, "knock_async.models._models" in sys.modules)
"""


@attrs.frozen
class ImportTime:
    aiohttp_ms: float
    knock_ms: float
    models_built: bool  # whether `import knock_async` built the model classes

    @property
    def extra_ms(self) -> float:
        return self.knock_ms - self.aiohttp_ms

    @property
    def passed(self) -> bool:
        return self.extra_ms <= IMPORT_TARGET_MS


def _python(code: str, *options: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return subprocess.run(
        [sys.executable, *options, "-c", code], capture_output=True, text=True, check=True, env=env
    )


def _time_import(module: str) -> tuple[float, bool]:
    out = _python(_TIME_IMPORT.format(module=module)).stdout
    ms, built = out.split()
    return float(ms), built == "True"


def import_time(runs: int = 15) -> ImportTime:
    _time_import("knock_async")  # warm the file system cache, write the bytecode
    aiohttp_ms, knock_ms, built = [], [], False
    for _ in range(runs):
        aiohttp_ms.append(_time_import("aiohttp")[0])
        ms, models_built = _time_import("knock_async")
        knock_ms.append(ms)
        built = built or models_built
    return ImportTime(statistics.median(aiohttp_ms), statistics.median(knock_ms), built)


@attrs.frozen
class FreshProcess:
    """Medians, in ms from before the first import: imported, client made, first answer parsed;
    then the CPU ms of the whole process up to the answer.

    The target is judged on CPU: on a shared machine, wall time measures the neighbours too
    (both are printed; on a quiet machine they agree within a few ms)."""

    raw_ms: tuple[float, float, float, float]
    knock_ms: tuple[float, float, float, float]

    @property
    def extra_ms(self) -> float:
        return self.knock_ms[3] - self.raw_ms[3]

    @property
    def extra_wall_ms(self) -> float:
        return self.knock_ms[2] - self.raw_ms[2]

    @property
    def passed(self) -> bool:
        return self.extra_ms <= FRESH_TARGET_MS


def _fresh(code: str) -> tuple[float, float, float, float]:
    imported, made, done, cpu = (float(ms) for ms in _python(code).stdout.split())
    return imported, made, done, cpu


def _medians(runs: list[tuple[float, float, float, float]]) -> tuple[float, float, float, float]:
    imported, made, done, cpu = (statistics.median(stage) for stage in zip(*runs, strict=True))
    return imported, made, done, cpu


def fresh_process(base_url: str, runs: int = 11) -> FreshProcess:
    from .cpu import knock_headers

    knock_code = _FRESH_KNOCK.format(base_url=base_url)
    raw_code = _FRESH_RAW.format(base_url=base_url, headers=knock_headers())
    _fresh(knock_code)  # warm the file system cache, write the bytecode
    raw, knock = [], []
    for _ in range(runs):
        raw.append(_fresh(raw_code))
        knock.append(_fresh(knock_code))
    return FreshProcess(_medians(raw), _medians(knock))


def import_profile(base_url: str, top: int = 25) -> str:
    """`-X importtime` of a fresh process's first call: the modules that cost the most."""
    stderr = _python(_FRESH_KNOCK.format(base_url=base_url), "-X", "importtime").stderr
    rows = []
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "self [us]" not in line:
            own_us, cumulative_us, module = line.removeprefix("import time:").split("|")
            rows.append((int(own_us), int(cumulative_us), module.rstrip()))
    total = sum(own for own, _, _ in rows)
    lines = [
        f"  -X importtime of a fresh first call: {total / 1000:.1f} ms over {len(rows)} modules; "
        "top by own time"
    ]
    lines.append(f"  {'own ms':>8} {'cumulative ms':>14}  module")
    for own, cumulative, name in sorted(rows, reverse=True)[:top]:
        lines.append(f"  {own / 1000:>8.1f} {cumulative / 1000:>14.1f}  {name}")
    return "\n".join(lines)


@attrs.frozen
class Memory:
    json_bytes: int
    models_bytes: int

    @property
    def ratio(self) -> float:
        return self.models_bytes / self.json_bytes

    @property
    def passed(self) -> bool:
        return self.ratio <= MEMORY_TARGET


def _kept_alive(make: Any) -> tuple[int, Any]:
    """The bytes that what `make()` returns keeps alive, and that value."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        value = make()
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before, value
    finally:
        tracemalloc.stop()


def feed_memory() -> Memory:
    from knock_async import models
    from knock_async._convert import converter, loads

    body = payloads.feed_body()
    page_type = models.ListFeedItemsResponse
    converter.structure(loads(body), page_type)  # hooks made outside the measurement
    json_bytes, _ = _kept_alive(lambda: json.loads(body))
    # The page as the SDK makes it: the parsed JSON is dropped, the models keep what they use.
    models_bytes, page = _kept_alive(lambda: converter.structure(loads(body), page_type))
    if len(page.entries) != payloads.FEED_ITEMS:
        raise RuntimeError("benchmark self-check failed: the feed page has the wrong items")
    return Memory(json_bytes, models_bytes)


def report(fresh: FreshProcess, imports: ImportTime, memory: Memory) -> str:
    built = "yes" if imports.models_built else "no"
    fresh_verdict = verdict(fresh.passed)
    stages = "imported / client made / first answer"
    raw = " / ".join(f"{ms:.0f}" for ms in fresh.raw_ms[:3])
    knock = " / ".join(f"{ms:.0f}" for ms in fresh.knock_ms[:3])
    return "\n".join(
        [
            "Fresh process, import and memory",
            "  fresh process, import + client + first users.get (medians):",
            f"    CPU: raw aiohttp + json {fresh.raw_ms[3]:.0f} ms, knock-async {fresh.knock_ms[3]:.0f} ms: "
            f"+{fresh.extra_ms:.0f} ms (target <= +{FRESH_TARGET_MS:.0f} ms)  {fresh_verdict}",
            f"    wall ({stages}): raw {raw} ms, knock-async {knock} ms: +{fresh.extra_wall_ms:.0f} ms",
            f"  import knock_async: {imports.knock_ms:.0f} ms, import aiohttp {imports.aiohttp_ms:.0f} ms: "
            f"+{imports.extra_ms:.0f} ms (target <= +{IMPORT_TARGET_MS:.0f} ms)  "
            f"{verdict(imports.passed)}  (models built at import: {built}; medians of "
            "fresh interpreters, CPU, from bytecode)",
            f"  50-item feed page: models {memory.models_bytes / 1000:.0f} KB, parsed JSON "
            f"{memory.json_bytes / 1000:.0f} KB: {memory.ratio:.2f}x (target <= {MEMORY_TARGET:.0f}x)  "
            f"{verdict(memory.passed)}",
        ]
    )
