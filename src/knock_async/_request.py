"""`AsyncKnock.request`: any Knock endpoint, the document's or not, on the generated path.

The call is described by an `Operation` made here from what the caller names (method, path,
tier, the model to read the answer into) and handed to the same transport as every generated
method: auth, the user token, pacing by the tier, one deadline, retries, an Idempotency-Key
on writes, error mapping and redaction all apply unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from ._ratelimit import DEFAULT_RATES
from ._transport import Transport
from ._types import Operation, RequestOptions

OPERATION_ID: Final = "request"  # how errors name a call made this way
METHODS: Final = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
# An absolute path of percent-encoded segments (RFC 3986 pchar): no scheme or host (the
# credentials must not go elsewhere), no query or fragment (they go in `query=`).
_PATH: Final = re.compile(r"/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*")
_DOT_SEGMENT: Final = re.compile(r"(?:^|/)\.{1,2}(?:/|$)")

_OPERATIONS: dict[tuple[str, str, int, Any, frozenset[str]], Operation[Any]] = {}
_MAX_OPERATIONS: Final = 256  # a path usually carries ids: keep the recent ones only


async def request(
    transport: Transport,
    method: str,
    path: str,
    *,
    tier: int,
    query: Mapping[str, Any] | None = None,
    body: Mapping[str, Any] | None = None,
    model: Any = None,
    options: RequestOptions | None = None,
    secret_fields: frozenset[str] = frozenset(),
) -> Any:
    """Send one request and return its decoded JSON, or that JSON read into `model`."""
    op = operation_for(method, path, tier, model, secret_fields)
    if query is not None and not isinstance(query, Mapping):
        raise TypeError(f"query must be a mapping, got {type(query).__name__}")
    if body is not None:
        if not isinstance(body, Mapping):
            raise TypeError(f"body must be a mapping (a JSON object), got {type(body).__name__}")
        if op.method == "GET":
            raise ValueError("a GET request carries no body; put its parameters in query=")
    return await transport.request(op, query=query, body=body, options=options)


def operation_for(
    method: str, path: str, tier: int, model: Any, secret_fields: frozenset[str]
) -> Operation[Any]:
    """The Operation of one such call, its arguments checked (one object per distinct call,
    so that the transport's per-operation work is done once for a call made again)."""
    check_call(method, path, tier)
    key = (method, path, tier, model, secret_fields)
    op = _OPERATIONS.get(key)
    if op is None:
        if len(_OPERATIONS) >= _MAX_OPERATIONS:
            _OPERATIONS.clear()
        # `Any`: the answer's JSON as decoded, left as it is by the converter.
        response = Any if model is None else model
        op = _OPERATIONS[key] = Operation(
            id=OPERATION_ID,
            method=method.upper(),
            path=path,
            tier=tier,
            response=response,
            secret_fields=secret_fields,
        )
    return op


def check_call(method: str, path: str, tier: int) -> None:
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise ValueError(f"method must be one of {', '.join(sorted(METHODS))}; got {method!r}")
    if isinstance(tier, bool) or not isinstance(tier, int) or tier not in DEFAULT_RATES:
        raise ValueError(f"tier must be one of Knock's rate tiers {sorted(DEFAULT_RATES)}; got {tier!r}")
    if not isinstance(path, str):
        raise TypeError(f"path must be a str, got {type(path).__name__}")
    if not _PATH.fullmatch(path) or path.startswith("//"):
        raise ValueError(
            f"path must be an absolute, percent-encoded path such as '/v1/users/user-1', "
            f"without scheme, host, query or fragment; got {path!r}. Encode each id with "
            "urllib.parse.quote(id, safe='') and give the query as query="
        )
    if _DOT_SEGMENT.search(path):
        raise ValueError(f"path must not hold '.' or '..' segments; got {path!r}")
