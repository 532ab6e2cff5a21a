"""AsyncKnock: configuration, the session's lifecycle, and the generated namespaces."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Mapping
from typing import TypeVar

import aiohttp

from ._ratelimit import RateLimiter
from ._transport import (
    DEFAULT_BASE_URL,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    ApiResponse,
    Transport,
    configure_logging_from_env,
    with_raw_response,
)
from ._types import UNSET, Unset
from .resources import Resources

T = TypeVar("T")


class AsyncKnock(Resources):
    """The Knock API client. Every namespace (`users`, `workflows`, ...) hangs off it.

    Use it as `async with AsyncKnock() as knock:` or call `await knock.close()`; one pooled
    aiohttp session serves all calls. A session you pass in stays yours to close.

    Args:
        api_key: A secret (sk_) or publishable (pk_) key; defaults to $KNOCK_API_KEY.
        base_url: Defaults to $KNOCK_BASE_URL, then https://api.knock.app.
        timeout: Seconds for a whole call, retries included (None: no limit).
        connect_timeout: Seconds to establish a connection.
        max_retries: Retries on connection errors, timeouts, 408, 409, 429 and 5xx.
        default_headers: Sent with every request.
        user_token: A signed user token (`X-Knock-User-Token`), for publishable keys.
        session: Your own aiohttp session; the client will not close it.
        rate_limiter: Paces calls by Knock's rate tiers (the default); pass your own
            `RateLimiter` to share it between clients or change its rates, or None to
            turn client-side pacing off.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        connect_timeout: float | None = DEFAULT_CONNECT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        user_token: str | None = None,
        session: aiohttp.ClientSession | None = None,
        rate_limiter: RateLimiter | Unset | None = UNSET,
    ) -> None:
        configure_logging_from_env()
        self._transport = Transport(
            api_key if api_key is not None else os.environ.get("KNOCK_API_KEY", ""),
            base_url=base_url or os.environ.get("KNOCK_BASE_URL") or DEFAULT_BASE_URL,
            timeout=timeout,
            connect_timeout=connect_timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            user_token=user_token,
            session=session,
            rate_limiter=RateLimiter() if isinstance(rate_limiter, Unset) else rate_limiter,
        )
        super().__init__(self._transport)

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
        the User, `resp.rate_limited` the ids Knock's batch de-duplication rejected.
        """
        return await with_raw_response(call)
