"""The request path against hostile servers (small aiohttp servers on 127.0.0.1) and careless
callers: redirects, huge and deep bodies, echoed secrets, silence, 429 pauses, close, loops."""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import threading
import time
import traceback
import zlib
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from knock_async import (
    APIResponseValidationError,
    APITimeoutError,
    ClientClosedError,
    InternalServerError,
    KnockError,
    RateLimiter,
    RateLimitError,
    RedirectError,
    RequestOptions,
    ResponseTooLargeError,
    UnprocessableEntityError,
    WrongEventLoopError,
)
from knock_async._config import ClientConfig, RetryPolicy
from knock_async._transport import Transport
from knock_async._types import Operation
from tests.helpers import Handler

API_KEY = "sk_test_hostile_0123456789"
USER_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.signature-part"
SLACK_TOKEN = "xoxb-1234-5678-secret-slack"

GET_THING = Operation(id="things.get", method="GET", path="/v1/things/{id}", tier=5, response=dict)
SET_CHANNEL = Operation(
    id="users.set_channel_data",
    method="PUT",
    path="/v1/users/{id}/channel_data/slack",
    tier=5,
    response=dict,
    secret_fields=frozenset({"access_token", "url"}),
)


def client(base_url: str, **options: Any) -> Transport:
    options.setdefault("retry", RetryPolicy(max_retries=0))
    options.setdefault("rate_limiter", None)
    return Transport(ClientConfig(API_KEY, base_url=base_url, **options))


def every_text(error: BaseException) -> str:
    """Everything an error shows: text, args, repr, traceback, and its whole chain."""
    parts: list[str] = []
    seen: BaseException | None = error
    while seen is not None:
        parts += [str(seen), repr(seen), repr(seen.args), repr(vars(seen))]
        seen = seen.__cause__ or seen.__context__
    parts.append("".join(traceback.format_exception(error)))
    return "\n".join(parts)


# --- redirects ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_redirects_are_never_followed(serve: Callable[[Handler], Awaitable[str]], status: int) -> None:
    elsewhere: list[web.Request] = []

    async def other_host(request: web.Request) -> web.Response:
        elsewhere.append(request)
        return web.json_response({"stolen": True})

    other = await serve(other_host)

    async def redirecting(request: web.Request) -> web.Response:
        return web.Response(status=status, headers={"Location": f"{other}/collect"})

    t = client(await serve(redirecting), retry=RetryPolicy(max_retries=3))
    with pytest.raises(RedirectError) as caught:
        await t.request(SET_CHANNEL, path={"id": "u1"}, body={"data": {"token": "x"}})
    await t.close()
    assert elsewhere == []
    assert caught.value.status == status
    assert caught.value.location == f"{other}/collect"
    assert str(status) in str(caught.value) and f"{other}/collect" in str(caught.value)


# --- response size -----------------------------------------------------------------------


async def test_a_huge_streamed_body_is_cut_off_at_the_cap(serve: Callable[[Handler], Awaitable[str]]) -> None:
    sent = 0

    async def endless(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)  # chunked: no Content-Length to refuse up front
        chunk = b" " * 65536
        while sent < 200 * 1024 * 1024:
            await response.write(chunk)
            sent += len(chunk)
        return response

    t = client(await serve(endless), max_response_bytes=1024 * 1024)
    with pytest.raises(ResponseTooLargeError) as caught:
        await t.request(GET_THING, path={"id": "a"})
    await t.close()
    assert caught.value.limit == 1024 * 1024
    assert sent < 50 * 1024 * 1024  # the client hung up long before 200 MB


async def test_an_announced_content_length_over_the_cap_is_refused_unread(
    serve: Callable[[Handler], Awaitable[str]],
) -> None:
    async def big(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 300_000, content_type="application/json")

    t = client(await serve(big), max_response_bytes=100_000)
    with pytest.raises(ResponseTooLargeError, match="announced 300000 bytes"):
        await t.request(GET_THING, path={"id": "a"})
    await t.close()


async def test_a_gzip_bomb_is_stopped_while_it_unpacks(serve: Callable[[Handler], Awaitable[str]]) -> None:
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)  # gzip framing
    zeros = b"0" * (1024 * 1024)
    bomb = b"".join(packer.compress(zeros) for _ in range(200)) + packer.flush()
    assert len(bomb) < 1_000_000  # under 1 MB that unpacks to 200 MB

    async def gzipped(request: web.Request) -> web.Response:
        return web.Response(
            body=bomb, headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}
        )

    t = client(await serve(gzipped), max_response_bytes=2 * 1024 * 1024)
    with pytest.raises(ResponseTooLargeError, match="went past"):
        await t.request(GET_THING, path={"id": "a"})
    await t.close()


