"""The client's options, each listed once with its default, and checked in one place.

`AsyncKnock(...)` takes them as keyword arguments and builds a `ClientConfig`; the transport
reads them from it. A `RetryPolicy` decides whether, and after how long, a failed attempt is
tried again.
"""

from __future__ import annotations

import os
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, TypeAlias
from urllib.parse import urlsplit

import aiohttp
import attrs

from ._clock import REAL_CLOCK, Clock
from ._headers import check_headers, header_names
from ._limiter import Limiter
from ._types import check_timeout

DEFAULT_BASE_URL: Final = "https://api.knock.app"
DEFAULT_TIMEOUT: Final = 60.0  # seconds for a whole call: queueing, retries and backoff included
DEFAULT_CONNECT_TIMEOUT: Final = 10.0
# Seconds one attempt may take before it is abandoned and retried (the call's `timeout` still
# bounds the whole). Knock answers in well under a second, triggers and bulk calls included
# (their work runs in the background), so an attempt silent this long has stalled; and three
# attempts of this length, with the default backoff between them, fit in DEFAULT_TIMEOUT.
DEFAULT_ATTEMPT_TIMEOUT: Final = 15.0
DEFAULT_MAX_RETRIES: Final = 2
# Far above any Knock page (a 100-entry page is tens of KB), far below what hurts a process.
DEFAULT_MAX_RESPONSE_BYTES: Final = 32 * 1024 * 1024
RETRYABLE_STATUSES: Final = frozenset({408, 409, 429, *range(500, 600)})

# A user token, or something that returns the current one (so an expiring token can be
# refreshed without rebuilding the client); consulted on every request.
UserToken: TypeAlias = "str | Callable[[], str | Awaitable[str]]"


def check_base_url(url: str) -> None:
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise ValueError("base_url must start with https:// or http://")
    parts = urlsplit(url)
    # Never echo the URL here: its user-info part would be a password.
    if parts.username is not None or parts.password is not None:
        raise ValueError("base_url must not contain credentials (user:password@); pass api_key instead")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise ValueError(
            f"base_url must not have a query or a fragment: {parts.scheme}://{parts.netloc}{parts.path}"
        )
    if not parts.hostname:
        raise ValueError("base_url has no host")


