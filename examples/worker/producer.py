"""Enqueue notification jobs: `python -m examples.worker.producer COUNT` (see app.py)."""

from __future__ import annotations

import argparse
import asyncio

from saq import Queue

from .app import make_queue

JOB_TIMEOUT = 30  # seconds; a job of a dead worker is retried once this has passed
JOB_RETRIES = 5  # attempts in all


async def enqueue_welcomes(queue: Queue, count: int, *, timeout: int = JOB_TIMEOUT) -> int:
    """One job per user "user-<n>", keyed by the notification: enqueueing twice queues it once."""
    jobs = await asyncio.gather(
        *(
            queue.enqueue(
                "notify",
                key=f"welcome-{n}",
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


async def main(count: int) -> None:
    queue = make_queue()
    await queue.connect()
    print(f"enqueued {await enqueue_welcomes(queue, count)} jobs")
    await queue.disconnect()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("count", type=int)
    asyncio.run(main(parser.parse_args().count))
