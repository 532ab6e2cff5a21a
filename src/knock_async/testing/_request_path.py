"""The request path: every request runs the same named stages, in this order.

    record -> authenticate -> key kind -> rate limit -> body -> fault after -> idempotency
    -> fault before -> limits -> access -> handler

Each stage is an `async def stage(exchange, forward)`: it may answer by itself (return a
`Reply`, or raise a `KnockHTTPError`, which becomes the reply), or call `forward()` for
the stages after it and look at what they answered on the way back. So a request's events
happen in the order Knock's would: authenticate, key kind, rate limit, body, idempotency,
fault before, limits, access, handler; then, on the way out, the idempotency store keeps a
2xx, the fault after acting is applied and the request is recorded. The fault is drawn once
per request, by whichever fault stage meets it first, and only by a request that got as far
as "fault before" or was replayed (a replay never reaches "fault before": its fault, if any,
is applied on the way out, and acts on nothing; a request refused earlier, e.g. for a misused
Idempotency-Key, draws none).

A new stage is one method here and its place in `RequestPath.stages`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import attrs
from aiohttp import web

from knock_async._types import Operation

from ._backend import Backend
from ._call import Call
from ._caller import Caller, KeyKind
from ._errors import (
    KnockHTTPError,
    body_too_large,
    field_error,
    idempotency_key_reused,
    injected_failure,
    invalid_json,
    not_implemented,
    too_deep,
    unauthenticated,
    wrong_key_type,
)
from ._faults import Fault, FaultInjector
from ._idempotency import Fingerprint, IdempotencyStore, KeyReused, Reply
from ._limits import check_limits
from ._ratelimit import TierLimiter
from ._routes import HANDLERS, Route

if TYPE_CHECKING:  # needs the tokens extra: imported only when enhanced security is on
    from ._enhanced_security import EnhancedSecurity

logger = logging.getLogger("knock_async.testing")

MAX_IDEMPOTENCY_KEY = 255  # characters, as Knock documents
MAX_BODY_BYTES = 32 * 1024 * 1024  # above Knock's 10 MB data limit, so that limit answers 422, not 413
MAX_JSON_DEPTH = 128  # nesting levels of arrays and objects; deeper bodies answer 400
USER_TOKEN = "X-Knock-User-Token"
REQUEST_ID = "x-request-id"


def _request_key(name: str, kind: type) -> Any:
    """A key for request storage: a typed `web.RequestKey` where aiohttp has it (3.12+)."""
    factory = getattr(web, "RequestKey", None)
    return factory(name, kind) if factory is not None else name


OPERATION_KEY = _request_key("knock_async.testing.operation", Operation)  # the Operation being served
_BODY_KEY = _request_key("knock_async.testing.body", object)  # the parsed JSON body, for the request log


@attrs.define
class Exchange:
    """One request on its way through the stages, and what they learnt about it."""

    operation: Operation[Any]
    request: web.Request
    route: Route | None
    request_id: str = attrs.field(factory=lambda: uuid.uuid4().hex)
    started: float = attrs.field(factory=time.monotonic)  # for the request log's duration
    caller: Caller | None = None
    body: Any = None
    call: Call | None = None
    replayed_from: str | None = None  # the x-request-id of the request a replay repeats
    dropped: bool = False  # the connection is to be cut instead of answered
    _fault: Fault | None = None
    _fault_drawn: bool = False
    fault_due: bool = False  # it reached "fault before", or was replayed: a fault may apply
    fault_applied: bool = False

    @property
    def key_kind(self) -> KeyKind | None:
        return self.caller.kind if self.caller is not None else None

    def fault(self, faults: FaultInjector) -> Fault | None:
        """The fault for this request, drawn on first use: once per request."""
        if not self._fault_drawn:
            self._fault, self._fault_drawn = faults.draw(self.operation.id), True
        return self._fault


Forward = Callable[[], Awaitable[Reply]]
Stage = Callable[[Exchange, Forward], Awaitable[Reply]]
Recorder = Callable[[Exchange, "int | None"], Awaitable[None]]
Violation = Callable[[str, str, str], None]  # operation id, key, message


class RequestPath:
    """The stages, over the server's parts (keys, limiter, faults, idempotency, security)."""

    def __init__(
        self,
        *,
        backend: Backend,
        keys: dict[str, KeyKind],
        limiter: TierLimiter,
        faults: FaultInjector,
        idempotency: IdempotencyStore,
        security: EnhancedSecurity | None,
        record: Recorder,
        violation: Violation,
    ) -> None:
        self._backend, self._keys, self._limiter = backend, keys, limiter
        self._faults, self._idempotency, self._security = faults, idempotency, security
        self._record, self._violation = record, violation
        self.stages: Sequence[Stage] = (
            self.record,
            self.authenticate,
            self.key_kind,
            self.rate_limit,
            self.body,
            self.fault_after,
            self.idempotency,
            self.fault_before,
            self.limits,
            self.access,
            self.handler,
        )

    async def run(self, exchange: Exchange) -> Reply:
        return await self._from(0, exchange)

    async def _from(self, index: int, exchange: Exchange) -> Reply:
        try:
            return await self.stages[index](exchange, lambda: self._from(index + 1, exchange))
        except KnockHTTPError as error:
            return error_reply(error)

    # ---------------------------------------------------------------- the stages, in order

    async def record(self, exchange: Exchange, forward: Forward) -> Reply:
        reply = await forward()
        await self._record(exchange, None if exchange.dropped else reply.status)
        return reply

    async def authenticate(self, exchange: Exchange, forward: Forward) -> Reply:
        """401 unless the key is one of this server's (and, in enhanced security mode, a
        publishable key brings a good user token)."""
        headers = exchange.request.headers
        scheme, _, token = headers.get("Authorization", "").partition(" ")
        api_key = token.strip() if scheme.lower() == "bearer" else ""
        exchange.caller = self.caller(api_key, headers.get(USER_TOKEN))
        return await forward()

    def caller(self, api_key: str, user_token: str | None) -> Caller:
        """Who these credentials speak for, checked as every request (and the socket) checks them."""
        kind = self._keys.get(api_key)
        if kind is None:
            raise unauthenticated()
        user = None
        if self._security is not None and kind == "publishable":
            user = self._security.verify(user_token)
        return Caller(api_key, kind, user)

    async def key_kind(self, exchange: Exchange, forward: Forward) -> Reply:
        if exchange.key_kind == "publishable" and not exchange.operation.publishable:
            raise wrong_key_type(exchange.operation.id)
        return await forward()

    async def rate_limit(self, exchange: Exchange, forward: Forward) -> Reply:
        assert exchange.caller is not None  # authenticate ran
        self._limiter.acquire(exchange.caller.scope, exchange.operation.tier)
        return await forward()

    async def body(self, exchange: Exchange, forward: Forward) -> Reply:
        request, caller = exchange.request, exchange.caller
        assert caller is not None  # authenticate ran
        exchange.body = await read_json(request)
        exchange.call = Call(
            exchange.operation, request.match_info, request.query, exchange.body, self._backend, caller
        )
        return await forward()

    async def fault_after(self, exchange: Exchange, forward: Forward) -> Reply:
        """The fault not applied before acting is applied to the answer (a replay's included).

        A request refused before that (a bad or misused Idempotency-Key) draws no fault."""
        reply = await forward()
        if not exchange.fault_due or exchange.fault_applied:
            return reply
        fault = exchange.fault(self._faults)
        if fault is None:
            return reply
        exchange.fault_applied = True
        if fault.kind == "delay":
            await asyncio.sleep(fault.delay)
            return reply
        if fault.kind == "drop":
            exchange.dropped = True
        return error_reply(injected_failure(fault.status))

    async def idempotency(self, exchange: Exchange, forward: Forward) -> Reply:
        """Knock's Idempotency-Key: honoured where the handler says so, ignored elsewhere."""
        key = exchange.request.headers.get("Idempotency-Key")
        if key is None or exchange.route is None or not exchange.route.idempotent:
            return await forward()
        if len(key) > MAX_IDEMPOTENCY_KEY:
            raise field_error("Idempotency-Key", f"must be at most {MAX_IDEMPOTENCY_KEY} characters")
        request, caller = exchange.request, exchange.caller
        assert caller is not None  # authenticate ran
        fingerprint = Fingerprint.of(
            request.method,
            request.path,
            request.query.items(),
            exchange.body,
            request.headers.get(USER_TOKEN),
        )
        try:
            outcome = await self._idempotency.run(
                caller.scope, key, fingerprint, exchange.request_id, forward
            )
        except KeyReused as misuse:
            self._violation(exchange.operation.id, key, str(misuse))
            raise idempotency_key_reused(str(misuse)) from None
        exchange.replayed_from = outcome.replayed_from
        exchange.fault_due = exchange.fault_due or outcome.replayed_from is not None
        return outcome.reply

    async def fault_before(self, exchange: Exchange, forward: Forward) -> Reply:
        exchange.fault_due = True
        fault = exchange.fault(self._faults)
        if fault is None or fault.when != "before":
            return await forward()
        exchange.fault_applied = True
        if fault.kind == "delay":  # a slow start, then act as usual
            await asyncio.sleep(fault.delay)
            return await forward()
        exchange.dropped = fault.kind == "drop"
        return error_reply(injected_failure(fault.status))

    async def limits(self, exchange: Exchange, forward: Forward) -> Reply:
        check_limits(exchange.operation.limits, exchange.body)
        return await forward()

    async def access(self, exchange: Exchange, forward: Forward) -> Reply:
        """A user token reaches what the handler's access rule allows (403 otherwise)."""
        caller, call, route = exchange.caller, exchange.call, exchange.route
        if caller is not None and call is not None and route is not None:  # no handler: a 501
            route.check_access(caller, call, exchange.operation.id)
        return await forward()

    async def handler(self, exchange: Exchange, forward: Forward) -> Reply:
        if exchange.route is None or exchange.call is None:
            raise not_implemented(exchange.operation.id)
        try:
            return exchange.route.handler(exchange.call)
        except KnockHTTPError:
            raise
        except Exception as exc:  # a bug in a handler: answer like Knock's 500, but say what broke
            logger.exception("handler for %s failed", exchange.operation.id)
            bug = KnockHTTPError(500, "internal_server_error", f"test server bug: {exc!r}", "api_error")
            return error_reply(bug)


