"""Using the client from sync code: the README's pattern (examples/sync_code.py) and a client
reused across `asyncio.run` calls both work and stay quiet: no "Unclosed ..." and no
ResourceWarning, because nothing is left open.

Each case runs in a fresh interpreter, so that what it prints at collection and exit is seen,
against an embedded Knock server running on its own loop in a thread.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SERVER = """
import asyncio, gc, queue, threading
from knock_async.testing import KnockTestServer

def start_server():
    ready = queue.Queue()

    async def main():
        async with KnockTestServer() as server:
            server.add_workflow("new-comment", ["in_app_feed"])
            stop = asyncio.Event()
            ready.put((asyncio.get_running_loop(), stop, server))
            await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(main(),))
    thread.start()
    loop, stop, server = ready.get(timeout=20)
    return server, lambda: (loop.call_soon_threadsafe(stop.set), thread.join(20))
"""


def run_script(body: str) -> subprocess.CompletedProcess[str]:
    script = SERVER + textwrap.dedent(body)
    # -W default: ResourceWarnings (unclosed sessions, sockets) are shown, not ignored.
    return subprocess.run(
        [sys.executable, "-W", "default", "-c", script],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_the_documented_pattern_is_quiet() -> None:
    done = run_script("""
        import os
        server, stop = start_server()
        os.environ.update(KNOCK_API_KEY=server.api_key, KNOCK_BASE_URL=server.url)
        from examples.sync_code import notify
        first, second = notify("user-1", "one"), notify("user-1", "two")
        assert first != second and len(server.state.runs) == 2
        gc.collect()
        stop()
        print("ok")
    """)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
    assert "Unclosed" not in done.stderr and "Warning" not in done.stderr, done.stderr


def test_a_client_reused_across_asyncio_runs_is_quiet() -> None:
    done = run_script("""
        from knock_async import AsyncKnock
        server, stop = start_server()
        knock = AsyncKnock(server.api_key, base_url=server.url)
        for n in range(3):  # each asyncio.run has its own loop; the client follows
            asyncio.run(knock.users.update(f"user-{n}", name="Ada"))
            gc.collect()
        asyncio.run(knock.close())
        gc.collect()
        stop()
        print("ok")
    """)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
    # Not even a socket: each run's session was closed as its loop shut down.
    assert "Unclosed" not in done.stderr and "Warning" not in done.stderr, done.stderr
