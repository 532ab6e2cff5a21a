"""`python -m bench`: client CPU per call against raw aiohttp, import time and memory, the
Tier 2 pacing case, and the fleet (RedisRateLimiter).

Always exits 0: this is a measurement. Each target is marked PASS or MISS in the output.

    python -m bench                  # everything (about a minute on 2 cores)
    python -m bench --only feed      # one CPU case (get, trigger, feed, iterate)
    python -m bench --no-pacing      # skip the 10 s Tier 2 case
    python -m bench --no-footprint   # skip import time and memory
    python -m bench --no-fleet       # skip the 20 s fleet case (RedisRateLimiter, 4 processes)
    python -m bench --profile feed   # cProfile of knock-async's side of one case
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

import knock_async
from knock_async._convert import FAST_PATH, JSON_LIBRARY

from . import cpu, fleet, footprint, pacing
from .canned import canned_server

CASE_KEYS = ("get", "trigger", "feed", "iterate")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=CASE_KEYS, help="run one CPU case")
    parser.add_argument("--profile", choices=CASE_KEYS, help="profile knock-async on one case instead")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the calls per repetition")
    parser.add_argument("--no-cpu", action="store_true", help="skip the CPU cases")
    parser.add_argument("--no-pacing", action="store_true", help="skip the Tier 2 pacing case")
    parser.add_argument("--no-footprint", action="store_true", help="skip import time and memory")
    parser.add_argument("--no-fleet", action="store_true", help="skip the 20 s fleet case (RedisRateLimiter)")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    print(
        f"knock-async {knock_async.__version__}, aiohttp {aiohttp.__version__}, "
        f"Python {platform.python_version()} ({platform.machine()}, {os.cpu_count()} CPUs); "
        f"responses read by {JSON_LIBRARY}; converter fast path {'on' if FAST_PATH else 'OFF'}"
    )
    if args.profile:
        with canned_server() as base_url:
            print(asyncio.run(cpu.run_profile(base_url, args.profile, scale=args.scale)))
        return 0

    if not args.no_cpu:
        print(
            "\nClient CPU per unit (time.process_time, median of the repetitions; the canned "
            "server runs in another process)"
        )
        with canned_server() as base_url:
            results = asyncio.run(cpu.run_cpu(base_url, scale=args.scale, only=args.only))
        print(cpu.table(results))
        print(
            "  µs: median CPU per unit over the repetitions. ratio: median of the per-repetition\n"
            "  ratios (each pair runs back to back, so machine-speed drift cancels); the middle half\n"
            "  of those ratios shows the noise. Raw: one ClientSession, the same headers,\n"
            "  json.loads(await resp.read()); knock-async: max_retries=0, limiter off (rate_limiter=None)\n"
            "  or on (the default limiter, its rates raised so that no call waits)."
        )

    if not args.no_footprint and args.only is None:
        print()
        print(footprint.report(footprint.import_time(), footprint.feed_memory()))

    if not args.no_pacing and args.only is None:
        print()
        print(pacing.report(asyncio.run(pacing.run_pacing())))

    if not args.no_fleet and args.only is None:
        print()
        print(run_fleet_cases())

    print(f"\nTotal run time {time.perf_counter() - started:.0f} s. Exit status 0: this is a measurement.")
    return 0


def run_fleet_cases() -> str:
    """RedisRateLimiter: its overhead per call, then 4 processes sharing one Tier 2 budget."""
    binary = shutil.which("redis-server")
    if binary is None:
        return "Fleet cases: skipped, redis-server is not installed (`make test` installs it)"
    with tempfile.TemporaryDirectory() as directory:
        redis = fleet.RedisServer(binary, Path(directory))
        redis.start()
        try:
            overhead = asyncio.run(fleet.run_overhead(redis.url))
            run = asyncio.run(fleet.run_fleet(redis.url, processes=4, calls=25))
        finally:
            redis.stop()
    verdict = "PASS" if run.rejected == 0 and abs(run.wall / run.ideal - 1) <= 0.1 else "MISS"
    return "\n".join(
        [
            fleet.overhead_report(overhead),
            fleet.report(run, "Fleet"),
            f"  target: 0 429s, wall within 10 %: {verdict}",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
