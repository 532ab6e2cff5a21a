"""Calling Knock from sync code (a Django view, a management command, a script).

Run with KNOCK_API_KEY (and KNOCK_BASE_URL for another server) set:
`python -m examples.sync_code user-1 "Nice post"`.
"""

from __future__ import annotations

import asyncio
import sys

from knock_async import AsyncKnock


async def _notify(user_id: str, comment: str) -> str:
    async with AsyncKnock() as knock:  # closed before asyncio.run closes its loop
        run = await knock.workflows.trigger("new-comment", recipients=[user_id], data={"comment": comment})
        return run.workflow_run_id


def notify(user_id: str, comment: str) -> str:
    """What a sync view calls: one asyncio.run per unit of work, one client inside it."""
    return asyncio.run(_notify(user_id, comment))


if __name__ == "__main__":
    print(notify(sys.argv[1], sys.argv[2]))
