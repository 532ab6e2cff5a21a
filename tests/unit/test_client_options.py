"""The client options knockapi has (branch, custom headers, proxy, with_options), one attempt's
own limit, the replay flags on ApiResponse, and one fake clock for client and server.

Everything runs against real servers on 127.0.0.1: small aiohttp apps of this module (a user
endpoint that records what it was sent, a forward proxy) and the embedded Knock server.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from knock_async import (
    APIConnectionError,
    APITimeoutError,
    AsyncKnock,
    ClientClosedError,
    RateLimiter,
    RequestOptions,
    RetryPolicy,
)
from knock_async.testing import BulkPace, KnockTestServer, ManualClock

API_KEY = "sk_test_options_0123456789"
USER_JSON = {"__typename": "User", "id": "u1", "name": "Ada", "updated_at": "2024-05-01T12:00:00Z"}


class Recorder:
    """A user endpoint that keeps the headers of every request it answers."""

    def __init__(self, extra_headers: dict[str, str] | None = None) -> None:
        self.requests: list[web.Request] = []
        self.extra_headers = extra_headers or {}

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(request)
        return web.json_response(USER_JSON, headers=self.extra_headers)


@pytest.fixture
def no_knock_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("KNOCK_BRANCH", "KNOCK_CUSTOM_HEADERS", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


# --- branch and custom headers ----------------------------------------------------------


async def test_branch_goes_out_as_x_knock_branch(serve: Any, no_knock_env: pytest.MonkeyPatch) -> None:
    recorder = Recorder()
    base = await serve(recorder.handle)
    async with AsyncKnock(API_KEY, base_url=base, branch="feature-x") as knock:
        await knock.users.get("u1")
    no_knock_env.setenv("KNOCK_BRANCH", "from-env")
    async with AsyncKnock(API_KEY, base_url=base) as knock:
        await knock.users.get("u1")
    async with AsyncKnock(API_KEY, base_url=base, branch="explicit") as knock:
        await knock.users.get("u1")
    assert [r.headers.get("X-Knock-Branch") for r in recorder.requests] == [
        "feature-x",
        "from-env",
        "explicit",
    ]


async def test_no_branch_sends_no_branch_header(serve: Any, no_knock_env: pytest.MonkeyPatch) -> None:
    recorder = Recorder()
    async with AsyncKnock(API_KEY, base_url=await serve(recorder.handle)) as knock:
        await knock.users.get("u1")
    assert "X-Knock-Branch" not in recorder.requests[0].headers


@pytest.mark.parametrize("branch", ["", "  ", "bad\nbranch"])
def test_a_bad_branch_is_refused_before_anything_is_sent(branch: str) -> None:
    with pytest.raises(ValueError, match="branch"):
        AsyncKnock(API_KEY, branch=branch)


async def test_custom_headers_from_the_environment(serve: Any, no_knock_env: pytest.MonkeyPatch) -> None:
    no_knock_env.setenv("KNOCK_CUSTOM_HEADERS", "X-Team: growth\n\nX-Trace:  abc:123 \nX-Over: env\n")
    recorder = Recorder()
    async with AsyncKnock(
        API_KEY, base_url=await serve(recorder.handle), default_headers={"x-over": "code"}
    ) as knock:
        await knock.users.get("u1")
    headers = recorder.requests[0].headers
    assert headers["X-Team"] == "growth"
    assert headers["X-Trace"] == "abc:123"  # only the first colon separates
    assert headers.getall("X-Over") == ["code"]  # default_headers win, case-insensitively


def test_a_malformed_custom_header_line_is_named_but_not_shown(no_knock_env: pytest.MonkeyPatch) -> None:
    no_knock_env.setenv("KNOCK_CUSTOM_HEADERS", "X-Ok: 1\nsk_secret_value_without_colon")
    with pytest.raises(ValueError, match="line 2") as caught:
        AsyncKnock(API_KEY)
    assert "sk_secret" not in str(caught.value)


# --- proxy ------------------------------------------------------------------------------


class ForwardProxy:
    """A tiny HTTP forward proxy: forwards each absolute-form request and records its URL."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def handle(self, request: web.Request) -> web.Response:
        target = str(request.url)
        self.seen.append(target)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "proxy-connection")}
        async with (
            aiohttp.ClientSession() as session,
            session.request(request.method, target, headers=headers, data=await request.read()) as answer,
        ):
            body = await answer.read()
            kept = {k: v for k, v in answer.headers.items() if k.lower() == "content-type"}
            return web.Response(status=answer.status, body=body, headers=kept)


async def test_the_proxy_option_carries_every_request(serve: Any, no_knock_env: pytest.MonkeyPatch) -> None:
    proxy = ForwardProxy()
    proxy_url = await serve(proxy.handle)
    async with KnockTestServer() as server:
        server.identify_user("ada", name="Ada")
        async with AsyncKnock(server.api_key, base_url=server.url, proxy=proxy_url) as knock:
            user = await knock.users.get("ada")
        assert user.name == "Ada"
        assert proxy.seen == [f"{server.url}/v1/users/ada"]


