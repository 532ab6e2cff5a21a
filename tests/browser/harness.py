"""What the front-end end-to-end test needs: Node, npm, Debian's Chromium, the npm packages of
tests/browser/js (installed with `npm ci` when missing or stale), the page bundled by esbuild, a
page server on its own origin, and the Node driver that runs the page's steps in Chromium.

Without the tools the test skips, except under CI=true, where a missing tool is a failure.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

JS_DIR = Path(__file__).parent / "js"
NPM_TIMEOUT = 240  # seconds for `npm ci` on a cold cache
STEP_TIMEOUT = 60  # seconds for one page step (the client retries failed calls with backoff)
LAUNCH_TIMEOUT = 150  # seconds for Chromium to start and load the page, on a busy machine too
PAGE_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>In-app feed</title></head>
<body><script type="module" src="/bundle.js"></script></body></html>
"""


def require_tool(name: str, env_var: str) -> str:
    """The tool's path (`env_var` overrides the search); a skip, or under CI=true a failure."""
    found = os.environ.get(env_var) or shutil.which(name)
    if found:
        return found
    reason = f"{name} is missing (run `make browser-tools`, or set {env_var})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def install_packages(npm: str) -> None:
    """`npm ci` when node_modules is missing or older than the lock file."""
    installed = JS_DIR / "node_modules" / ".package-lock.json"
    lock = JS_DIR / "package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=NPM_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"


def bundle_page(node: str, out_dir: Path) -> Path:
    """page.js with @knocklabs/client, bundled as one ES module for the browser."""
    bundle = out_dir / "bundle.js"
    command = [node, "build.mjs", str(bundle)]
    done = subprocess.run(command, cwd=JS_DIR, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"esbuild failed:\n{done.stderr}"
    return bundle


@asynccontextmanager
async def page_server(bundle: Path, backend: httpx.AsyncClient) -> AsyncIterator[str]:
    """The front end's own origin: the page, its bundle, and /knock/session forwarded to the app's
    backend (as a front-end dev server proxies its API). Yields the origin, on `localhost`."""

    async def index(request: web.Request) -> web.StreamResponse:
        return web.Response(text=PAGE_HTML, content_type="text/html")

    async def script(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(bundle, headers={"Content-Type": "text/javascript"})

    async def knock_session(request: web.Request) -> web.StreamResponse:
        user = request.headers.get("X-Demo-User", "")
        answer = await backend.get("/knock/session", headers={"X-Demo-User": user} if user else {})
        return web.Response(body=answer.content, status=answer.status_code, content_type="application/json")

    async def no_favicon(request: web.Request) -> web.StreamResponse:
        return web.Response(status=204)

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_get("/bundle.js", script)
    app.router.add_get("/knock/session", knock_session)
    app.router.add_get("/favicon.ico", no_favicon)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = next(address[1] for address in runner.addresses if isinstance(address, tuple))
    try:
        yield f"http://localhost:{port}"
    finally:
        await runner.cleanup()


class StepFailed(AssertionError):
    """A page step threw: the message is the browser's."""


class Browser:
    """The page in headless Chromium, one step at a time (see js/driver.mjs)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process
        self.console: list[str] = []  # the page's console output and errors, for failure messages
        self._reader = asyncio.create_task(self._read_console())

    async def step(self, name: str, *args: Any) -> Any:
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps({"step": name, "args": list(args)}).encode() + b"\n")
        await self._process.stdin.drain()
        answer = await self.answer()
        if not answer["ok"]:
            raise StepFailed(f"{name}: {answer['error']}\n{self.console_tail()}")
        return answer["result"]

    async def answer(self, timeout: float = STEP_TIMEOUT) -> dict[str, Any]:
        assert self._process.stdout is not None
        line = await asyncio.wait_for(self._process.stdout.readline(), timeout)
        if not line:
            code = await self._process.wait()
            raise StepFailed(f"the browser driver exited with {code}\n{self.console_tail()}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def console_tail(self) -> str:
        return "\n".join(self.console[-40:])

    async def _read_console(self) -> None:
        assert self._process.stderr is not None
        async for line in self._process.stderr:
            self.console.append(line.decode(errors="replace").rstrip())

    async def close(self) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()
        try:
            await asyncio.wait_for(self._process.wait(), 20)
        except asyncio.TimeoutError:
            self._process.kill()
            await self._process.wait()
        await self._reader


@asynccontextmanager
async def chromium_page(node: str, chromium: str, url: str, profile: Path) -> AsyncIterator[Browser]:
    """A fresh Chromium profile showing `url`, ready for steps."""
    process = await asyncio.create_subprocess_exec(
        *(node, str(JS_DIR / "driver.mjs"), url, chromium, str(profile)),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=JS_DIR,
    )
    browser = Browser(process)
    try:
        ready = await browser.answer(LAUNCH_TIMEOUT)
        assert ready == {"ok": True, "result": "ready"}, f"{ready}\n{browser.console_tail()}"
        yield browser
    finally:
        await browser.close()
