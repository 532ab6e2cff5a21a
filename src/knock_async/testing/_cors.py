"""CORS: browser clients (Knock's JavaScript client, an app's frontend) may call the server.

Every answer carries the CORS headers, errors included (401, 403, 404, 429 and a handler's
500 alike), so a browser shows Knock's error instead of a bare "Failed to fetch". A
preflight (`OPTIONS` with `Access-Control-Request-Method`) is answered 204 on any path, with
the methods the API uses and the headers Knock's client sends. Allowed origins are
configurable; by default any origin is allowed, as befits a local test server.

Only a request's `Origin` is echoed back, never `*`, so a client that sends credentials
(cookies) works too; `Vary: Origin` keeps caches from mixing origins.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web
from aiohttp.typedefs import Middleware

ALLOWED_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
# The headers Knock's client sends, and the SDK's own (Idempotency-Key, User-Agent rides free).
ALLOWED_HEADERS = (
    "authorization, content-type, x-knock-client, x-knock-user-token, x-knock-branch, idempotency-key"
)
# Headers a browser script may read on an answer: the request id, replay markers, Retry-After.
EXPOSED_HEADERS = "x-request-id, idempotent-replayed, original-x-request-id, retry-after"
PREFLIGHT_MAX_AGE = "600"  # seconds a browser may cache a preflight answer

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def cors_middleware(allowed_origins: Iterable[str] | None) -> Middleware:
    """A middleware adding CORS headers to every answer; `None` allows any origin."""
    allowed = None if allowed_origins is None else frozenset(allowed_origins)

    @web.middleware
    async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        allows = origin is not None and (allowed is None or origin in allowed)
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            response: web.StreamResponse = web.Response(status=204)
            if allows:
                response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
                response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
                response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
        else:
            try:
                response = await handler(request)
            except web.HTTPException as answer:  # aiohttp's own answers get the headers too
                _add_origin(answer, origin if allows else None)
                raise
        _add_origin(response, origin if allows else None)
        return response

    return cors


def _add_origin(response: web.StreamResponse, origin: str | None) -> None:
    if response.prepared:  # already sent (a dropped connection, a stream): nothing to add
        return
    response.headers.add("Vary", "Origin")
    if origin is None:
        return
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Allow-Credentials"] = "true"
    response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
