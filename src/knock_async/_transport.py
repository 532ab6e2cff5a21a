"""One call end to end, in three steps: prepare (check and encode the caller's input), send
(rate limit, exchange, retry, all under the call's one deadline), decode.

This is the hot path. Work that depends only on the `Operation` is cached per operation (see
`_encode.plan_for`); headers common to every call are built once per transport; anything
needed only when something fails (the secrets to redact, say) is worked out only then.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar, cast
from urllib.parse import urlsplit

import aiohttp
import attrs
from multidict import CIMultiDictProxy
from yarl import URL

from ._clock import Clock, within
from ._config import ClientConfig, RetryPolicy
from ._encode import (
    Plan,
    add_extras,
    check_kinds,
    check_limits,
    check_lists,
    encode_body,
    encode_query,
    plan_for,
    secret_values,
)
from ._errors import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    ClientClosedError,
    KnockError,
    PayloadLimitError,
    ResponseTooLargeError,
)
from ._headers import check_headers, header, merge_headers
from ._limiter import scope_for
from ._logging import logger
from ._raw_response import rate_limited_ids, report_response
from ._reading import Misfit, read_response
from ._redact import redact
from ._responses import Unreadable, decode_json, error_from_response, parse_retry_after
from ._session import SessionHolder, env_proxy_for
from ._types import UNSET, Operation, RequestOptions
from ._version import VERSION

T = TypeVar("T")

MAX_IDEMPOTENCY_KEY_LENGTH: Final = 255  # Knock's documented maximum
_CREDENTIAL_HEADERS: Final = frozenset({"authorization", "x-knock-user-token"})
_CONTROL_CHARACTERS: Final = re.compile(r"[\x00-\x1f\x7f]")
_SCOPE_CACHE_SIZE: Final = 1024

USER_AGENT: Final = f"knock-async/{VERSION}"


@attrs.frozen
class CallSettings:
    """What one call runs with: the client's defaults, or those with `RequestOptions` applied."""

    headers: dict[str, str]
    timeout: float | None
    retry: RetryPolicy
    # aiohttp's limits for one attempt: `connect`, and `total` = the attempt_timeout (so an
    # attempt costs no timer of ours).
    attempt: aiohttp.ClientTimeout


# --- a prepared call --------------------------------------------------------------------


class _Prepared:
    """One call's request, checked and encoded, ready to send (and to resend)."""

    __slots__ = ("data", "path", "payload", "plan", "settings", "url")

    def __init__(
        self,
        plan: Plan,
        path: str,
        url: URL,
        data: bytes | None,
        payload: dict[str, Any] | None,
        settings: CallSettings,
    ) -> None:
        self.plan = plan
        self.path = path  # rendered, for error messages: "/v1/users/u1"
        self.url = url
        self.data = data
        self.payload = payload  # kept to find body secrets if an error needs redacting
        self.settings = settings


Response = tuple[int, CIMultiDictProxy[str], bytes]


@attrs.frozen
class _NoAnswer:
    """Why an attempt got no response: the aiohttp exception's type name and text, nothing
    more (its request_info holds the Authorization header)."""

    timed_out: bool
    kind: str
    text: str


class _NoLimit(contextlib.AbstractAsyncContextManager[None]):
    async def __aexit__(self, *exc_info: object) -> None:
        return None


_NO_LIMIT: Final = _NoLimit()


# --- the transport ----------------------------------------------------------------------


