"""The HTTP facts of a call next to its result: `with_raw_response` and `ApiResponse`.

The transport reports every response it decodes to `report_response`; while
`with_raw_response` awaits a call, the report lands in a holder kept in a context variable.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from contextvars import ContextVar
from typing import Final, Generic, TypeVar

import attrs
from multidict import CIMultiDict, CIMultiDictProxy

T = TypeVar("T")

RATE_LIMITED_PREFIX: Final = "x-ratelimited-"


@attrs.frozen
class ApiResponse(Generic[T]):
    """The HTTP facts of a call next to its result; see `with_raw_response`.

    `idempotent_replayed` is True when Knock answered with the stored response of an earlier
    request with the same Idempotency-Key (its `idempotent-replayed: true` header); that
    earlier request's id is then `original_request_id` (`original-x-request-id`).
    """

    status: int
    headers: Mapping[str, str]  # read-only, case-insensitive
    data: T
    rate_limited: dict[str, list[str]]  # from x-ratelimited-{param}: ids Knock did not update
    request_id: str | None = None
    idempotent_replayed: bool = False
    original_request_id: str | None = None


class _LastResponse:
    """Filled by every request made while `with_raw_response` awaits its call."""

    __slots__ = ("headers", "rate_limited", "status")

    def __init__(self) -> None:
        self.status: int | None = None
        self.headers: Mapping[str, str] = {}
        self.rate_limited: dict[str, list[str]] = {}


_capture: ContextVar[_LastResponse | None] = ContextVar("knock_async_last_response", default=None)


def report_response(status: int, headers: Mapping[str, str], rate_limited: dict[str, list[str]]) -> None:
    """The transport decoded a response: tell the `with_raw_response` awaiting it, if any."""
    holder = _capture.get()
    if holder is not None:
        holder.status, holder.headers, holder.rate_limited = status, headers, rate_limited


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
        idempotent_replayed=headers.get("idempotent-replayed", "").strip().lower() == "true",
        original_request_id=headers.get("original-x-request-id"),
    )


def rate_limited_ids(headers: Mapping[str, str]) -> dict[str, list[str]]:
    """The ids Knock's batch de-duplication skipped, by parameter, from `x-ratelimited-{param}`."""
    found: dict[str, list[str]] = {}
    for name, value in headers.items():
        if name[:1] in "xX" and name[: len(RATE_LIMITED_PREFIX)].lower() == RATE_LIMITED_PREFIX:
            ids = [part.strip() for part in value.split(",") if part.strip()]
            found.setdefault(name[len(RATE_LIMITED_PREFIX) :].lower(), []).extend(ids)
    return found
