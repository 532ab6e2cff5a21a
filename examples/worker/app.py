"""Notification jobs on a saq queue, run by any number of worker processes that share one
Knock budget through `RedisRateLimiter` on the same Redis.

Needs `pip install -e '.[redis]' 'saq>=0.26'` (from the repository root), a Redis, and a Knock:
your account, or the embedded server serving this example's workflow
(`python -m knock_async.testing --workflow welcome=in_app_feed,email`). The README's
"Running many workers" has the commands; run the workers (each command is one process; start
as many as you like, on any machine) with

    REDIS_URL=redis://localhost:6379/0 KNOCK_BASE_URL=... KNOCK_API_KEY=... saq examples.worker.app.settings

and enqueue jobs, wait for them and see what was delivered with
`python -m examples.worker.producer 100`.

Exactly once: a job's key names the notification ("welcome-42"), saq refuses a second job with
a key already queued, and every Knock call of the job carries an idempotency key made from it.
A job retried after its worker died (saq sweeps it once its `timeout` has passed) sends the
same keys again, and Knock answers with the first result instead of notifying twice.

Settings from the environment: REDIS_URL, KNOCK_API_KEY, KNOCK_BASE_URL (the SDK's own), and
KNOCK_TIER_RATES ("4:1000,5:1000": requests per second by tier, for an account with higher
limits or a test server).
"""

from __future__ import annotations

import os
from typing import Any

from saq.queue.redis import RedisQueue

from knock_async import AsyncKnock, RedisRateLimiter, RequestOptions

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")
QUEUE_NAME = "notifications"
WORKFLOW = "welcome"
SWEEP_EVERY = 1  # seconds between looks for jobs of dead workers (saq's default: 60)


def tier_rates() -> dict[int, float]:
    pairs = (pair.split(":") for pair in os.environ.get("KNOCK_TIER_RATES", "").split(",") if pair)
    return {int(tier): float(rate) for tier, rate in pairs}


class NotificationQueue(RedisQueue):
    """saq's Redis queue, sweeping (retrying the jobs of dead workers) every SWEEP_EVERY s."""

    async def sweep(self, lock: int = SWEEP_EVERY, abort: float = 1.0) -> list[str]:
        return await super().sweep(lock=lock, abort=abort)


def make_queue(redis_url: str = REDIS_URL) -> NotificationQueue:
    return NotificationQueue.from_url(redis_url, name=QUEUE_NAME)


async def notify(ctx: dict[str, Any], *, user_id: str, name: str, email: str) -> str:
    """Identify the user, then run the welcome workflow for them. Returns the workflow run id."""
    knock: AsyncKnock = ctx["knock"]
    key = ctx["job"].key  # the same on every attempt of this job
    await knock.users.update(
        user_id, name=name, email=email, options=RequestOptions(idempotency_key=f"{key}:identify")
    )
    run = await knock.workflows.trigger(
        WORKFLOW, recipients=[user_id], options=RequestOptions(idempotency_key=f"{key}:trigger")
    )
    return run.workflow_run_id


async def startup(ctx: dict[str, Any]) -> None:
    ctx["limiter"] = RedisRateLimiter.from_url(REDIS_URL, rates=tier_rates(), namespace="knock-worker")
    ctx["knock"] = AsyncKnock(rate_limiter=ctx["limiter"])


async def shutdown(ctx: dict[str, Any]) -> None:
    await ctx["knock"].close()
    await ctx["limiter"].aclose()


settings = {
    "queue": make_queue(),
    "functions": [notify],
    "concurrency": 20,
    "startup": startup,
    "shutdown": shutdown,
    "timers": {"sweep": SWEEP_EVERY},
}
