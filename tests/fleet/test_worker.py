"""The worker-fleet example (examples/worker) with a real Redis: 4 saq worker processes, one of
them killed with SIGKILL mid-run; every job must reach Knock exactly once. And the README's
commands for it, run line by line as a user types them."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from bench.fleet import ROOT, RedisServer
from examples.worker.app import WORKFLOW, make_queue
from examples.worker.producer import enqueue_welcomes
from packaging.requirements import Requirement

from knock_async.testing import KNOCK_TIER_RATES, KnockTestServer, RateLimits
from tests.fleet.conftest import redis_binary

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


_COMMANDS = re.compile(r"^<!-- worker-commands: .*?-->\n```console\n(.*?)^```", re.DOTALL | re.MULTILINE)
README_PORTS = ("6379", "4010")  # Redis and the embedded Knock in the README's commands


def readme_commands() -> list[str]:
    match = _COMMANDS.search((ROOT / "README.md").read_text())
    assert match is not None, "the README's worker commands are gone"
    return match.group(1).splitlines()


def free_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return str(probe.getsockname()[1])


def installed(requirement: Requirement) -> bool:
    """`requirement` (with its extras) is satisfied in this interpreter."""
    try:
        version = importlib.metadata.version(requirement.name)
    except importlib.metadata.PackageNotFoundError:
        return False
    needed = [
        Requirement(line.split(";")[0])
        for line in importlib.metadata.requires(requirement.name) or []
        for extra in requirement.extras
        if Requirement(line).marker is not None and Requirement(line).marker.evaluate({"extra": extra})
    ]
    return requirement.specifier.contains(version, prereleases=True) and all(map(installed, needed))


def install_requirements(line: str) -> list[Requirement]:
    """What a `pip install -e '.[x]' 'pkg>=1'` line installs (`.` is this project)."""
    words = [word for word in shlex.split(line)[2:] if word != "-e"]
    return [Requirement("knock-async" + word[1:] if word.startswith(".") else word) for word in words]


def wait_for_port(port: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", int(port)), timeout=1):
            return
        assert time.monotonic() < deadline, f"nothing listens on port {port}"
        time.sleep(0.1)


def user_path(tmp_path: Path) -> str:
    """A PATH whose `python` and `saq` are this interpreter's (the venv's scripts may name another)."""
    for name, run in (("python", '"$@"'), ("saq", '-m saq "$@"')):
        shim = tmp_path / name
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" {run}\n')
        shim.chmod(0o755)
    return f"{tmp_path}{os.pathsep}{os.environ['PATH']}"


def test_the_readme_worker_commands_deliver_every_notification(tmp_path: Path) -> None:
    redis_binary()  # skips without redis-server, fails under CI
    install, *commands = readme_commands()
    assert install.startswith("pip install ")
    missing = [str(r) for r in install_requirements(install) if not installed(r)]
    assert missing == [], "the install line does not bring what the commands need"
    ports = {port: free_port() for port in README_PORTS}  # other tests may hold the README's
    env = {key: value for key, value in os.environ.items() if not key.startswith(("KNOCK_", "REDIS_"))}
    env["PATH"] = user_path(tmp_path)
    background: list[subprocess.Popen[bytes]] = []
    try:
        for line in commands:
            for readme_port, port in ports.items():
                line = line.replace(readme_port, port)
            if line.startswith("export "):
                env.update(word.split("=", 1) for word in shlex.split(line)[1:])
            elif line.endswith("&"):
                command = "exec " + line.removesuffix("&").strip()
                background.append(subprocess.Popen(["sh", "-c", command], cwd=ROOT, env=env))
                for port in ports.values():
                    if port in line:
                        wait_for_port(port)
            else:
                done = subprocess.run(["sh", "-c", line], cwd=ROOT, env=env, capture_output=True, text=True)
                print(done.stdout)
                assert done.returncode == 0, done.stdout + done.stderr
    finally:  # the worker first, then what it talks to
        for process in reversed(background):
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    assert "delivered 100 of 100 notifications, 0 failed, 0 unfinished" in done.stdout
    assert re.search(r"welcome-\d+: workflow run \S+", done.stdout)