# --- undecodable bodies ------------------------------------------------------------------


@pytest.mark.parametrize(("status", "error"), [(200, APIResponseValidationError), (500, InternalServerError)])
async def test_json_nested_too_deep_is_a_knock_error(
    serve: Callable[[Handler], Awaitable[str]], status: int, error: type[KnockError]
) -> None:
    deep = "[" * 100_000 + "]" * 100_000

    async def nested(request: web.Request) -> web.Response:
        return web.Response(status=status, text=deep, content_type="application/json")

    t = client(await serve(nested))
    with pytest.raises(error, match="nested too deeply") as caught:
        await t.request(GET_THING, path={"id": "a"})
    await t.close()
    assert not isinstance(caught.value.__context__, RecursionError)


# --- secrets -----------------------------------------------------------------------------


async def test_echoed_secrets_are_redacted_also_when_json_escaped(
    serve: Callable[[Handler], Awaitable[str]],
) -> None:
    escaped_key = "".join(f"\\u{ord(c):04x}" for c in API_KEY[:3]) + API_KEY[3:]

    async def echo(request: web.Request) -> web.Response:
        sent = await request.json()
        text = json.dumps({"code": "invalid_params", "message": "bad request", "errors": [sent]})
        text = text.replace('"message": "bad request"', f'"message": "key {escaped_key} rejected"')
        return web.Response(status=422, text=text, content_type="application/json")

    t = client(await serve(echo), user_token=USER_TOKEN)
    body = {
        "data": {
            "access_token": SLACK_TOKEN,
            "connections": [{"incoming_webhook": {"url": "https://hooks.example/T0/B0/XYZsecret"}}],
        }
    }
    with pytest.raises(UnprocessableEntityError) as caught:
        await t.request(SET_CHANNEL, path={"id": "u1"}, body=body)
    await t.close()
    shown = every_text(caught.value) + json.dumps(caught.value.body) + repr(caught.value.errors)
    for secret in (API_KEY, USER_TOKEN, SLACK_TOKEN, "https://hooks.example/T0/B0/XYZsecret"):
        assert secret not in shown
    assert "[REDACTED]" in caught.value.message


# --- deadlines ---------------------------------------------------------------------------


async def test_a_silent_server_ends_in_a_timeout_at_the_deadline() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    t = client(f"http://127.0.0.1:{port}", timeout=0.3, retry=RetryPolicy(max_retries=5))
    started = time.monotonic()
    with pytest.raises(APITimeoutError) as caught:
        await t.request(GET_THING, path={"id": "a"})
    elapsed = time.monotonic() - started
    await t.close()
    server.close()
    assert 0.25 <= elapsed < 3.0  # ~0.3 s, with room for a loaded machine
    assert caught.value.operation_id == "things.get"


async def test_a_429_pause_longer_than_the_deadline_fails_at_once(
    serve: Callable[[Handler], Awaitable[str]],
) -> None:
    async def limited(request: web.Request) -> web.Response:
        return web.json_response(
            {"code": "rate_limited", "message": "slow down"}, status=429, headers={"Retry-After": "12"}
        )

    t = client(await serve(limited), rate_limiter=RateLimiter())
    with pytest.raises(RateLimitError):  # no retries: the first call reports the 429
        await t.request(GET_THING, path={"id": "a"})
    started = time.monotonic()
    with pytest.raises(APITimeoutError):
        await t.request(GET_THING, path={"id": "b"}, options=RequestOptions(timeout=2))
    assert time.monotonic() - started < 2.5  # not 12 s: the limiter knows it cannot make it
    await t.close()


async def test_queueing_in_the_limiter_counts_against_the_deadline(
    serve: Callable[[Handler], Awaitable[str]],
) -> None:
    async def ok(request: web.Request) -> web.Response:
        return web.json_response({})

    base = await serve(ok)
    # Tier 1: one call every 1.05 s. The third call cannot start within 1.8 s.
    t = client(base, timeout=1.8, rate_limiter=RateLimiter())
    tier1 = Operation(id="t1.get", method="GET", path="/v1/t1", tier=1, response=dict)
    started = time.monotonic()
    results = await asyncio.gather(*(t.request(tier1) for _ in range(4)), return_exceptions=True)
    elapsed = time.monotonic() - started
    await t.close()
    assert results[0] == {} and results[1] == {}
    assert all(isinstance(result, APITimeoutError) for result in results[2:])
    assert elapsed < 3.0


