"""Processes sharing one budget through a real redis-server, against the embedded Knock server."""

from __future__ import annotations

import asyncio
import time

from bench.fleet import RedisServer, report, run_fleet


async def test_four_processes_share_one_tier2_budget(redis_server: RedisServer) -> None:
    run = await run_fleet(redis_server.url, processes=4, calls=25)
    print(report(run, "fleet"))
    assert run.failed == []
    assert run.rejected == 0
    assert run.statuses.count(204) == 100
    assert abs(run.wall - run.ideal) <= 0.1 * run.ideal, (run.wall, run.ideal)


async def test_redis_stopping_mid_run_fails_no_call_and_sharing_resumes(redis_server: RedisServer) -> None:
    restarted = 0.0

    async def outage() -> None:
        nonlocal restarted
        await asyncio.sleep(3)  # three seconds into the calls
        redis_server.stop()
        await asyncio.sleep(4)
        redis_server.start()
        restarted = time.monotonic()

    run = await run_fleet(redis_server.url, processes=4, calls=25, during=outage)
    print(report(run, "chaos"))
    assert run.failed == []
    assert run.statuses.count(204) == 100
    assert sum(run.outages) >= 1 and max(run.outages) == 1  # noticed, one warning per process
    # Sharing resumes: a second after the restart (the limiters' retry interval), Knock's window
    # has forgotten the outage's extra requests and no response is a 429 any more.
    after = [status for at, status in run.responses if at > restarted + 2.0]
    assert after and set(after) == {204}
