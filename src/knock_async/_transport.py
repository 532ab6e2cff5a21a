"""One request end to end: encode, check limits, rate-limit, send, retry, map errors, decode.

This is the hot path. Work that depends only on the `Operation` (path template pieces, limit
paths, whether it needs an idempotency key) is done once per operation and cached; headers
common to every call are built once per transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import enum
import hashlib
import json
import logging
import os
import random
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextvars import ContextVar
from importlib import metadata
from typing import Any, Final, Generic, Protocol, TypeVar, cast
from urllib.parse import quote, urlencode

import aiohttp
import attrs
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from ._convert import converter, format_datetime
from ._errors import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    ClientClosedError,
    KnockError,
    PayloadLimitError,
    error_from_response,
    parse_retry_after,
    redact,
)
from ._types import UNSET, Limit, Operation, RequestOptions

T = TypeVar("T")

DEFAULT_BASE_URL: Final = "https://api.knock.app"
DEFAULT_TIMEOUT: Final = 60.0  # seconds for a whole call, retries and backoff included
DEFAULT_CONNECT_TIMEOUT: Final = 10.0
DEFAULT_MAX_RETRIES: Final = 2
INITIAL_RETRY_DELAY: Final = 0.5
MAX_RETRY_DELAY: Final = 8.0
MAX_RETRY_AFTER: Final = 60.0  # a larger Retry-After is capped: a stuck call is worse than a 429
MAX_IDEMPOTENCY_KEY_LENGTH: Final = 255  # Knock's documented maximum
RATE_LIMITED_PREFIX: Final = "x-ratelimited-"
RETRYABLE_4XX: Final = frozenset({408, 409, 429})

try:
    _VERSION = metadata.version("knock-async")
except metadata.PackageNotFoundError:  # running from a source tree that is not installed
    _VERSION = "0.0.0"
USER_AGENT: Final = f"knock-async/{_VERSION}"

logger = logging.getLogger("knock_async")

_JSON_SCALARS: Final = frozenset({str, int, float, bool, type(None)})
# One encoder for every call: json.dumps with options builds a new encoder each time.
_encode_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


def configure_logging_from_env() -> None:
    """Apply `KNOCK_LOG=info|debug` to the "knock_async" logger; the client calls it once.

    A stderr handler is added only when nothing is configured yet, so an application's own
    logging setup is never doubled.
    """
    level = {"debug": logging.DEBUG, "info": logging.INFO}.get(
        os.environ.get("KNOCK_LOG", "").strip().lower()
    )
    if level is None:
        return
    logger.setLevel(level)
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        logger.addHandler(handler)


class RateLimiter(Protocol):
    """What the transport needs from a rate limiter (implemented in `_ratelimit.py`)."""

    def slot(
        self, tier: int, scope: str, deadline: float | None = None
    ) -> contextlib.AbstractAsyncContextManager[None]:
        """Wait for a token of `tier` for `scope` and an in-flight slot; hold the slot inside.
        `deadline` (a time.monotonic() instant): raise TimeoutError at once if the wait cannot end by then."""
        ...

    async def pause(self, tier: int, scope: str, seconds: float) -> None:
        """A 429 arrived: stop `tier`'s bucket for `scope` for `seconds`."""
        ...


# --- raw responses ----------------------------------------------------------------------


@attrs.frozen
class ApiResponse(Generic[T]):
    """The HTTP facts of a call next to its result; see `with_raw_response`."""

    status: int
    headers: Mapping[str, str]  # read-only, case-insensitive
    data: T
    rate_limited: dict[str, list[str]]  # from x-ratelimited-{param}: ids Knock did not update
    request_id: str | None = None


class _LastResponse:
    """Filled by every request made while `with_raw_response` awaits its call."""

    __slots__ = ("headers", "rate_limited", "status")

    def __init__(self) -> None:
        self.status: int | None = None
        self.headers: Mapping[str, str] = {}
        self.rate_limited: dict[str, list[str]] = {}


_capture: ContextVar[_LastResponse | None] = ContextVar("knock_async_last_response", default=None)


