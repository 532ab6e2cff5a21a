"""Several processes, one Knock budget: concurrent Tier 2 calls from N processes sharing one
`RedisRateLimiter`, against the embedded Knock server with Knock's tiers on.

Shared by the benchmark and tests/fleet/test_fleet.py. `run_fleet` runs the embedded server in
the caller's event loop and starts the client processes (`python -m bench.fleet ...`, each
with `calls` concurrent `users.delete` calls, all starting at one agreed instant).
`RedisServer` starts a throwaway redis-server on a free port.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import attrs
from aiohttp import web

from knock_async import AsyncKnock, RateLimiter, RedisRateLimiter
from knock_async.testing import KnockTestServer, RateLimits

ROOT = Path(__file__).resolve().parent.parent
RATE = 5  # Tier 2: requests per second per environment
STARTUP = 3.0  # seconds the client processes get to import and connect before the agreed start
# Local only, nothing written to disk, quiet.
REDIS_OPTIONS = ("--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel", "warning")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisServer:
    """One redis-server process, which can be stopped and started again on the same port."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self._process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--dir", str(self.directory), *REDIS_OPTIONS],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not self._answers_ping():
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None

    def _answers_ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@attrs.frozen
class FleetRun:
    processes: int
    calls: int  # in all processes together
    responses: list[tuple[float, int]]  # (time.monotonic(), status) of every response, in order
    wall: float  # seconds from the first request's arrival to the last response
    failed: list[str]  # the exception class of each failed call
    outages: list[int]  # per process: how many times it found Redis unavailable

    @property
    def ideal(self) -> float:
        return self.calls / RATE

    @property
    def statuses(self) -> list[int]:
        return [status for _, status in self.responses]

    @property
    def rejected(self) -> int:
        return self.statuses.count(429)


async def run_fleet(
    redis_url: str,
    *,
    processes: int = 4,
    calls: int = 25,
    during: Callable[[], Awaitable[None]] | None = None,
) -> FleetRun:
    """`processes` x `calls` concurrent Tier 2 calls; `during` runs from the first request on."""
    arrivals: list[float] = []
    first_arrival = asyncio.Event()
    responses: list[tuple[float, int]] = []

    @web.middleware
    async def clock_requests(request: web.Request, handler: Any) -> web.StreamResponse:
        arrivals.append(time.monotonic())
        first_arrival.set()
        response: web.StreamResponse = await handler(request)
        responses.append((time.monotonic(), response.status))
        return response

    async with KnockTestServer(rate_limits=RateLimits(), middlewares=[clock_requests]) as server:
        for p in range(processes):
            for n in range(calls):
                server.identify_user(f"fleet-{p}-{n}")
        start_at = time.time() + STARTUP
        clients = [
            await asyncio.create_subprocess_exec(
                *[sys.executable, "-m", "bench.fleet", server.url, redis_url, f"fleet-{p}", str(calls)],
                str(start_at),
                cwd=ROOT,
                env={**os.environ, "KNOCK_API_KEY": server.api_key},
                stdout=asyncio.subprocess.PIPE,
            )
            for p in range(processes)
        ]
        side = asyncio.ensure_future(_after(first_arrival, during)) if during else None
        outputs = [await client.communicate() for client in clients]
        if side is not None:
            await side
        reports = [json.loads(stdout) for stdout, _ in outputs]
    return FleetRun(
        processes=processes,
        calls=processes * calls,
        responses=responses,
        wall=responses[-1][0] - arrivals[0],
        failed=[name for report in reports for name in report["failed"]],
        outages=[report["outages"] for report in reports],
    )


async def _after(event: asyncio.Event, action: Callable[[], Awaitable[None]]) -> None:
    await event.wait()
    await action()


async def _client(knock_url: str, redis_url: str, prefix: str, calls: int, start_at: float) -> None:
    """One process of the fleet: `calls` concurrent calls from `start_at`; prints a JSON report."""
    outages = _Counter("Redis is unavailable")
    logging.getLogger("knock_async").addHandler(outages)
    limiter = RedisRateLimiter.from_url(redis_url)
    async with AsyncKnock(base_url=knock_url, rate_limiter=limiter) as knock:
        await asyncio.sleep(start_at - time.time())
        results = await asyncio.gather(
            *(knock.users.delete(f"{prefix}-{n}") for n in range(calls)), return_exceptions=True
        )
    await limiter.aclose()
    failed = [type(result).__name__ for result in results if isinstance(result, BaseException)]
    print(json.dumps({"failed": failed, "outages": outages.count}))


class _Counter(logging.Handler):
    """Counts the log records that start with `prefix`."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += record.getMessage().startswith(self.prefix)


async def run_overhead(redis_url: str, calls: int = 3000) -> dict[str, float]:
    """Microseconds per `slot()` when no waiting is needed (one call at a time, Tier 5 at a rate
    never reached): the local limiter against RedisRateLimiter on a local redis-server."""
    unreached = {5: 1e9}
    shared = RedisRateLimiter.from_url(redis_url, rates=unreached)
    results: dict[str, float] = {}
    for name, limiter in (("RateLimiter", RateLimiter(rates=unreached)), ("RedisRateLimiter", shared)):
        async with limiter.slot(5, "warm-up"):  # connects and loads the script
            pass
        started = time.perf_counter()
        for _ in range(calls):
            async with limiter.slot(5, "bench"):
                pass
        results[name] = (time.perf_counter() - started) / calls * 1e6
    await shared.aclose()
    return results


def overhead_report(micros: dict[str, float]) -> str:
    local, shared = micros["RateLimiter"], micros["RedisRateLimiter"]
    return (
        f"Limiter overhead per call (no waiting, one call at a time): RateLimiter {local:.1f} µs, "
        f"RedisRateLimiter {shared:.1f} µs (+{shared - local:.1f} µs: one Redis round trip on 127.0.0.1)"
    )


def report(run: FleetRun, title: str) -> str:
    over = (run.wall / run.ideal - 1) * 100
    return "\n".join(
        [
            f"{title}: {run.processes} processes x {run.calls // run.processes} concurrent Tier 2 calls, "
            f"one RedisRateLimiter budget, embedded server enforcing {RATE}/s",
            f"  429 responses: {run.rejected}    failed calls: {len(run.failed)}",
            f"  wall {run.wall:.2f} s vs ideal {run.ideal:.2f} s ({over:+.1f} %)",
            f"  Redis outages seen by the processes: {run.outages}",
        ]
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.fleet", description="one process of the fleet")
    for name in ("knock_url", "redis_url", "prefix"):
        parser.add_argument(name)
    parser.add_argument("calls", type=int)
    parser.add_argument("start_at", type=float, help="time.time() instant to start at")
    args = parser.parse_args()
    logging.basicConfig(format=f"[{args.prefix}] %(levelname)s %(message)s")
    asyncio.run(_client(args.knock_url, args.redis_url, args.prefix, args.calls, args.start_at))