async def test_the_environment_proxy_is_honoured_unless_no_proxy(
    serve: Any, no_knock_env: pytest.MonkeyPatch
) -> None:
    proxy = ForwardProxy()
    no_knock_env.setenv("HTTP_PROXY", await serve(proxy.handle))
    async with KnockTestServer() as server:
        server.identify_user("ada")
        async with AsyncKnock(server.api_key, base_url=server.url) as knock:
            await knock.users.get("ada")
        assert len(proxy.seen) == 1
        no_knock_env.setenv("NO_PROXY", "127.0.0.1")
        async with AsyncKnock(server.api_key, base_url=server.url) as knock:
            assert knock.config.proxy is None
            await knock.users.get("ada")
        assert len(proxy.seen) == 1  # the second client went straight to the server
        assert len(server.requests) == 2


def test_a_proxy_url_is_checked_and_never_shown() -> None:
    with pytest.raises(ValueError, match="proxy") as caught:
        AsyncKnock(API_KEY, proxy="socks5://user:hunter2@proxy.local:1080")
    assert "hunter2" not in str(caught.value)
    knock = AsyncKnock(API_KEY, proxy="http://user:hunter2@proxy.local:3128")
    assert "hunter2" not in repr(knock.config) and "hunter2" not in repr(knock)


# --- with_options -----------------------------------------------------------------------


async def test_with_options_changes_some_options_and_shares_session_and_limiter(
    serve: Any, no_knock_env: pytest.MonkeyPatch
) -> None:
    recorder = Recorder()
    limiter = RateLimiter()
    knock = AsyncKnock(API_KEY, base_url=await serve(recorder.handle), rate_limiter=limiter, timeout=30)
    preview = knock.with_options(branch="preview", timeout=5, max_retries=0)
    assert preview.config.timeout == 5 and preview.config.branch == "preview"
    assert preview.config.retry == RetryPolicy(max_retries=0)
    assert preview.config.rate_limiter is limiter and preview.config.api_key == knock.config.api_key
    assert knock.config.timeout == 30 and knock.config.branch is None  # the original is unchanged
    await knock.users.get("u1")
    await preview.users.get("u1")
    assert [r.headers.get("X-Knock-Branch") for r in recorder.requests] == [None, "preview"]
    # One session: both requests came over the same pooled connection.
    assert len({r.transport.get_extra_info("peername") for r in recorder.requests if r.transport}) == 1
    await preview.close()  # the derived client's close leaves the shared session open
    assert preview.closed and not knock.closed
    await knock.users.get("u1")
    with pytest.raises(ClientClosedError):
        await preview.users.get("u1")
    await knock.close()  # the original's close closes the session for both
    other = knock.with_options(timeout=1)
    with pytest.raises(ClientClosedError):
        await other.users.get("u1")


# --- attempt_timeout --------------------------------------------------------------------


async def test_a_stalled_attempt_is_retried_with_the_same_idempotency_key(
    serve: Any, no_knock_env: pytest.MonkeyPatch
) -> None:
    keys: list[str | None] = []

    async def stall_first(request: web.Request) -> web.Response:
        keys.append(request.headers.get("Idempotency-Key"))
        if len(keys) == 1:
            await asyncio.sleep(30)  # a read that hangs
        return web.json_response(USER_JSON)

    knock = AsyncKnock(
        API_KEY,
        base_url=await serve(stall_first),
        attempt_timeout=0.3,
        timeout=10,
        retry_policy=RetryPolicy(initial_delay=0.01),
        rate_limiter=None,
    )
    started = time.monotonic()
    user = await knock.users.update("u1", name="Ada")
    elapsed = time.monotonic() - started
    await knock.close()
    assert user.id == "u1"
    assert len(keys) == 2 and keys[0] is not None and keys[0] == keys[1]
    assert 0.3 <= elapsed < 5  # one attempt's limit, not the call's 10 s


async def test_attempts_that_all_stall_end_at_the_calls_deadline(
    serve: Any, no_knock_env: pytest.MonkeyPatch
) -> None:
    attempts = 0

    async def always_stall(request: web.Request) -> web.Response:
        nonlocal attempts
        attempts += 1
        await asyncio.sleep(30)
        return web.json_response(USER_JSON)

    knock = AsyncKnock(
        API_KEY,
        base_url=await serve(always_stall),
        attempt_timeout=0.4,
        timeout=1.0,
        retry_policy=RetryPolicy(max_retries=10, initial_delay=0.01, max_delay=0.01),
        rate_limiter=None,
    )
    started = time.monotonic()
    with pytest.raises(APITimeoutError):
        await knock.users.get("u1")
    elapsed = time.monotonic() - started
    await knock.close()
    assert attempts >= 2  # retried after the first stalled attempt
    assert elapsed < 2.0  # and all of it within the call's deadline


async def test_attempt_timeout_defaults_and_checks() -> None:
    assert AsyncKnock(API_KEY).config.attempt_timeout == 15.0
    assert AsyncKnock(API_KEY, attempt_timeout=None).config.attempt_timeout is None
    with pytest.raises(ValueError, match="attempt_timeout"):
        AsyncKnock(API_KEY, attempt_timeout=0)