async def with_raw_response(call: Awaitable[T]) -> ApiResponse[T]:
    """Await `call` and return its result with the status and headers of its last request.

    `call` must be a coroutine not yet started (e.g. `knock.users.get("u1")`): it then runs in
    this context and its requests report here. A task created earlier runs in its own context.
    """
    outer = _capture.get()
    holder = _LastResponse()
    token = _capture.set(holder)
    try:
        data = await call
    finally:
        _capture.reset(token)
    if holder.status is None:
        raise RuntimeError("with_raw_response: the awaited call made no request to Knock")
    if outer is not None:  # a nested with_raw_response: the outer call made this request too
        outer.status, outer.headers, outer.rate_limited = holder.status, holder.headers, holder.rate_limited
    headers = CIMultiDictProxy(CIMultiDict(holder.headers))
    return ApiResponse(
        status=holder.status,
        headers=headers,
        data=data,
        rate_limited=holder.rate_limited,
        request_id=headers.get("x-request-id"),
    )


# --- per-operation plan -----------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_LIMIT_STEP = re.compile(r"^([^\[\]]+)(\[\])?$")


class _Plan:
    """What one Operation needs on every call, worked out once."""

    __slots__ = ("limits", "method", "op", "pieces", "writes")

    def __init__(self, op: Operation[Any]) -> None:
        self.op = op
        self.method = op.method.upper()
        # Literal text at even indices, parameter names at odd ones.
        self.pieces: tuple[str, ...] = tuple(_PLACEHOLDER.split(op.path))
        self.writes = self.method != "GET"  # every non-GET call carries an Idempotency-Key
        self.limits = tuple((limit, _limit_steps(limit.field)) for limit in op.limits)

    def render_path(self, params: Mapping[str, Any] | None) -> str:
        pieces = self.pieces
        if len(pieces) == 1:
            return pieces[0]
        parts = list(pieces)
        for i in range(1, len(parts), 2):
            parts[i] = _encode_path_value(parts[i], params.get(parts[i]) if params else None)
        return "".join(parts)


_PLANS: dict[int, _Plan] = {}
_MAX_PLANS: Final = 4096  # operations are module constants; the bound only guards against misuse


def _plan_for(op: Operation[Any]) -> _Plan:
    # Keyed by identity: hashing a frozen attrs Operation walks all its fields on every call.
    plan = _PLANS.get(id(op))
    if plan is None or plan.op is not op:
        if len(_PLANS) >= _MAX_PLANS:
            _PLANS.clear()
        plan = _PLANS[id(op)] = _Plan(op)
    return plan


def _limit_steps(field: str) -> tuple[tuple[str, bool], ...]:
    steps = []
    for part in field.split("."):
        match = _LIMIT_STEP.match(part)
        if match is None:
            raise ValueError(
                f"bad Limit.field {field!r}: expected names joined by '.', each optionally ending in []"
            )
        steps.append((match.group(1), match.group(2) is not None))
    return tuple(steps)


# --- encoding ---------------------------------------------------------------------------


def _encode_path_value(name: str, value: Any) -> str:
    if value is None or value is UNSET:
        raise ValueError(f"path parameter {name!r} is required")
    if isinstance(value, enum.Enum):
        value = value.value
    text = value if isinstance(value, str) else str(value)
    if not text:
        raise ValueError(f"path parameter {name!r} must not be empty")
    # Nothing is safe: a "/" in an id must never reach another path.
    encoded = quote(text, safe="")
    if encoded in (".", ".."):  # unreserved, yet a dot segment would be resolved away by servers
        encoded = encoded.replace(".", "%2E")
    return encoded


