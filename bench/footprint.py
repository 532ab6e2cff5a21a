"""What knock-async costs before and beside the calls: import time, and the memory of models.

- Import: `import knock_async` against `import aiohttp` (which it needs anyway), each in a
  fresh interpreter, timed inside it (interpreter start-up is not counted); the runs of the
  two alternate, and the figures are medians. Both from bytecode, as installed packages are
  (pip compiles them): PYTHONDONTWRITEBYTECODE, should it be set, would make every run
  compile the SDK from source but not aiohttp. Target: at most aiohttp + 60 ms.
- Memory: a 50-item feed page as models against the same page as parsed JSON (`json.loads`),
  each measured by tracemalloc as what it keeps alive. Target: at most 2x.
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

from . import payloads

IMPORT_TARGET_MS: Final = 60.0
MEMORY_TARGET: Final = 2.0

_TIME_IMPORT = """
import sys, time
started = time.perf_counter()
import {module}
elapsed = time.perf_counter() - started
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


def _time_import(module: str) -> tuple[float, bool]:
    code = _TIME_IMPORT.format(module=module)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    command = [sys.executable, "-c", code]
    out = subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout
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


def report(imports: ImportTime, memory: Memory) -> str:
    built = "yes" if imports.models_built else "no"
    return "\n".join(
        [
            "Import and memory",
            f"  import knock_async: {imports.knock_ms:.0f} ms, import aiohttp {imports.aiohttp_ms:.0f} ms: "
            f"+{imports.extra_ms:.0f} ms (target <= +{IMPORT_TARGET_MS:.0f} ms)  "
            f"{'PASS' if imports.passed else 'MISS'}  (models built at import: {built}; medians of "
            "fresh interpreters, from bytecode)",
            f"  50-item feed page: models {memory.models_bytes / 1000:.0f} KB, parsed JSON "
            f"{memory.json_bytes / 1000:.0f} KB: {memory.ratio:.2f}x (target <= {MEMORY_TARGET:.0f}x)  "
            f"{'PASS' if memory.passed else 'MISS'}",
        ]
    )