# --- the replay flags -------------------------------------------------------------------


async def test_raw_response_tells_a_replayed_answer(serve: Any, no_knock_env: pytest.MonkeyPatch) -> None:
    replayed = Recorder({"Idempotent-Replayed": "true", "Original-X-Request-Id": "req_first"})
    fresh = Recorder({"X-Request-Id": "req_second"})
    async with AsyncKnock(API_KEY, base_url=await serve(replayed.handle), rate_limiter=None) as knock:
        answer = await knock.with_raw_response(knock.users.update("u1", name="Ada"))
    assert answer.idempotent_replayed is True
    assert answer.original_request_id == "req_first"
    async with AsyncKnock(API_KEY, base_url=await serve(fresh.handle), rate_limiter=None) as knock:
        answer = await knock.with_raw_response(knock.users.update("u1", name="Ada"))
    assert answer.idempotent_replayed is False
    assert answer.original_request_id is None and answer.request_id == "req_second"


# --- one clock --------------------------------------------------------------------------


async def test_one_manual_clock_drives_the_clients_backoff(
    serve: Any, no_knock_env: pytest.MonkeyPatch
) -> None:
    clock = ManualClock()
    answers = [503, 200]

    async def flaky(request: web.Request) -> web.Response:
        status = answers.pop(0)
        return web.json_response(USER_JSON if status == 200 else {"message": "busy"}, status=status)

    knock = AsyncKnock(
        API_KEY,
        base_url=await serve(flaky),
        clock=clock,
        retry_policy=RetryPolicy(initial_delay=30, max_delay=30),
        timeout=None,
    )
    call = asyncio.ensure_future(knock.users.get("u1"))
    for _ in range(200):  # until the first answer is in and the backoff has begun
        await asyncio.sleep(0.01)
        if clock.pending:
            break
    assert answers == [200] and not call.done()
    clock.advance(10)
    await asyncio.sleep(0.05)
    assert not call.done()  # 10 of at least 22.5 s of backoff (30 s less jitter) have passed
    clock.advance(30)
    user = await asyncio.wait_for(call, 5)
    assert user.id == "u1" and answers == []
    assert clock.monotonic() == 40
    await knock.close()


async def test_a_cancelled_manual_sleep_leaves_no_timer() -> None:
    clock = ManualClock()
    sleeper = asyncio.ensure_future(clock.sleep(5))
    await asyncio.sleep(0)
    assert clock.pending == 1
    sleeper.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sleeper
    assert clock.pending == 0


async def test_one_manual_clock_drives_the_server_and_the_clients_polling() -> None:
    clock = ManualClock()
    async with KnockTestServer(clock=clock, bulk=BulkPace(step=1.0)) as server:
        knock = AsyncKnock(server.api_key, base_url=server.url, clock=clock, rate_limiter=None)
        operation = await knock.users.bulk.identify(users=[{"id": f"user-{n}"} for n in range(3)])
        waiting = asyncio.ensure_future(
            knock.bulk_operations.wait(operation, timeout=600, poll_interval=2, max_poll_interval=2)
        )
        advanced = 0
        while not waiting.done() and advanced < 100:
            await asyncio.sleep(0.01)  # let the client poll and the server answer
            clock.advance(1)
            advanced += 1
        done = await asyncio.wait_for(waiting, 5)
        await knock.close()
    assert done.status == "completed" and done.success_count == 3
    assert 2 <= advanced < 100  # the job and the polls moved with the manual clock alone
    assert clock.monotonic() == advanced


async def test_an_unreachable_proxy_never_shows_its_password(no_knock_env: pytest.MonkeyPatch) -> None:
    knock = AsyncKnock(
        API_KEY,
        base_url="http://127.0.0.1:9",
        proxy="http://user:hunter2-proxy-pw@127.0.0.1:1",  # nothing listens on port 1
        max_retries=0,
        rate_limiter=None,
    )
    with pytest.raises(APIConnectionError) as caught:
        await knock.users.get("u1")
    await knock.close()
    shown = "".join(traceback.format_exception(caught.value)) + repr(caught.value.args)
    assert "hunter2-proxy-pw" not in shown
    assert caught.value.__cause__ is None and caught.value.__context__ is None


async def test_one_call_may_set_its_own_attempt_timeout(serve: Any, no_knock_env: pytest.MonkeyPatch) -> None:
    attempts = 0

    async def slow_export(request: web.Request) -> web.Response:
        nonlocal attempts
        attempts += 1
        await asyncio.sleep(0.5)  # slower than the client's attempt_timeout, not than the call's
        return web.json_response(USER_JSON)

    knock = AsyncKnock(
        API_KEY, base_url=await serve(slow_export), attempt_timeout=0.2, max_retries=0, rate_limiter=None
    )
    with pytest.raises(APITimeoutError, match="attempt_timeout"):
        await knock.users.get("u1")
    user = await knock.users.get("u1", options=RequestOptions(attempt_timeout=2))
    await knock.close()
    assert user.id == "u1" and attempts == 2
    with pytest.raises(ValueError, match=r"RequestOptions\.attempt_timeout"):
        RequestOptions(attempt_timeout=0)