class Transport:
    """Sends one operation at a time over one pooled aiohttp session.

    `sessions` is given when this transport shares another's session (`with_options`); it is
    then the other transport's to close.
    """

    def __init__(self, config: ClientConfig, sessions: SessionHolder | None = None) -> None:
        self.config = config
        self._base_url = config.base_url
        self._clock = config.clock
        token = config.user_token
        self._token_source = None if token is None or isinstance(token, str) else token
        attempt = _attempt_limits(config, config.attempt_timeout)
        self._defaults = CallSettings(_client_headers(config), config.timeout, config.retry, attempt)
        self._scope = scope_for(config.api_key, token if isinstance(token, str) else None)
        self._scopes: dict[str, str] = {}  # by user token, when a callable supplies them
        self._owns_sessions = sessions is None
        self.sessions = sessions if sessions is not None else SessionHolder(config.session)
        own_session = config.session is None
        self._proxy = config.proxy or (env_proxy_for(config.base_url) if own_session else None)
        self._limiter = config.rate_limiter
        self._closed = False
        self._calls: set[asyncio.Task[Any]] = set()  # tasks with a call in progress
        self._interrupted: set[asyncio.Task[Any]] = set()  # cancelled by close()

    def __repr__(self) -> str:
        return f"Transport(base_url={self._base_url!r})"

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def proxy(self) -> str | None:
        """The proxy every request goes through (from `proxy=` or the environment), if any."""
        return self._proxy

    @property
    def closed(self) -> bool:
        return self._closed or self.sessions.closed

    async def close(self) -> None:
        """Fail every call in flight or queued with `ClientClosedError`, then close the session
        this transport opened (a caller's own session, or one shared from another transport,
        is left open)."""
        self._closed = True
        current = asyncio.current_task()
        for task in self._calls:
            if task is not current and not task.done():
                self._interrupted.add(task)
                task.cancel()  # leaves the limiter's queue too: its waits are cancellation-safe
        if self._owns_sessions:
            await self.sessions.close()

    async def __aenter__(self) -> Transport:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def request(
        self,
        op: Operation[T],
        *,
        path: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        options: RequestOptions | None = None,
    ) -> T:
        """Send `op` (retrying when that is safe) and return its structured response."""
        if self.closed:
            closed = ClientClosedError("this Knock client is closed; create a new one to make requests")
            raise closed.for_request(op.id, op.method.upper(), op.path)
        try:
            prepared = self._prepare(op, path, query, body, extra_body, options)
        except PayloadLimitError as refused:  # the one KnockError of the caller's input
            refused.for_request(op.id, op.method.upper(), op.path)
            raise
        task = asyncio.current_task()
        assert task is not None  # a coroutine awaited under asyncio always runs in a task
        self._calls.add(task)
        try:
            status, headers, raw = await self._send(prepared)
            return cast(T, self._decode(prepared, status, headers, raw))
        except KnockError as raised:
            error = raised
        except asyncio.CancelledError:
            if not self._was_interrupted(task):
                raise  # the caller's own cancellation stays a cancellation
            error = ClientClosedError("the client was closed while this call was queued or in flight")
        finally:
            self._calls.discard(task)
        # Raised here, outside any `except`, so no exception of aiohttp's (whose request_info
        # holds the Authorization header) can ride along as __context__.
        raise error.for_request(op.id, prepared.plan.method, prepared.path)

    def _was_interrupted(self, task: asyncio.Task[Any]) -> bool:
        if task not in self._interrupted:
            return False
        self._interrupted.discard(task)
        uncancel = getattr(task, "uncancel", None)  # 3.11+: undo close()'s cancel, keep the caller's
        return uncancel is None or uncancel() == 0

    # --- step 1: prepare ----------------------------------------------------------------

    def _prepare(
        self,
        op: Operation[Any],
        path: Mapping[str, Any] | None,
        query: Mapping[str, Any] | None,
        body: Mapping[str, Any] | None,
        extra_body: Mapping[str, Any] | None,
        options: RequestOptions | None,
    ) -> _Prepared:
        """Everything that can fail on the caller's input fails here, before anything is sent."""
        plan = plan_for(op)
        rendered = plan.render_path(path)
        check_kinds(plan, query, body)
        if options is not None and (options.extra_query or options.extra_body):
            query, extra_body = add_extras(plan, query, extra_body, options)
        url = self._base_url + rendered
        if query:
            query_string = encode_query(query, op.id)
            if query_string:
                url = f"{url}?{query_string}"
        data: bytes | None = None
        payload: dict[str, Any] | None = None
        if body is not None or extra_body is not None:
            payload, data = encode_body(op.id, body, extra_body)
            if plan.limits:
                check_limits(plan, payload, len(data))
        if op.lists:
            check_lists(plan, query, payload)
        settings = self._apply_options(plan, options) if options else self._defaults
        if plan.writes and "Idempotency-Key" not in settings.headers:
            # Made once per call: every retry of this call carries the same key.
            headers = merge_headers(settings.headers, {"Idempotency-Key": new_idempotency_key()})
            settings = CallSettings(headers, settings.timeout, settings.retry, settings.attempt)
        # Already percent-encoded: yarl must not re-normalise it.
        return _Prepared(plan, rendered, URL(url, encoded=True), data, payload, settings)

    def _apply_options(self, plan: Plan, options: RequestOptions) -> CallSettings:
        """The call's settings: the client's, with `options` applied."""
        settings = self._defaults
        headers = settings.headers
        if options.headers:
            check_headers(options.headers, f"{plan.op.id}: RequestOptions.headers")
            headers = merge_headers(headers, options.headers)
        key = options.idempotency_key
        if key is None and plan.writes and options.headers:
            key = header(options.headers, "Idempotency-Key")
        if key is not None:
            _check_idempotency_key(key)
            headers = merge_headers(headers, {"Idempotency-Key": key})
        retry = settings.retry
        if options.max_retries is not None:
            retry = attrs.evolve(retry, max_retries=options.max_retries)
        timeout = settings.timeout if options.timeout is UNSET else options.timeout
        attempt = settings.attempt
        if options.attempt_timeout is not UNSET:
            attempt = _attempt_limits(self.config, options.attempt_timeout)
        return CallSettings(headers, timeout, retry, attempt)

    # --- step 2: send -------------------------------------------------------------------

    async def _send(self, prepared: _Prepared) -> Response:
        """The attempts of one call, all within its deadline."""
        headers, scope = prepared.settings.headers, self._scope
        if self._token_source is not None:
            headers, scope = await self._with_current_user_token(headers)
        timeout = prepared.settings.timeout
        if timeout is None:  # no deadline, on purpose
            return await self._attempts(prepared, headers, scope, None)
        deadline = self._clock.monotonic() + timeout
        try:
            return await within(timeout, self._attempts(prepared, headers, scope, deadline))
        except TimeoutError:
            pass  # the deadline passed, or the rate limiter knew its wait would outlast it
        raise APITimeoutError(f"no complete answer within the call's timeout of {timeout:g} s")

    async def _attempts(
        self, prepared: _Prepared, headers: Mapping[str, str], scope: str, deadline: float | None
    ) -> Response:
        """Attempt until a 2xx, or until the retry policy or the deadline says stop."""
        session = await self.sessions.current()
        plan, retry, limiter, clock = prepared.plan, prepared.settings.retry, self._limiter, self._clock
        retries = 0
        while True:
            outcome = await self._attempt(session, prepared, headers, scope, deadline, retries)
            if not isinstance(outcome, _NoAnswer) and 200 <= outcome[0] < 300:
                return outcome
            failure, status, retry_after = self._failure(prepared, headers, outcome)
            wait = retry.retry_in(retries, status, retry_after)
            if status == 429 and limiter is not None:
                # Every caller of this bucket holds off, not only this call's retry.
                pause = wait if wait is not None else retry.delay(retries, retry_after)
                await limiter.pause(plan.op.tier, scope, pause)
            if wait is None or (deadline is not None and clock.monotonic() + wait >= deadline):
                raise failure  # retries spent, not retryable, or the wait would outlast the deadline
            reason = outcome.kind if isinstance(outcome, _NoAnswer) else f"status {status}"
            logger.info(
                "knock %s %s [%s]: %s; retrying in %.2f s (retry %d of %d)",
                plan.method, plan.op.path, plan.op.id, reason, wait, retries + 1, retry.max_retries,
            )  # fmt: skip
            await clock.sleep(wait)
            retries += 1

    async def _attempt(
        self,
        session: aiohttp.ClientSession,
        prepared: _Prepared,
        headers: Mapping[str, str],
        scope: str,
        deadline: float | None,
        retries: int,
    ) -> Response | _NoAnswer:
        """One exchange inside a rate-limiter slot: the response, or why there was none."""
        plan, limiter = prepared.plan, self._limiter
        left = None if deadline is None else deadline - self._clock.monotonic()
        async with limiter.slot(plan.op.tier, scope, left) if limiter is not None else _NO_LIMIT:
            started = time.perf_counter()
            try:
                cap = self.config.max_response_bytes
                outcome: Response | _NoAnswer = await _exchange(session, prepared, headers, cap, self._proxy)
            except (asyncio.TimeoutError, aiohttp.ClientError) as exc:
                outcome = _no_answer(exc, prepared.settings.attempt.total)
        if logger.isEnabledFor(logging.DEBUG):  # the arguments cost more than the check
            logger.debug(
                "knock %s %s [%s] -> %s in %.1f ms (attempt %d)",
                plan.method, plan.op.path, plan.op.id,
                outcome.kind if isinstance(outcome, _NoAnswer) else outcome[0],
                (time.perf_counter() - started) * 1000, retries + 1,
            )  # fmt: skip
        return outcome

    def _failure(
        self, prepared: _Prepared, headers: Mapping[str, str], outcome: Response | _NoAnswer
    ) -> tuple[KnockError, int | None, float | None]:
        """The error for a failed attempt (secrets redacted), its status and its Retry-After."""
        secrets = self._secrets(prepared, headers)
        if isinstance(outcome, _NoAnswer):
            problem = f"{outcome.kind}: {redact(outcome.text, secrets)}" if outcome.text else outcome.kind
            if outcome.timed_out:
                return APITimeoutError(f"Knock did not answer in time ({problem})"), None, None
            return APIConnectionError(f"could not reach Knock ({problem})"), None, None
        status, response_headers, raw = outcome
        error = error_from_response(status, response_headers, raw, secrets=secrets)
        return error, status, parse_retry_after(response_headers.get("Retry-After"))

    async def _with_current_user_token(self, headers: dict[str, str]) -> tuple[dict[str, str], str]:
        source = cast(Callable[[], Any], self._token_source)
        token = source()
        if inspect.isawaitable(token):
            token = await token
        if not isinstance(token, str) or not token:
            raise TypeError("the user_token callable must return a non-empty str")
        check_headers({"X-Knock-User-Token": token}, "user_token")
        scope = self._scopes.get(token)
        if scope is None:
            if len(self._scopes) >= _SCOPE_CACHE_SIZE:
                self._scopes.clear()
            scope = self._scopes[token] = scope_for(self.config.api_key, token)
        return {**headers, "X-Knock-User-Token": token}, scope

    def _secrets(self, prepared: _Prepared, headers: Mapping[str, str]) -> tuple[str, ...]:
        """Every credential this call sends: worked out only when an error needs redacting."""
        found = {self.config.api_key}
        proxy_password = urlsplit(self._proxy).password if self._proxy else None
        if proxy_password:
            found.add(proxy_password)
        for name, value in headers.items():
            if name.lower() in _CREDENTIAL_HEADERS:
                found.update((value, value.removeprefix("Bearer ")))
        fields = prepared.plan.op.secret_fields
        if fields and prepared.payload:
            found.update(secret_values(prepared.payload, fields))
        # Longest first, so a secret that contains another is redacted whole.
        return tuple(sorted(found, key=len, reverse=True))

    # --- step 3: decode -----------------------------------------------------------------

    def _decode(self, prepared: _Prepared, status: int, headers: CIMultiDictProxy[str], raw: bytes) -> Any:
        plan = prepared.plan
        rate_limited = rate_limited_ids(headers)
        if rate_limited:
            # Knock answered 2xx but skipped these entities; never let that pass silently.
            for param, ids in rate_limited.items():
                logger.warning(
                    "knock %s %s [%s]: Knock rate-limited %d %s and did not update them: %s",
                    plan.method, plan.op.path, plan.op.id, len(ids), param, ",".join(ids),
                )  # fmt: skip
        report_response(status, headers, rate_limited)
        response_type = plan.op.response
        if response_type is None or status == 204 or not raw:
            return None
        decoded = decode_json(raw)
        if isinstance(decoded, Unreadable):
            problem = f"the response is {decoded.value}"
        else:
            try:
                return read_response(decoded, response_type, plan.op.id, strict=self.config.strict_responses)
            except Misfit as misfit:  # strict mode: names the place, never the value
                name = getattr(response_type, "__name__", None) or repr(response_type)
                problem = f"the response does not fit {name}: {misfit}"
        # Raised outside the `except`: the converter's error may quote the body.
        raise APIResponseValidationError(problem, status=status, headers=headers)