def _query_value(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return cast(str, value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int or kind is float:
        return str(value)
    if isinstance(value, enum.Enum):
        return _query_value(value.value)
    if isinstance(value, dt.datetime):
        return format_datetime(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _query_pairs(key: str, value: Any) -> Iterator[tuple[str, str]]:
    if value is None or value is UNSET:
        return
    if isinstance(value, (list, tuple, set, frozenset)):
        # Repeated keys; the wire name already carries "[]" where Knock wants it.
        for item in value:
            yield from _query_pairs(key, item)
    elif isinstance(value, Mapping) or attrs.has(type(value)):
        # Objects travel as key[field]=value (deepObject), the way Knock parses them;
        # in a list that gives key[][field]=value.
        for field, item in converter.unstructure(value).items():
            yield from _query_pairs(f"{key}[{field}]", item)
    else:
        yield key, _query_value(value)


def _encode_query(query: Mapping[str, Any]) -> str:
    return urlencode([pair for key, value in query.items() for pair in _query_pairs(key, value)])


def _json_value(value: Any) -> Any:
    return value if type(value) in _JSON_SCALARS else converter.unstructure(value)


def _build_payload(body: Mapping[str, Any] | None, extra_body: Mapping[str, Any] | None) -> dict[str, Any]:
    payload = {key: _json_value(value) for key, value in body.items() if value is not UNSET} if body else {}
    if extra_body:
        for key, value in extra_body.items():
            if value is UNSET:
                continue
            if key in payload:
                raise ValueError(f"{key!r} is given both as a parameter and in extra_body; give it once")
            payload[key] = _json_value(value)
    return payload


def _values_at(
    node: Any, steps: tuple[tuple[str, bool], ...], index: int, where: str
) -> Iterator[tuple[str, Any]]:
    if index == len(steps):
        yield where, node
        return
    key, each = steps[index]
    if not isinstance(node, Mapping) or key not in node:
        return
    child = node[key]
    where = f"{where}.{key}" if where else key
    if not each:
        yield from _values_at(child, steps, index + 1, where)
    elif isinstance(child, list):
        for position, item in enumerate(child):
            yield from _values_at(item, steps, index + 1, f"{where}[{position}]")


def _check_lists(op: Operation[Any], *params: Mapping[str, Any] | None) -> None:
    for given in params:
        if not given:
            continue
        for name in op.lists.intersection(given):
            if isinstance(given[name], str):
                raise TypeError(f"{op.id}: {name!r} takes a list, got the string {given[name]!r}")


def _check_limits(plan: _Plan, payload: Mapping[str, Any], body_size: int) -> None:
    for limit, steps in plan.limits:
        # A part's JSON is a substring of the whole: a body within max_bytes needs no measuring.
        check_bytes = limit.max_bytes is not None and body_size > limit.max_bytes
        if limit.max_items is None and not check_bytes:
            continue
        for where, value in _values_at(payload, steps, 0, ""):
            _check_limit(limit, where, value, check_bytes)


def _check_limit(limit: Limit, where: str, value: Any, check_bytes: bool) -> None:
    if limit.max_items is not None and isinstance(value, list) and len(value) > limit.max_items:
        raise PayloadLimitError(where, "max_items", limit.max_items, len(value))
    if check_bytes and limit.max_bytes is not None:
        size = len(_encode_json(value).encode())
        if size > limit.max_bytes:
            raise PayloadLimitError(where, "max_bytes", limit.max_bytes, size)


def _merge_headers(base: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """`base` updated with `extra`, case-insensitively (else both spellings would be sent)."""
    merged = dict(base)
    names = {name.lower(): name for name in merged}
    for name, value in extra.items():
        previous = names.get(name.lower())
        if previous is not None:
            del merged[previous]
        merged[name] = value
        names[name.lower()] = name
    return merged


def _rate_limited(headers: Mapping[str, str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, value in headers.items():
        if name[:1] in "xX" and name[: len(RATE_LIMITED_PREFIX)].lower() == RATE_LIMITED_PREFIX:
            ids = [part.strip() for part in value.split(",") if part.strip()]
            found.setdefault(name[len(RATE_LIMITED_PREFIX) :].lower(), []).extend(ids)
    return found


def _scope_of(api_key: str, user_token: str | None) -> str:
    # Knock scopes rate limits by key (and signing user); the limiter only needs a stable name.
    material = f"knock-async\0{api_key}\0{user_token or ''}".encode()
    return hashlib.sha256(material).hexdigest()[:32]


# --- the transport ----------------------------------------------------------------------


class Transport:
    """Sends one operation at a time over one pooled aiohttp session."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float | None = DEFAULT_TIMEOUT,
        connect_timeout: float | None = DEFAULT_CONNECT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        user_token: str | None = None,
        session: aiohttp.ClientSession | None = None,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        if not isinstance(api_key, str) or not api_key.strip():
            raise ValueError("an API key is required: pass api_key=... or set KNOCK_API_KEY")
        if not base_url.startswith(("https://", "http://")):
            raise ValueError(f"base_url must start with https:// or http://, got {base_url!r}")
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        self._base_url = base_url.rstrip("/")
        self._total_timeout = timeout
        self._connect_timeout = connect_timeout
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=connect_timeout)
        self.max_retries = max_retries
        self._secrets = (api_key, user_token)  # kept only to redact them from error text
        self._scope = _scope_of(api_key, user_token)
        headers = {
            "Authorization": f"Bearer {api_key}",
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        if user_token:
            headers["X-Knock-User-Token"] = user_token
        self._headers = _merge_headers(headers, default_headers) if default_headers else headers
        self._session = session
        self._owns_session = session is None
        self._limiter = rate_limiter
        self._closed = False
        # Tests replace this to record backoff without waiting.
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    def __repr__(self) -> str:
        return f"Transport(base_url={self._base_url!r})"

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def closed(self) -> bool:
        return self._closed

    async def close(self) -> None:
        """Close the session this transport opened; a caller's own session is left open."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None and self._owns_session:
            await session.close()

    async def __aenter__(self) -> Transport:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _open_session(self) -> aiohttp.ClientSession:
        # Created on first use: an aiohttp session must be made inside the running loop.
        session = aiohttp.ClientSession(timeout=self._timeout)
        self._session = session
        return session

    async def request(
        self,
        op: Operation[T],
        *,
        path: Mapping[str, str] | None = None,
        query: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        options: RequestOptions | None = None,
    ) -> T:
        """Send `op` (retrying when that is safe) and return its structured response."""
        if self._closed:
            raise ClientClosedError("this Knock client is closed; create a new one to make requests")
        plan = _plan_for(op)

        # Everything that can fail on the caller's input fails here, before anything is sent.
        if op.lists:
            _check_lists(op, query, body)
        url = self._base_url + plan.render_path(path)
        if query:
            query_string = _encode_query(query)
            if query_string:
                url = f"{url}?{query_string}"
        data: bytes | None = None
        if body is not None or extra_body is not None:
            payload = _build_payload(body, extra_body)
            data = _encode_json(payload).encode()
            if plan.limits:
                _check_limits(plan, payload, len(data))

        headers = self._headers
        budget = self._total_timeout
        timeout = self._timeout
        max_retries = self.max_retries
        idempotency_key: str | None = None
        if options is not None:
            if options.headers:
                headers = _merge_headers(headers, options.headers)
            if options.timeout is not None:
                budget = options.timeout
                timeout = aiohttp.ClientTimeout(total=budget, connect=self._connect_timeout)
            if options.max_retries is not None:
                max_retries = options.max_retries
            idempotency_key = options.idempotency_key
            if idempotency_key is None and options.headers and plan.writes:
                idempotency_key = next(
                    (v for k, v in options.headers.items() if k.lower() == "idempotency-key"), None
                )
        if idempotency_key is not None or plan.writes:
            if idempotency_key is None:
                # Made once per call, so every retry of this call carries the same key.
                idempotency_key = str(uuid.uuid4())
            elif not 0 < len(idempotency_key) <= MAX_IDEMPOTENCY_KEY_LENGTH:
                raise ValueError(
                    f"an idempotency key must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} characters, "
                    f"got {len(idempotency_key)}"
                )
            headers = _merge_headers(headers, {"Idempotency-Key": idempotency_key})

        session = self._session or self._open_session()
        target = URL(url, encoded=True)  # already percent-encoded; yarl must not re-normalise it
        method = plan.method
        limiter = self._limiter
        deadline = time.monotonic() + budget if budget is not None else None
        spent = 0.0  # seconds of this call's budget used by sends and backoff (not limiter waits)
        attempt = 0
        while True:
            started = 0.0
            cause: BaseException | None = None
            try:
                slot = limiter.slot(op.tier, self._scope, deadline) if limiter else contextlib.nullcontext()
                async with slot:
                    started = time.perf_counter()
                    status, response_headers, raw = await _exchange(
                        session, method, target, headers, data, timeout
                    )
            except (asyncio.TimeoutError, TimeoutError) as exc:  # the same class from Python 3.11 on
                failure: KnockError = APITimeoutError(f"{method} {op.path}: Knock did not answer in time")
                cause = exc
            except aiohttp.InvalidURL:
                raise
            except aiohttp.ClientError as exc:
                detail = redact(str(exc), self._secrets)
                failure = APIConnectionError(
                    f"{method} {op.path}: could not reach Knock ({type(exc).__name__}: {detail})"
                )
                cause = exc
            elapsed = time.perf_counter() - started if started else 0.0
            spent += elapsed
            logger.debug(
                "knock %s %s [%s] -> %s in %.1f ms (attempt %d)",
                method,
                op.path,
                op.id,
                type(cause).__name__ if cause else status,
                elapsed * 1000,
                attempt + 1,
            )
            if cause is not None:
                delay = _backoff(attempt)
            elif 200 <= status < 300:
                break
            else:
                failure = error_from_response(status, response_headers, raw, secrets=self._secrets)
                if status not in RETRYABLE_4XX and status < 500:
                    raise failure
                retry_after = parse_retry_after(response_headers.get("Retry-After"))
                delay = min(retry_after, MAX_RETRY_AFTER) if retry_after is not None else _backoff(attempt)
                if status == 429 and limiter is not None:
                    await limiter.pause(op.tier, self._scope, delay)
            if attempt >= max_retries or (budget is not None and spent + delay >= budget):
                raise failure from cause
            logger.info(
                "knock %s %s [%s]: %s; retrying in %.2f s (retry %d of %d)",
                method,
                op.path,
                op.id,
                type(cause).__name__ if cause else f"status {status}",
                delay,
                attempt + 1,
                max_retries,
            )
            await self.sleep(delay)
            spent += delay
            attempt += 1
            timeout = self._attempt_timeout(budget, spent)

        rate_limited = _rate_limited(response_headers)
        if rate_limited:
            # Knock answered 2xx but skipped these entities; never let that pass silently.
            for param, ids in rate_limited.items():
                logger.warning(
                    "knock %s %s [%s]: Knock rate-limited %d %s and did not update them: %s",
                    method,
                    op.path,
                    op.id,
                    len(ids),
                    param,
                    ",".join(ids),
                )
        holder = _capture.get()
        if holder is not None:
            holder.status, holder.headers, holder.rate_limited = status, response_headers, rate_limited

        if op.response is None or status == 204 or not raw:
            return cast(T, None)
        try:
            decoded = json.loads(raw)
        except ValueError as exc:
            raise APIResponseValidationError(
                f"{method} {op.path}: the response is not valid JSON", status=status, headers=response_headers
            ) from exc
        try:
            return cast(T, converter.structure(decoded, op.response))
        except Exception as exc:
            name = getattr(op.response, "__name__", repr(op.response))
            raise APIResponseValidationError(
                f"{method} {op.path}: the response does not fit {name}: {type(exc).__name__}",
                status=status,
                headers=response_headers,
            ) from exc

    def _attempt_timeout(self, budget: float | None, spent: float) -> aiohttp.ClientTimeout:
        if budget is None:
            return self._timeout
        return aiohttp.ClientTimeout(total=max(budget - spent, 0.001), connect=self._connect_timeout)


async def _exchange(
    session: aiohttp.ClientSession,
    method: str,
    url: URL,
    headers: Mapping[str, str],
    data: bytes | None,
    timeout: aiohttp.ClientTimeout,
) -> tuple[int, CIMultiDictProxy[str], bytes]:
    # raise_for_status=False: a caller's session may set it, and our error mapping needs the body.
    async with session.request(
        method, url, headers=headers, data=data, timeout=timeout, raise_for_status=False
    ) as response:
        raw = await response.read()  # fully, inside the context, so the connection goes back to the pool
        return response.status, response.headers, raw


def _backoff(attempt: int) -> float:
    delay = min(INITIAL_RETRY_DELAY * 2.0 ** min(attempt, 16), MAX_RETRY_DELAY)
    return delay * (1 - 0.25 * random.random())  # jitter: clients that failed together spread out
