"""`python -m bench`: knock-async against its floor on every workload of issue 20, in one run.

Always exits 0: this is a measurement. Each target is marked met or MISSED in the output.

    python -m bench                  # everything (a few minutes on 2 cores)
    python -m bench --only feed      # one workload (get, trigger, feed, iterate) in both tables
    python -m bench --no-cpu         # skip the limiter-off table (json and orjson)
    python -m bench --no-paced       # skip the paced table (default client vs aiolimiter)
    python -m bench --no-footprint   # skip the fresh process, import time and memory
    python -m bench --no-pacing      # skip the 10 s Tier 2 case
    python -m bench --no-fleet       # skip the 20 s fleet case (RedisRateLimiter, 4 processes)
    python -m bench --profile feed   # cProfile of knock-async's side of one workload (limiter off)
    python -m bench --profile paced-feed   # the same through the default client, paced
    python -m bench --profile import # -X importtime of a fresh process's first call
    python -m bench --profile steps  # each step of the request path timed alone
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

import knock_async
from knock_async._convert import JSON_LIBRARY

from . import cpu, cpu_run, fleet, footprint, paced, pacing, steps, validation, verdict
from .canned import canned_server

CASE_KEYS = ("get", "trigger", "feed", "iterate")
PROFILE_KEYS = (*CASE_KEYS, *(f"paced-{key}" for key in CASE_KEYS), "import", "steps")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=CASE_KEYS, help="run one workload")
    parser.add_argument("--profile", choices=PROFILE_KEYS, help="profile knock-async on one workload instead")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the calls per repetition")
    parser.add_argument("--paced-reps", type=int, default=5, help="repetitions of each paced burst")
    parser.add_argument("--no-cpu", action="store_true", help="skip the limiter-off table")
    parser.add_argument("--no-paced", action="store_true", help="skip the paced table")
    parser.add_argument("--no-pacing", action="store_true", help="skip the Tier 2 pacing case")
    parser.add_argument("--no-footprint", action="store_true", help="skip fresh process, import and memory")
    parser.add_argument("--no-fleet", action="store_true", help="skip the 20 s fleet case (RedisRateLimiter)")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    print(
        f"knock-async {knock_async.__version__}, aiohttp {aiohttp.__version__}, "
        f"Python {platform.python_version()} ({platform.machine()}, {os.cpu_count()} CPUs); "
        f"this process reads JSON with {JSON_LIBRARY}"
    )
    with canned_server() as base_url:
        if args.profile:
            print(run_profile(base_url, args.profile, scale=args.scale))
            return 0
        if not args.no_cpu:
            print(cpu_tables(base_url, scale=args.scale, only=args.only))
        if not args.no_paced:
            print(paced_table(base_url, reps=args.paced_reps, only=args.only))
        if not args.no_footprint and args.only is None:
            print(footprint_report(base_url))
    if args.only is None:
        print(f"\n{validation.validation_report(args.scale)}")
    if not args.no_pacing and args.only is None:
        print(f"\n{pacing.report(asyncio.run(pacing.run_pacing()))}")
    if not args.no_fleet and args.only is None:
        print(f"\n{run_fleet_cases()}")

    print(f"\nTotal run time {time.perf_counter() - started:.0f} s. Exit status 0: this is a measurement.")
    return 0


def cpu_tables(base_url: str, *, scale: float, only: str | None) -> str:
    """The limiter-off table, once per JSON reader, each in a process of its own."""
    results = [
        *cpu_run.run(base_url, "json", scale=scale, only=only),
        *cpu_run.run(base_url, "orjson", scale=scale, only=only),
    ]
    return "\n".join(
        [
            "\nLimiter off: client CPU per unit against raw aiohttp doing the same requests "
            "(time.process_time; the canned server runs in another process)",
            cpu.table(results),
            "  µs: median CPU per unit over the repetitions. ratio: median of the per-repetition\n"
            "  ratios (the sides alternate, so machine-speed drift cancels); the middle half of\n"
            "  those ratios shows the noise. JSON: the reader of both sides (json: knock-async\n"
            "  without the `fast` extra; orjson: with it, and the raw side calls orjson.loads).\n"
            "  Raw: one ClientSession, the same headers, loads(await resp.read()); knock-async:\n"
            "  rate_limiter=None, max_retries=0.",
        ]
    )


def paced_table(base_url: str, *, reps: int, only: str | None) -> str:
    results = asyncio.run(paced.run_paced(base_url, reps=reps, only=only))
    return "\n".join(
        [
            f"\nPaced: the default client against raw aiohttp + aiolimiter at the same tier rate, a burst "
            f"beyond the rate (CPU per unit, means of {reps}; JSON read by {JSON_LIBRARY} on both sides)",
            paced.table(results),
        ]
    )


def footprint_report(base_url: str) -> str:
    fresh = footprint.fresh_process(base_url)
    return f"\n{footprint.report(fresh, footprint.import_time(), footprint.feed_memory())}"


def run_profile(base_url: str, key: str, *, scale: float) -> str:
    if key == "import":
        return footprint.import_profile(base_url)
    if key == "steps":
        return steps.report()
    if key.startswith("paced-"):
        return profile_paced(base_url, key.removeprefix("paced-"))
    return asyncio.run(cpu.run_profile(base_url, key, scale=scale))


def profile_paced(base_url: str, key: str, top: int = 30) -> str:
    """cProfile of a paced run (both sides: the raw side's share shows what the floor costs)."""
    profiler = cProfile.Profile()
    profiler.enable()
    asyncio.run(paced.run_paced(base_url, reps=2, only=key))
    profiler.disable()
    return cpu.stats_text(profiler, top)


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
    fleet_verdict = verdict(run.rejected == 0 and abs(run.wall / run.ideal - 1) <= 0.1)
    return "\n".join(
        [
            fleet.overhead_report(overhead),
            fleet.report(run, "Fleet"),
            f"  target: 0 429s, wall within 10 %: {fleet_verdict}",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