def new_idempotency_key() -> str:
    """A random version-4 UUID in its canonical text, as `str(uuid.uuid4())` gives it (both
    draw 16 bytes from os.urandom), in under half its time: formatted from the bytes' hex
    instead of through a UUID object."""
    digits = os.urandom(16).hex()
    variant = "89ab"[int(digits[16], 16) & 3]  # RFC 4122: the variant's two top bits are 10
    return f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-{variant}{digits[17:20]}-{digits[20:]}"


def _check_idempotency_key(key: str) -> None:
    if not isinstance(key, str) or not key.strip():
        raise ValueError("an idempotency key must be a non-blank str")
    if len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise ValueError(
            f"an idempotency key must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} characters, got {len(key)}"
        )
    if _CONTROL_CHARACTERS.search(key):
        raise ValueError("an idempotency key must not contain control characters")


async def _exchange(
    session: aiohttp.ClientSession,
    prepared: _Prepared,
    headers: Mapping[str, str],
    cap: int,
    proxy: str | None,
) -> Response:
    # raise_for_status=False: a caller's session may set it, and our error mapping needs the body.
    # allow_redirects=False: Knock never redirects, and a redirect would carry the credentials
    # (and on 307/308 the body) to wherever Location points.
    async with session.request(
        prepared.plan.method,
        prepared.url,
        headers=headers,
        data=prepared.data,
        timeout=prepared.settings.attempt,
        raise_for_status=False,
        allow_redirects=False,
        proxy=proxy,
    ) as response:
        size = response.content_length
        if size is not None and size > cap:
            response.close()
            raise ResponseTooLargeError(response.status, cap, size)
        if size is not None and "Content-Encoding" not in response.headers:
            raw = await response.read()  # its length is known and within the cap
        else:
            raw = await _read_capped(response, cap)
        return response.status, response.headers, raw