def new_exchange(operation: Operation[Any], request: web.Request) -> Exchange:
    request[OPERATION_KEY] = operation
    return Exchange(operation, request, HANDLERS.get(operation.id))


def error_reply(error: KnockHTTPError) -> Reply:
    return Reply(error.status, error.body(), tuple(error.headers.items()))


async def read_json(request: web.Request) -> Any:
    """The JSON body (None when empty): 413 above MAX_BODY_BYTES, 400 when not JSON or too deep."""
    if _BODY_KEY in request:
        return request[_BODY_KEY]
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise body_too_large(MAX_BODY_BYTES) from None
    try:
        body = json.loads(raw) if raw.strip() else None
    except RecursionError:
        raise too_deep(MAX_JSON_DEPTH) from None
    except ValueError:
        raise invalid_json() from None
    if _depth(body) > MAX_JSON_DEPTH:
        raise too_deep(MAX_JSON_DEPTH)
    request[_BODY_KEY] = body
    return body


async def logged_body(request: web.Request) -> Any:
    """The request's JSON body for the log, also when nothing parsed it (rejected before reading)."""
    try:
        return await read_json(request)
    except KnockHTTPError:  # not JSON, too large or too deep: the log keeps no body
        return None


def _depth(value: Any) -> int:
    """How deeply arrays and objects nest in a JSON value (a scalar is 0), without recursing."""
    deepest, pending = 0, [(value, 0)]
    while pending:
        node, depth = pending.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is not None:
            deepest = max(deepest, depth + 1)
            pending.extend((child, depth + 1) for child in children)
    return deepest
