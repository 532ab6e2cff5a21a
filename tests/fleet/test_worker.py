"""The worker-fleet example (examples/worker) with a real Redis: 4 saq worker processes, one of
them killed with SIGKILL mid-run; every job must reach Knock exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections import Counter

from bench.fleet import ROOT, RedisServer
from examples.worker.app import WORKFLOW, make_queue
from examples.worker.producer import enqueue_welcomes

from knock_async.testing import KNOCK_TIER_RATES, KnockTestServer, RateLimits

JOBS = 2000
WORKERS = 4
FAST = {4: 1000, 5: 1000}  # identify (tier 4) and trigger (tier 5), raised for a quick run


async def wait_until(condition: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def stop_all(workers: list[asyncio.subprocess.Process]) -> None:
    """SIGTERM, then SIGKILL whatever has not exited within 10 s: no worker outlives the test."""
    for worker in workers:
        with contextlib.suppress(ProcessLookupError):  # one was killed on purpose already
            worker.terminate()
    for worker in workers:
        try:
            await asyncio.wait_for(worker.wait(), 10)
        except asyncio.TimeoutError:
            worker.kill()
            await worker.wait()


async def test_a_killed_worker_loses_no_job_and_duplicates_none(redis_server: RedisServer) -> None:
    async with KnockTestServer(rate_limits=RateLimits(rates={**KNOCK_TIER_RATES, **FAST})) as server:
        server.add_workflow(WORKFLOW)
        env = {
            **os.environ,
            "REDIS_URL": redis_server.url,
            "KNOCK_API_KEY": server.api_key,
            "KNOCK_BASE_URL": server.url,
            "KNOCK_TIER_RATES": ",".join(f"{tier}:{rate}" for tier, rate in FAST.items()),
        }
        workers = [
            await asyncio.create_subprocess_exec(
                *[sys.executable, "-m", "saq", "examples.worker.app.settings", "--quiet"],
                cwd=ROOT,
                env=env,
            )
            for _ in range(WORKERS)
        ]
        queue = make_queue(redis_server.url)
        await queue.connect()
        try:
            started = time.monotonic()
            assert await enqueue_welcomes(queue, JOBS, timeout=5) == JOBS
            # The same notifications again: saq drops those still queued (same job key); one that
            # already completed runs again, and its Knock calls are replayed by idempotency key.
            await enqueue_welcomes(queue, 10)
            await wait_until(lambda: len(server.calls("workflows.trigger")) >= JOBS // 4, timeout=60)
            workers[0].send_signal(signal.SIGKILL)
            killed_at = time.monotonic() - started
            await wait_until(lambda: len(server.state.runs) >= JOBS, timeout=90)
            # The swept jobs' second attempts, bounded like every wait here.
            deadline = time.monotonic() + 150
            while await queue.count("incomplete"):
                assert time.monotonic() < deadline, "jobs still incomplete after 150 s"
                await asyncio.sleep(0.2)
            done_at = time.monotonic() - started
        finally:
            await stop_all(workers)
            await queue.disconnect()

        runs_per_user = Counter(run.recipient[1] for run in server.state.runs.values())
        messages_per_user = Counter(message.recipient[1] for message in server.state.messages.values())
        triggers = server.calls("workflows.trigger")
        replayed = sum(request.replayed for request in triggers)
        print(
            f"\n{JOBS} jobs, 1 of {WORKERS} workers killed after {killed_at:.1f} s, all done in "
            f"{done_at:.1f} s: {len(runs_per_user)} users notified, {len(triggers)} trigger requests, "
            f"{replayed} of them replayed by idempotency key"
        )
        assert runs_per_user == Counter({f"user-{n}": 1 for n in range(JOBS)})
        assert messages_per_user == runs_per_user
        assert len(server.state.users) == JOBS