async def _read_capped(response: aiohttp.ClientResponse, cap: int) -> bytes:
    """The body, counting decompressed bytes as they arrive: a small gzip may unpack to GBs."""
    chunks = []
    size = 0
    async for chunk in response.content.iter_any():
        size += len(chunk)
        if size > cap:
            response.close()
            raise ResponseTooLargeError(response.status, cap, None)
        chunks.append(chunk)
    return b"".join(chunks)


def _client_headers(config: ClientConfig) -> dict[str, str]:
    """The headers every request of this client carries."""
    headers = {
        "Authorization": f"Bearer {config.api_key}",
        "User-Agent": USER_AGENT,
        "Accept": "application/json",
        "Content-Type": "application/json",
    }
    if config.branch is not None:
        headers["X-Knock-Branch"] = config.branch
    token = config.user_token
    if isinstance(token, str) and token:
        headers["X-Knock-User-Token"] = token
    return merge_headers(headers, config.default_headers) if config.default_headers else headers


def _attempt_limits(config: ClientConfig, attempt_timeout: float | None) -> aiohttp.ClientTimeout:
    # The call's deadline bounds everything; aiohttp bounds the connect step and one attempt,
    # from sending to the last byte read.
    return aiohttp.ClientTimeout(total=attempt_timeout, connect=config.connect_timeout)


def _no_answer(exc: BaseException, attempt_timeout: float | None) -> _NoAnswer:
    """Why an attempt got no answer; only the text is kept (request_info holds our headers)."""
    if not isinstance(exc, asyncio.TimeoutError):
        return _NoAnswer(False, type(exc).__name__, str(exc))
    if type(exc) is asyncio.TimeoutError and attempt_timeout is not None:
        # aiohttp's bare TimeoutError: the attempt's `total` ran out.
        return _NoAnswer(True, "attempt_timeout", f"no complete response within {attempt_timeout:g} s")
    return _NoAnswer(True, type(exc).__name__, str(exc))