# --- close, loops, cancellation ------------------------------------------------------------


async def test_close_fails_calls_in_flight_and_queued_and_frees_the_limiter(
    serve: Callable[[Handler], Awaitable[str]],
) -> None:
    arrived = 0

    async def hang(request: web.Request) -> web.Response:
        nonlocal arrived
        arrived += 1
        await asyncio.sleep(30)
        return web.json_response({})

    base = await serve(hang)
    shared = RateLimiter(max_in_flight=50)
    knock = Transport(ClientConfig(API_KEY, base_url=base, rate_limiter=shared))
    calls = [asyncio.ensure_future(knock.request(GET_THING, path={"id": str(i)})) for i in range(55)]
    # Three more wait for tokens of tier 1 (one a second), behind the full in-flight cap.
    tier1 = Operation(id="t1.get", method="GET", path="/v1/t1", tier=1, response=dict)
    calls += [asyncio.ensure_future(knock.request(tier1)) for _ in range(3)]
    waited_until = time.monotonic() + 10  # generous: the machine may be loaded
    while arrived < 50 and time.monotonic() < waited_until:
        await asyncio.sleep(0.01)
    assert arrived == 50 and shared.in_flight == 50  # 8 more queue in the limiter

    started = time.monotonic()
    await knock.close()
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert time.monotonic() - started < 2.0  # the queued ones used to wait on in the limiter for seconds
    assert len(results) == 58
    assert all(isinstance(result, ClientClosedError) for result in results), results[:3]
    assert shared.in_flight == 0

    async def ok(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    other = Transport(ClientConfig(API_KEY, base_url=await serve(ok), rate_limiter=shared))
    assert await other.request(GET_THING, path={"id": "x"}) == {"ok": True}  # the shared limiter serves on
    await other.close()


async def test_a_callers_session_closed_under_the_client_is_a_client_closed_error() -> None:
    session = aiohttp.ClientSession()
    await session.close()
    t = client("http://127.0.0.1:9", session=session)
    with pytest.raises(ClientClosedError, match="session passed to this client was closed"):
        await t.request(GET_THING, path={"id": "a"})


async def test_a_cancelled_call_stays_cancelled(serve: Callable[[Handler], Awaitable[str]]) -> None:
    async def hang(request: web.Request) -> web.Response:
        await asyncio.sleep(30)
        return web.json_response({})

    t = client(await serve(hang))
    call = asyncio.ensure_future(t.request(GET_THING, path={"id": "a"}))
    await asyncio.sleep(0.1)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    await t.close()


def in_a_thread(call: Callable[[], Awaitable[Any]]) -> Any:
    """asyncio.run(call()) on another thread: a loop of its own, closed when it returns."""
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(asyncio.run(call())))  # type: ignore[arg-type]
    thread.start()
    thread.join(10)
    return result[0]


@contextlib.contextmanager
def server_in_a_thread() -> Iterator[str]:
    """A server on its own loop in its own thread, so it outlives the test's event loops."""
    ready: queue.Queue[tuple[asyncio.AbstractEventLoop, asyncio.Event, int]] = queue.Queue()

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/v1/things/{id}", _echo_id)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        stop = asyncio.Event()
        ready.put((asyncio.get_running_loop(), stop, runner.addresses[0][1]))
        await stop.wait()
        await runner.cleanup()

    thread = threading.Thread(target=asyncio.run, args=(main(),))
    thread.start()
    loop, stop, port = ready.get(timeout=10)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)


async def _echo_id(request: web.Request) -> web.Response:
    return web.json_response({"id": request.match_info["id"]})


def test_a_client_outlives_its_first_event_loop() -> None:
    # Made outside any loop, used under two asyncio.run: its own session is reopened.
    with server_in_a_thread() as base:
        t = Transport(ClientConfig(API_KEY, base_url=base, rate_limiter=RateLimiter()))
        assert asyncio.run(t.request(GET_THING, path={"id": "first"})) == {"id": "first"}
        assert asyncio.run(t.request(GET_THING, path={"id": "second"})) == {"id": "second"}
        asyncio.run(t.close())


async def test_a_callers_session_of_another_loop_is_a_clear_error() -> None:
    with server_in_a_thread() as base:

        async def make_session() -> aiohttp.ClientSession:
            return aiohttp.ClientSession()

        session: aiohttp.ClientSession = in_a_thread(make_session)  # its loop is closed by now
        t = client(base, session=session)
        with pytest.raises(WrongEventLoopError, match="create the session"):
            await t.request(GET_THING, path={"id": "a"})
        session.detach()