def _positive_or_none(instance: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    check_timeout(attribute.name, value)


def _at_least(minimum: float) -> Callable[[object, attrs.Attribute[Any], Any], None]:
    def check(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
            raise ValueError(f"{attribute.name} must be a number >= {minimum}, got {value!r}")

    return check


@attrs.frozen
class RetryPolicy:
    """When a failed attempt is tried again, and after how long.

    Connection errors, timeouts of one attempt and the statuses in `retryable_statuses` are
    retried up to `max_retries` times, with exponential backoff from `initial_delay` up to
    `max_delay` (with jitter), or after the server's Retry-After, capped at `max_retry_after`
    (a stuck call is worse than a 429). Whatever the policy says, the call's deadline wins.
    """

    max_retries: int = attrs.field(default=DEFAULT_MAX_RETRIES, validator=_at_least(0))
    initial_delay: float = attrs.field(default=0.5, validator=_at_least(0))
    max_delay: float = attrs.field(default=8.0, validator=_at_least(0))
    max_retry_after: float = attrs.field(default=60.0, validator=_at_least(0))
    retryable_statuses: frozenset[int] = RETRYABLE_STATUSES

    def delay(self, retries_done: int, retry_after: float | None = None) -> float:
        """Seconds to wait before the next attempt: Retry-After if given, else the backoff."""
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        delay = min(self.initial_delay * 2.0 ** min(retries_done, 16), self.max_delay)
        return delay * (1 - 0.25 * random.random())  # jitter: clients that failed together spread out

    def retry_in(
        self, retries_done: int, status: int | None, retry_after: float | None = None
    ) -> float | None:
        """Seconds to wait before retrying, or None: don't. `status` None means no response."""
        if retries_done >= self.max_retries or (status is not None and status not in self.retryable_statuses):
            return None
        return self.delay(retries_done, retry_after)


def _check_headers(instance: object, attribute: attrs.Attribute[Any], value: Mapping[str, str]) -> None:
    check_headers(value, attribute.name)


def _check_api_key(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("an API key is required: pass api_key=... or set KNOCK_API_KEY")
    check_headers({"Authorization": value}, "api_key")


def _check_user_token(instance: object, attribute: attrs.Attribute[Any], value: UserToken | None) -> None:
    if isinstance(value, str):
        check_headers({"X-Knock-User-Token": value}, "user_token")
    elif value is not None and not callable(value):
        raise TypeError("user_token must be a str or a callable returning one (or an awaitable of one)")


def _without_trailing_slash(url: str) -> str:
    return url.rstrip("/") if isinstance(url, str) else url


def _check_base_url(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    check_base_url(value)


def _check_proxy(instance: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is None:
        return
    # Never echo the URL: its user-info part may hold the proxy's password.
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise ValueError("proxy must be an http:// or https:// URL")
    if not urlsplit(value).hostname:
        raise ValueError("proxy has no host")


def _check_branch(instance: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("branch must be a non-blank str (a Knock branch's slug), or None")
        check_headers({"X-Knock-Branch": value}, "branch")


def _check_clock(instance: object, attribute: attrs.Attribute[Any], value: Clock) -> None:
    if not callable(getattr(value, "monotonic", None)) or not callable(getattr(value, "sleep", None)):
        raise TypeError("clock must have monotonic() and an async sleep(seconds), see knock_async.Clock")


def strict_by_default() -> bool:
    # The project's own tests set it (tests/conftest.py): a drift between the document and the
    # embedded server fails them instead of reaching users.
    return os.environ.get("KNOCK_STRICT_RESPONSES") == "1"


@attrs.frozen
class ClientConfig:
    """Every client option, with its default, once. Secrets never show in its repr.

    Args:
        api_key: A secret (sk_) or publishable (pk_) key.
        base_url: Where Knock's API lives; no query, fragment or credentials.
        timeout: Seconds for a whole call: rate-limit queueing, 429 pauses, backoff, retries
            and the network. None: no deadline. Zero or negative is refused.
        attempt_timeout: Seconds one attempt may wait for its complete response; a stalled
            attempt is then retried like a connection error (same idempotency key), all within
            `timeout`. None: only `timeout` bounds an attempt.
        connect_timeout: Seconds to establish one connection (None: only the call's deadline).
        retry: When failed attempts are retried; see `RetryPolicy`.
        default_headers: Sent with every request.
        branch: The slug of a Knock branch: every request goes to it (`X-Knock-Branch`).
        user_token: A signed user token (`X-Knock-User-Token`), or a callable returning the
            current one (sync or async), consulted on every request.
        session: Your own aiohttp session; the client will not close it.
        proxy: An HTTP proxy URL for every request. None: the client's own session follows
            HTTP_PROXY / HTTPS_PROXY / NO_PROXY (read when the client is made).
        rate_limiter: Paces calls by Knock's rate tiers; None turns client-side pacing off.
        max_response_bytes: A larger response body (after decompression) is not read and
            raises `ResponseTooLargeError`.
        clock: Tells the time and waits, for deadlines, backoff and bulk polling (`Clock`).
        strict_responses: A 2xx body that does not fit the document raises
            `APIResponseValidationError` (for your own tests); default: $KNOCK_STRICT_RESPONSES
            is "1". Off: what does not fit is kept as Knock sent it and reported once as a warning.
    """

    api_key: str = attrs.field(repr=False, validator=_check_api_key)
    base_url: str = attrs.field(
        default=DEFAULT_BASE_URL, converter=_without_trailing_slash, validator=_check_base_url
    )
    timeout: float | None = attrs.field(default=DEFAULT_TIMEOUT, validator=_positive_or_none)
    attempt_timeout: float | None = attrs.field(default=DEFAULT_ATTEMPT_TIMEOUT, validator=_positive_or_none)
    connect_timeout: float | None = attrs.field(default=DEFAULT_CONNECT_TIMEOUT, validator=_positive_or_none)
    retry: RetryPolicy = attrs.field(factory=RetryPolicy, validator=attrs.validators.instance_of(RetryPolicy))
    default_headers: Mapping[str, str] = attrs.field(
        factory=dict, repr=header_names, validator=_check_headers
    )
    branch: str | None = attrs.field(default=None, validator=_check_branch)
    user_token: UserToken | None = attrs.field(default=None, repr=False, validator=_check_user_token)
    session: aiohttp.ClientSession | None = attrs.field(default=None, repr=False)
    proxy: str | None = attrs.field(default=None, repr=False, validator=_check_proxy)
    rate_limiter: Limiter | None = None
    max_response_bytes: int = attrs.field(default=DEFAULT_MAX_RESPONSE_BYTES, validator=_at_least(1))
    clock: Clock = attrs.field(default=REAL_CLOCK, validator=_check_clock)
    strict_responses: bool = attrs.field(
        factory=strict_by_default, validator=attrs.validators.instance_of(bool)
    )
