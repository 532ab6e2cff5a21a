"""A canned Knock server in a child process, so that its CPU is not the client's.

It answers the four benchmarked operations with bytes built once at start-up
(`bench.payloads`): no state, no validation beyond what picks the answer, so that the
server stays fast and the client's wall time is mostly its own work.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.connection
import socket
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from aiohttp import web

from . import payloads

_JSON = "application/json"
LAST_REQUEST_PATH = "/_bench/last-request"  # describes the request before it

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _app() -> web.Application:
    user = payloads.user_body()
    trigger = payloads.trigger_body()
    feed = payloads.feed_body()
    pages = payloads.users_pages()

    async def get_user(request: web.Request) -> web.Response:
        return web.Response(body=user, content_type=_JSON)

    async def trigger_workflow(request: web.Request) -> web.Response:
        await request.read()  # drain the body, as a real server would, before answering
        return web.Response(body=trigger, content_type=_JSON)

    async def list_feed_items(request: web.Request) -> web.Response:
        return web.Response(body=feed, content_type=_JSON)

    async def list_users(request: web.Request) -> web.Response:
        body = pages.get(request.query.get("after"))
        if body is None:
            return web.json_response(
                {"code": "invalid_params", "message": "unknown cursor", "status": 400, "type": "api_error"},
                status=400,
            )
        return web.Response(body=body, content_type=_JSON)

    # The last benchmarked request, for the check that both clients send the same thing
    # (made once, before any timing).
    last: dict[str, Any] = {}

    @web.middleware
    async def remember(request: web.Request, handler: _Handler) -> web.StreamResponse:
        if request.path != LAST_REQUEST_PATH:
            last["url"] = str(request.rel_url)
            last["headers"] = [[name, value] for name, value in request.headers.items()]
            last["body"] = (await request.read()).decode()  # aiohttp keeps it for the handler
        return await handler(request)

    async def last_request(request: web.Request) -> web.Response:
        return web.json_response(last)

    app = web.Application(middlewares=[remember])
    app.router.add_get(LAST_REQUEST_PATH, last_request)
    app.router.add_get("/v1/users", list_users)
    app.router.add_get("/v1/users/{user_id}", get_user)
    app.router.add_post("/v1/workflows/{key}/trigger", trigger_workflow)
    app.router.add_get("/v1/users/{user_id}/feeds/{channel_id}", list_feed_items)
    return app


async def _serve(conn: multiprocessing.connection.Connection) -> None:
    # Bind here, on port 0, and report the port: no race for a "free" port picked elsewhere.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    runner = web.AppRunner(_app(), access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    conn.send(sock.getsockname()[1])
    # Serve until the parent says stop (or goes away: the pipe then reads as closed).
    loop = asyncio.get_running_loop()
    try:
        await loop.run_in_executor(None, _wait_for_stop, conn)
    finally:
        await runner.cleanup()


def _wait_for_stop(conn: multiprocessing.connection.Connection) -> None:
    with suppress(EOFError):  # the parent went away without a word: stop all the same
        conn.recv()


def _main(conn: multiprocessing.connection.Connection) -> None:
    asyncio.run(_serve(conn))


@contextmanager
def canned_server() -> Iterator[str]:
    """Run the canned server in a child process; yields its base URL."""
    # spawn, not fork: the child starts clean, with no copy of the parent's loop or sessions.
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_main, args=(child,), name="knock-bench-server", daemon=True)
    process.start()
    child.close()
    try:
        try:
            port = parent.recv() if parent.poll(30) else None
        except EOFError:  # the child died before it reported a port
            port = None
        if port is None:
            raise RuntimeError(f"the canned server did not start (exit code {process.exitcode})")
        yield f"http://127.0.0.1:{port}"
    finally:
        with suppress(OSError):  # the child may be gone already
            parent.send("stop")
        parent.close()
        process.join(10)
        if process.is_alive():  # only our own child, by its handle
            process.terminate()
            process.join(5)
