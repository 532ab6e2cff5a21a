"""AsyncKnock: configuration, the session's lifecycle, and the generated namespaces."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Mapping
from typing import Any, TypeVar, overload

import aiohttp
import attrs

from . import _request
from ._clock import REAL_CLOCK, Clock
from ._config import (
    DEFAULT_ATTEMPT_TIMEOUT,
    DEFAULT_BASE_URL,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_TIMEOUT,
    ClientConfig,
    RetryPolicy,
    UserToken,
    strict_by_default,
)
from ._headers import merge_headers
from ._limiter import Limiter
from ._logging import configure_logging_from_env
from ._ratelimit import RateLimiter
from ._raw_response import ApiResponse, with_raw_response
from ._transport import Transport
from ._types import UNSET, RequestOptions, Unset
from .resources import SECRET_FIELDS, Resources

T = TypeVar("T")


def custom_headers_from_env() -> dict[str, str]:
    """`KNOCK_CUSTOM_HEADERS`: one `Name: value` per line (blank lines skipped)."""
    headers: dict[str, str] = {}
    for number, line in enumerate(os.environ.get("KNOCK_CUSTOM_HEADERS", "").splitlines(), 1):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            # The line itself is not shown: its value may be a credential.
            raise ValueError(f"KNOCK_CUSTOM_HEADERS line {number} is not `Name: value`")
        headers[name.strip()] = value.strip()
    return headers


class AsyncKnock(Resources):
    """The Knock API client. Every namespace (`users`, `workflows`, ...) hangs off it.

    Use it as `async with AsyncKnock() as knock:` or call `await knock.close()`; one pooled
    aiohttp session serves all calls. A session you pass in stays yours to close. The options
    are those of `ClientConfig` (see it for details); `config` holds them.

    Args:
        api_key: A secret (sk_) or publishable (pk_) key; defaults to $KNOCK_API_KEY.
        base_url: Defaults to $KNOCK_BASE_URL, then https://api.knock.app.
        timeout: Seconds for a whole call: rate-limit queueing, 429 pauses, retries and
            backoff included. None: no deadline; zero or negative is refused.
        attempt_timeout: Seconds one attempt may wait for its response before it is retried
            (within `timeout`); None: no limit of its own.
        connect_timeout: Seconds to establish a connection.
        max_retries: Retries on connection errors, timeouts, 408, 409, 429 and 5xx; overrides
            `retry_policy.max_retries`.
        retry_policy: Backoff and Retry-After handling (`RetryPolicy`).
        default_headers: Sent with every request, over those of $KNOCK_CUSTOM_HEADERS (one
            `Name: value` per line).
        branch: A Knock branch's slug (`X-Knock-Branch`); defaults to $KNOCK_BRANCH.
        user_token: A signed user token (`X-Knock-User-Token`), for publishable keys; or a
            callable returning the current one (or an awaitable of it), asked per request.
        session: Your own aiohttp session; the client will not close it.
        proxy: An HTTP proxy URL; by default the client's own session follows HTTP_PROXY,
            HTTPS_PROXY and NO_PROXY.
        rate_limiter: Paces calls by Knock's rate tiers (the default); pass your own
            `RateLimiter` to share it between clients or change its rates, or None to
            turn client-side pacing off.
        max_response_bytes: Larger response bodies are not read (`ResponseTooLargeError`).
        clock: Tells the time and waits (`Clock`); the default limiter runs on it too.
        strict_responses: A 2xx body that does not fit its declared types raises
            `APIResponseValidationError` naming the operation and the field path; defaults
            to $KNOCK_STRICT_RESPONSES == "1". Off: what does not fit is kept as sent and
            logged once per field (see "Tolerant decoding" in the README).
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        attempt_timeout: float | None = DEFAULT_ATTEMPT_TIMEOUT,
        connect_timeout: float | None = DEFAULT_CONNECT_TIMEOUT,
        max_retries: int | None = None,
        retry_policy: RetryPolicy | None = None,
        default_headers: Mapping[str, str] | None = None,
        branch: str | None = None,
        user_token: UserToken | None = None,
        session: aiohttp.ClientSession | None = None,
        proxy: str | None = None,
        rate_limiter: Limiter | Unset | None = UNSET,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        clock: Clock = REAL_CLOCK,
        strict_responses: bool | None = None,
    ) -> None:
        configure_logging_from_env()
        retry = retry_policy or RetryPolicy()
        if max_retries is not None:
            retry = attrs.evolve(retry, max_retries=max_retries)
        config = ClientConfig(
            api_key if api_key is not None else os.environ.get("KNOCK_API_KEY", ""),
            base_url=base_url or os.environ.get("KNOCK_BASE_URL") or DEFAULT_BASE_URL,
            timeout=timeout,
            attempt_timeout=attempt_timeout,
            connect_timeout=connect_timeout,
            retry=retry,
            default_headers=merge_headers(custom_headers_from_env(), default_headers or {}),
            branch=branch if branch is not None else os.environ.get("KNOCK_BRANCH") or None,
            user_token=user_token,
            session=session,
            proxy=proxy,
            rate_limiter=RateLimiter(clock=clock) if isinstance(rate_limiter, Unset) else rate_limiter,
            max_response_bytes=max_response_bytes,
            clock=clock,
            strict_responses=strict_by_default() if strict_responses is None else strict_responses,
        )
        self._start(Transport(config))

    def _start(self, transport: Transport) -> None:
        self.config = transport.config
        self._transport = transport
        super().__init__(transport)

    def with_options(
        self,
        *,
        timeout: float | Unset | None = UNSET,
        attempt_timeout: float | Unset | None = UNSET,
        max_retries: int | Unset = UNSET,
        retry_policy: RetryPolicy | Unset = UNSET,
        default_headers: Mapping[str, str] | Unset = UNSET,
        branch: str | Unset | None = UNSET,
        user_token: UserToken | Unset | None = UNSET,
        max_response_bytes: int | Unset = UNSET,
    ) -> AsyncKnock:
        """A client with these options changed and the rest as here, sharing this client's
        session and rate limiter (so its calls count in the same buckets).

        `default_headers` replaces this client's. Closing the new client ends its own calls
        only; closing this one closes the session both use.
        """
        given: dict[str, Any] = {
            "timeout": timeout,
            "attempt_timeout": attempt_timeout,
            "retry": retry_policy,
            "default_headers": default_headers,
            "branch": branch,
            "user_token": user_token,
            "max_response_bytes": max_response_bytes,
        }
        changes = {name: value for name, value in given.items() if not isinstance(value, Unset)}
        if not isinstance(max_retries, Unset):
            retry = changes.get("retry", self.config.retry)
            changes["retry"] = attrs.evolve(retry, max_retries=max_retries)
        config = attrs.evolve(self.config, **changes)
        derived = AsyncKnock.__new__(AsyncKnock)
        derived._start(Transport(config, sessions=self._transport.sessions))
        return derived

    def __repr__(self) -> str:
        return f"AsyncKnock(base_url={self._transport.base_url!r})"

    async def __aenter__(self) -> AsyncKnock:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the client's own session; a later call raises `ClientClosedError`."""
        await self._transport.close()

    @property
    def closed(self) -> bool:
        return self._transport.closed

    @staticmethod
    async def with_raw_response(call: Awaitable[T]) -> ApiResponse[T]:
        """Await a call and return its result with the HTTP status and headers.

        `resp = await knock.with_raw_response(knock.users.get("user-1"))`; `resp.data` is
        the User, `resp.rate_limited` the ids Knock's batch de-duplication rejected,
        `resp.idempotent_replayed` whether Knock replayed an earlier answer to its key.
        """
        return await with_raw_response(call)

    @overload
    async def request(
        self,
        method: str,
        path: str,
        *,
        tier: int,
        query: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        model: None = None,
        options: RequestOptions | None = None,
    ) -> Any: ...

    @overload
    async def request(
        self,
        method: str,
        path: str,
        *,
        tier: int,
        query: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        model: type[T],
        options: RequestOptions | None = None,
    ) -> T: ...

    async def request(
        self,
        method: str,
        path: str,
        *,
        tier: int,
        query: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        model: Any = None,
        options: RequestOptions | None = None,
    ) -> Any:
        """Call any Knock endpoint, one the document lacks included, the way generated methods do.

        `await knock.request("GET", "/v1/users/user-1", tier=4)` returns the decoded JSON;
        with `model=models.User` the answer is read into that model. `path` is percent-encoded
        (quote each id with `urllib.parse.quote(id, safe="")`); `tier` is the endpoint's rate
        tier in Knock's reference, which paces the call. Writes carry an Idempotency-Key.
        """
        return await _request.request(
            self._transport, method, path, tier=tier, query=query, body=body, model=model,
            options=options, secret_fields=SECRET_FIELDS,
        )  # fmt: skip
