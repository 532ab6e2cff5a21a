"""Enqueue notification jobs, wait for the workers to run them, and report what was delivered:
`python -m examples.worker.producer COUNT` (see app.py). Exits with 1 if any job failed or did
not finish within `--wait` seconds."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from saq import Queue
from saq.job import TERMINAL_STATUSES, Job, Status

from .app import make_queue

JOB_TIMEOUT = 30  # seconds; a job of a dead worker is retried once this has passed
JOB_RETRIES = 5  # attempts in all
POLL_EVERY = 0.5  # seconds between looks at the jobs' states


def job_key(n: int) -> str:
    return f"welcome-{n}"  # names the notification: the same user's welcome is one job


async def enqueue_welcomes(queue: Queue, count: int, *, timeout: int = JOB_TIMEOUT) -> int:
    """One job per user "user-<n>", keyed by the notification: enqueueing twice queues it once."""
    jobs = await asyncio.gather(
        *(
            queue.enqueue(
                "notify",
                key=job_key(n),
                timeout=timeout,
                retries=JOB_RETRIES,
                user_id=f"user-{n}",
                name=f"User {n}",
                email=f"user-{n}@example.com",
            )
            for n in range(count)
        )
    )
    return sum(job is not None for job in jobs)


async def wait_for_jobs(queue: Queue, keys: list[str], wait: float) -> list[Job | None]:
    """The jobs once all have finished (completed, failed or aborted), or as they are at `wait`."""
    deadline = time.monotonic() + wait
    while True:
        jobs = await queue.jobs(keys)
        finished = all(job is not None and job.status in TERMINAL_STATUSES for job in jobs)
        if finished or time.monotonic() >= deadline:
            return jobs
        await asyncio.sleep(POLL_EVERY)


def _last_line(error: str | None) -> str:
    lines = (error or "").strip().splitlines()
    return lines[-1] if lines else "(no error text)"


def report(jobs: list[Job | None]) -> tuple[str, bool]:
    """A summary of the jobs (one workflow run each when delivered), and whether all were."""
    delivered = [job for job in jobs if job is not None and job.status is Status.COMPLETE]
    failed = [job for job in jobs if job is not None and job.status in TERMINAL_STATUSES - {Status.COMPLETE}]
    unfinished = len(jobs) - len(delivered) - len(failed)
    lines = [
        f"delivered {len(delivered)} of {len(jobs)} notifications, "
        f"{len(failed)} failed, {unfinished} unfinished"
    ]
    lines += [f"  {job.key}: workflow run {job.result}" for job in delivered[:3]]
    lines += [f"  {job.key} failed: {_last_line(job.error)}" for job in failed[:3]]
    return "\n".join(lines), len(delivered) == len(jobs)


async def main(count: int, wait: float) -> int:
    queue = make_queue()
    await queue.connect()
    try:
        print(f"enqueued {await enqueue_welcomes(queue, count)} jobs", flush=True)
        summary, all_delivered = report(await wait_for_jobs(queue, [job_key(n) for n in range(count)], wait))
    finally:
        await queue.disconnect()
    print(summary)
    return 0 if all_delivered else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("count", type=int)
    parser.add_argument("--wait", type=float, default=120, help="seconds to wait for the jobs (default 120)")
    arguments = parser.parse_args()
    sys.exit(asyncio.run(main(arguments.count, arguments.wait)))
