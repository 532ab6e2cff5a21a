"""`KnockTestServer`: an in-process, in-memory Knock API on aiohttp.web.

Each request runs one pipeline, in this order:
  authenticate (401; in enhanced security mode a publishable key's user token too) -> 403 for
  a publishable key -> rate limit (429) -> read the JSON body (413 too large, 400 not JSON or
  too deep) -> Idempotency-Key replay (422 for a key reused for another request) -> fault
  before acting -> payload limits (422) -> what the user token may reach (403) -> handler ->
  fault after acting.
Handlers are synchronous functions over the in-memory state, so a request's change is atomic.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

import attrs
from aiohttp import web
from aiohttp.typedefs import Middleware

from knock_async._types import Operation

from . import _handlers  # noqa: F401  (importing it registers every handler)
from ._bulk import BulkProgress, BulkRunner
from ._clock import Clock, SystemClock, isoformat
from ._cors import cors_middleware
from ._engine import Engine
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
from ._faults import Fault, FaultInjector, FaultKind, Faults, FaultTiming
from ._guides import Guide, GuideStep
from ._idempotency import DEFAULT_MAX_KEYS, Fingerprint, IdempotencyStore, KeyReused, Reply
from ._limits import check_limits
from ._ratelimit import RateLimiter, RateLimits
from ._records import ref_of
from ._routes import HANDLERS, TWINS, Call, discover_operations, route_order
from ._socket import FeedSocket
from ._state import State
from ._views import obj, tenant, user
from ._workflows import ChannelStep, ChannelType, Workflow, channel_id_for

if TYPE_CHECKING:  # the module needs the tokens extra: imported only when enhanced security is on
    from ._enhanced_security import EnhancedSecurity, TokenUser

logger = logging.getLogger("knock_async.testing")

DEFAULT_SECRET_KEY = "sk_test_knock_async_embedded_server"
DEFAULT_PUBLISHABLE_KEY = "pk_test_knock_async_embedded_server"


def _request_key(name: str, kind: type) -> Any:
    """A key for request storage: a typed `web.RequestKey` where aiohttp has it (3.12+)."""
    factory = getattr(web, "RequestKey", None)
    return factory(name, kind) if factory is not None else name


OPERATION_KEY = _request_key("knock_async.testing.operation", Operation)  # the Operation being served
_BODY_KEY = _request_key("knock_async.testing.body", object)  # the parsed JSON body, for the request log
MAX_IDEMPOTENCY_KEY = 255  # characters, as Knock documents
MAX_BODY_BYTES = 32 * 1024 * 1024  # above Knock's 10 MB data limit, so that limit answers 422, not 413
MAX_JSON_DEPTH = 128  # nesting levels of arrays and objects; deeper bodies answer 400
# The request line and each header: aiohttp's default (8 KiB) is too short for long id lists in the
# query (Knock takes up to 1 000). Beyond this aiohttp's HTTP parser answers a plain-text 400 before
# the app sees the request, so it is set far above anything a client sends.
MAX_LINE_BYTES = 1024 * 1024
DEFAULT_MAX_RECORDED_CALLS = 10_000
USER_TOKEN = "X-Knock-User-Token"

KeyKind = Literal["secret", "publishable"]


@attrs.frozen
class Caller:
    """Who sent a request: its API key, the key's kind and, in enhanced security mode with a
    publishable key, the user its token speaks for."""

    api_key: str = attrs.field(repr=False)
    kind: KeyKind
    user: TokenUser | None = None

    @property
    def scope(self) -> str:
        """What rate limits and idempotency keys are kept per: the key, and the signing user."""
        return self.api_key if self.user is None else f"{self.api_key}\0user:{self.user.user_id}"


@attrs.define
class Backend:
    """What handlers work with: the state, the clock, the workflow engine and the bulk runner."""

    state: State
    clock: Clock
    engine: Engine
    bulk: BulkRunner

    def now(self) -> str:
        return isoformat(self.clock.now())


@attrs.frozen
class RecordedRequest:
    """One request the server answered, for assertions in tests (`server.requests`)."""

    operation_id: str
    method: str
    path: str
    path_params: Mapping[str, str]
    query: Sequence[tuple[str, str]]
    body: Any
    status: int | None  # None when the connection was dropped on purpose
    replayed: bool  # answered from the Idempotency-Key store
    key_kind: KeyKind | None


@attrs.frozen
class IdempotencyViolation:
    """An Idempotency-Key reused for a different request (answered 422 `idempotency_key_reused`)."""

    operation_id: str
    key: str
    message: str


class KnockTestServer:
    """An embedded Knock server for tests and demos.

    `async with KnockTestServer() as server:` binds 127.0.0.1 on a free port; point the SDK (or
    any HTTP client) at `server.url` with `server.api_key`. Declare workflows with
    `add_workflow()` and in-app guides with `add_guide()`; every other piece of data is created
    through the API as on Knock.

    `enhanced_security=True` turns on Knock's enhanced security mode: a publishable key then
    needs a user token signed with `server.signing_key` (generated, unless you pass
    `signing_key`, a PEM or base64-encoded PEM). It needs the `knock-async[tokens]` extra.

    The request log keeps the newest `max_recorded_calls` requests (`dropped_calls` counts the
    older ones it let go); the Idempotency-Key store keeps the newest `max_idempotency_keys` keys
    for 24 hours.

    Every answer carries CORS headers and preflights are answered, so browser clients may call
    it: from any origin by default, or only from `cors_origins` (e.g. `["http://localhost:3000"]`).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        secret_key: str = DEFAULT_SECRET_KEY,
        publishable_key: str = DEFAULT_PUBLISHABLE_KEY,
        clock: Clock | None = None,
        rate_limits: RateLimits | None = None,
        faults: Faults | None = None,
        bulk: BulkProgress | None = None,
        operations: Iterable[Operation[Any]] | None = None,
        middlewares: Sequence[Middleware] = (),
        enhanced_security: bool = False,
        signing_key: str | None = None,
        max_recorded_calls: int = DEFAULT_MAX_RECORDED_CALLS,
        max_idempotency_keys: int = DEFAULT_MAX_KEYS,
        cors_origins: Iterable[str] | None = None,
    ) -> None:
        if max_recorded_calls < 1:
            raise ValueError("max_recorded_calls must be at least 1")
        self.host = host
        self.port = port
        self.secret_key = secret_key
        self.publishable_key = publishable_key
        self._keys: dict[str, KeyKind] = {secret_key: "secret", publishable_key: "publishable"}
        self.clock: Clock = clock or SystemClock()
        self.state = State()
        engine = Engine(self.state, self.clock)
        bulk_runner = BulkRunner(self.state, self.clock, bulk or BulkProgress(), engine.new_id)
        self._backend = Backend(self.state, self.clock, engine, bulk_runner)
        self._limiter = RateLimiter(rate_limits or RateLimits())
        self._faults = FaultInjector(faults or Faults())
        self._idempotency = IdempotencyStore(self.clock, max_idempotency_keys)
        self._security = _enhanced_security(enhanced_security, signing_key)
        self.operations: list[Operation[Any]] = list(
            operations if operations is not None else discover_operations()
        )
        self._requests: collections.deque[RecordedRequest] = collections.deque(maxlen=max_recorded_calls)
        self.dropped_calls = 0  # requests that left the log to keep it within max_recorded_calls
        self._violations: collections.deque[IdempotencyViolation] = collections.deque(
            maxlen=max_recorded_calls
        )
        self._feed_socket = FeedSocket(self.caller_for, self._security, self._backend, self.operations)
        self.app = self._make_app([cors_middleware(cors_origins), *middlewares])
        self._runner: web.AppRunner | None = None

    # ---------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        """The base URL to give a client, e.g. "http://127.0.0.1:54321" (once started)."""
        if self._runner is None:
            raise RuntimeError("the server is not running: use `async with KnockTestServer() as server`")
        return f"http://{self.host}:{self.port}"

    @property
    def api_key(self) -> str:
        """The secret key, which may call every operation."""
        return self.secret_key

    @property
    def enhanced_security(self) -> bool:
        return self._security is not None

    @property
    def signing_key(self) -> str:
        """The private key (PEM) the app under test signs user tokens with, in enhanced security mode."""
        if self._security is None:
            raise RuntimeError("the server has no signing key: start it with enhanced_security=True")
        return self._security.signing_key

    def __repr__(self) -> str:
        where = f"http://{self.host}:{self.port}" if self._runner is not None else "not running"
        mode = ", enhanced security" if self._security is not None else ""
        return f"<KnockTestServer {where}{mode}>"

    async def start(self) -> None:
        runner = web.AppRunner(
            self.app,
            access_log=None,
            handle_signals=False,
            max_line_size=MAX_LINE_BYTES,
            max_field_size=MAX_LINE_BYTES,
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        if self.port == 0:
            self.port = _bound_port(runner)
        self._backend.bulk.base_url = self.url

    async def close(self) -> None:
        self._backend.engine.close()
        self._backend.bulk.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> KnockTestServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # ---------------------------------------------------------------- configuration and seeding

    def add_workflow(
        self,
        key: str,
        steps: Sequence[ChannelStep | str] = ("in_app_feed",),
        *,
        delay: float | None = None,
        active: bool = True,
        categories: Sequence[str] = (),
        name: str | None = None,
    ) -> Workflow:
        """Declare (or replace) a workflow; steps are `ChannelStep`s or channel types such as "email"."""
        workflow = Workflow(key, steps, delay, active, categories, name)  # type: ignore[arg-type]  # attrs converters
        return self._backend.engine.declare(workflow)

    def add_guide(
        self,
        key: str,
        steps: Sequence[GuideStep | str | Mapping[str, Any]] = ("step_1",),
        *,
        channel: str = "guides",
        type: str = "banner",
        active: bool = True,
    ) -> Guide:
        """Declare (or replace) an in-app guide on the guide channel with key `channel`.

        Steps are `GuideStep`s, refs, or dicts such as `{"ref": "step_1", "content": {"title": "Hi"}}`.
        """
        guide = Guide(key, steps, channel, type, active)
        self.state.guides[key] = guide
        return guide

    def set_workflow_active(self, key: str, active: bool) -> None:
        workflow = self.state.workflows[key]
        self.state.workflows[key] = attrs.evolve(workflow, active=active)

    def add_channel(self, key: str, channel_type: ChannelType) -> str:
        """Declare a channel (workflows declare theirs); returns its id."""
        return self._backend.engine.declare_channel(key, channel_type).id

    @staticmethod
    def channel_id(key: str) -> str:
        """The id of the channel with this key (ids are derived from keys, so known in advance)."""
        return channel_id_for(key)

    def add_audience(self, key: str) -> None:
        self.state.audiences.setdefault(key, {})

    def add_api_key(self, key: str) -> None:
        """Accept another key; its prefix (sk_ or pk_) says which kind it is."""
        if not key.startswith(("sk_", "pk_")):
            raise ValueError("API keys start with sk_ (secret) or pk_ (publishable)")
        self._keys[key] = "secret" if key.startswith("sk_") else "publishable"

    def identify_user(self, user_id: str, **properties: Any) -> dict[str, Any]:
        """Seed a user directly, as `users.update` would."""
        return user(self.state.upsert((None, user_id), properties, self._backend.now()))

    def set_object(self, collection: str, object_id: str, **properties: Any) -> dict[str, Any]:
        return obj(
            self.state.upsert(
                ref_of({"id": object_id, "collection": collection}), properties, self._backend.now()
            )
        )

    def set_tenant(self, tenant_id: str, **properties: Any) -> dict[str, Any]:
        return tenant(self.state.set_tenant(tenant_id, properties, self._backend.now()))

    @property
    def rate_limits(self) -> RateLimits:
        return self._limiter.limits

    @rate_limits.setter
    def rate_limits(self, limits: RateLimits) -> None:
        self._limiter.limits = limits
        self._limiter.reset()

    def configure_faults(self, faults: Faults) -> None:
        self._faults.configure(faults)

    def inject_fault(
        self,
        kind: FaultKind = "error",
        *,
        when: FaultTiming = "after",
        operation: str | None = None,
        count: int = 1,
        delay: float = 1.0,
        status: int = 500,
    ) -> None:
        """Make the next `count` requests (to `operation`, an operationId, if given) fail this way."""
        self._faults.inject(kind, when=when, operation=operation, count=count, delay=delay, status=status)

    @property
    def requests(self) -> list[RecordedRequest]:
        """The recorded requests, oldest first: the newest `max_recorded_calls` of them."""
        return list(self._requests)

    def calls(self, operation_id: str) -> list[RecordedRequest]:
        """The recorded requests to one operation, e.g. `server.calls("workflows.trigger")`."""
        return [request for request in self._requests if request.operation_id == operation_id]

    def take_idempotency_violations(self) -> list[IdempotencyViolation]:
        """The Idempotency-Key misuses answered since the last call, forgotten once taken.

        The `knock_server` pytest fixture fails a test that leaves any behind.
        """
        taken = list(self._violations)
        self._violations.clear()
        return taken

    def reset(self) -> None:
        """Forget all data, idempotency keys, rate-limit counts, queued faults and the request log.

        Declared workflows, channels and audiences stay.
        """
        self._backend.engine.close()
        self._backend.bulk.close()
        self._backend.bulk.operations.clear()
        self.state.clear()
        self._idempotency.clear()
        self._limiter.reset()
        self._faults.clear()
        self._requests.clear()
        self._violations.clear()
        self.dropped_calls = 0

    # ---------------------------------------------------------------- the request pipeline

    def _make_app(self, middlewares: Sequence[Middleware]) -> web.Application:
        app = web.Application(middlewares=[*middlewares, _unrouted], client_max_size=MAX_BODY_BYTES)
        for operation in route_order(self.operations):
            app.router.add_route(operation.method, operation.path, self._endpoint_for(operation))
        served = {operation.id: operation for operation in self.operations}
        for method, path, operation_id in TWINS:  # routes Knock serves twice answer as their twins
            if operation_id in served:
                app.router.add_route(method, path, self._endpoint_for(served[operation_id]))
        self._feed_socket.register(app)  # real-time feeds: /ws/v1/websocket
        return app

    def _endpoint_for(
        self, operation: Operation[Any]
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def endpoint(request: web.Request) -> web.StreamResponse:
            return await self._serve(operation, request)

        return endpoint

    async def _serve(self, operation: Operation[Any], request: web.Request) -> web.StreamResponse:
        request[OPERATION_KEY] = operation
        key_kind: KeyKind | None = None
        try:
            caller = self._authenticate(request)
            key_kind = caller.kind
            if key_kind == "publishable" and not operation.publishable:
                raise wrong_key_type(operation.id)
            self._limiter.acquire(caller.scope, operation.tier)
            idempotency_key = _idempotency_key(request)
            body = await _read_json(request)
        except KnockHTTPError as error:
            return await self._respond(operation, request, _reply(error), None, key_kind=key_kind)
        fault: Fault | None = None

        async def act() -> Reply | None:
            nonlocal fault
            reply, fault = await self._act(operation, request, body, caller.user)
            return reply

        if idempotency_key and operation.method != "GET":
            fingerprint = Fingerprint.of(
                request.method, request.path, request.query.items(), body, request.headers.get(USER_TOKEN)
            )
            try:
                reply, replayed = await self._idempotency.run(caller.scope, idempotency_key, fingerprint, act)
            except KeyReused as misuse:
                self._violations.append(IdempotencyViolation(operation.id, idempotency_key, str(misuse)))
                reused = _reply(idempotency_key_reused(str(misuse)))
                return await self._respond(operation, request, reused, None, key_kind=key_kind)
        else:
            reply, replayed = await act(), False
        if replayed:
            # The retry itself can fail again, but it acts on nothing: treat it as "before".
            drawn = self._faults.draw(operation.id)
            fault = attrs.evolve(drawn, when="before") if drawn else None
        return await self._respond(operation, request, reply, fault, key_kind=key_kind, replayed=replayed)

    def _authenticate(self, request: web.Request) -> Caller:
        """The request's key, its kind and its token's user (401 when it names no key of this
        server, or lacks a good user token where enhanced security needs one)."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        api_key = token.strip() if scheme.lower() == "bearer" else ""
        return self.caller_for(api_key, request.headers.get(USER_TOKEN))

    def caller_for(self, api_key: str, user_token: str | None) -> Caller:
        """Who these credentials speak for, as every request (and the socket) checks them."""
        kind = self._keys.get(api_key)
        if kind is None:
            raise unauthenticated()
        if self._security is None or kind == "secret":
            return Caller(api_key, kind)
        return Caller(api_key, kind, self._security.verify(user_token))

    async def _act(
        self, operation: Operation[Any], request: web.Request, body: Any, user: TokenUser | None
    ) -> tuple[Reply | None, Fault | None]:
        """Run the handler, unless a fault before acting stops it; returns the fault to apply after."""
        fault = self._faults.draw(operation.id)
        if fault is not None and fault.when == "before":
            if fault.kind != "delay":
                return None, fault
            await asyncio.sleep(fault.delay)  # a slow start, then act as usual
            fault = None
        try:
            check_limits(operation.limits, body)
            handler = HANDLERS.get(operation.id)
            if handler is None:
                raise not_implemented(operation.id)
            call = Call(operation, request.match_info, request.query, body, self._backend)
            if self._security is not None and user is not None:
                self._security.check_access(user, call)
            reply = handler(call)
        except KnockHTTPError as error:
            reply = _reply(error)
        except Exception as exc:  # a bug in a handler: answer like Knock's 500, but say what broke
            logger.exception("handler for %s failed", operation.id)
            reply = _reply(
                KnockHTTPError(500, "internal_server_error", f"test server bug: {exc!r}", "api_error")
            )
        return reply, fault

    async def _respond(
        self,
        operation: Operation[Any],
        request: web.Request,
        reply: Reply | None,
        fault: Fault | None,
        *,
        key_kind: KeyKind | None,
        replayed: bool = False,
    ) -> web.StreamResponse:
        if fault is not None and fault.kind == "delay":
            await asyncio.sleep(fault.delay)
        elif fault is not None and fault.kind == "error":
            reply = _reply(injected_failure(fault.status))
        elif fault is not None and fault.kind == "drop":
            await self._record(operation, request, None, replayed, key_kind)
            return _drop(request)
        assert reply is not None  # only error and drop faults leave no reply, handled above
        await self._record(operation, request, reply.status, replayed, key_kind)
        if reply.status == 204 or reply.body is None:
            return web.Response(status=reply.status, headers=dict(reply.headers))
        return web.json_response(reply.body, status=reply.status, headers=dict(reply.headers))

    async def _record(
        self,
        operation: Operation[Any],
        request: web.Request,
        status: int | None,
        replayed: bool,
        key_kind: KeyKind | None,
    ) -> None:
        if len(self._requests) == self._requests.maxlen:
            self.dropped_calls += 1
        self._requests.append(
            RecordedRequest(
                operation.id,
                request.method,
                request.path,
                dict(request.match_info),
                list(request.query.items()),
                await _logged_body(request),
                status,
                replayed,
                key_kind,
            )
        )


def _enhanced_security(enabled: bool, signing_key: str | None) -> EnhancedSecurity | None:
    if not enabled:
        if signing_key is not None:
            raise ValueError("signing_key is for enhanced security mode: pass enhanced_security=True too")
        return None
    try:
        from ._enhanced_security import EnhancedSecurity
    except ImportError as error:
        raise ImportError(
            "enhanced security mode needs PyJWT and cryptography: pip install 'knock-async[tokens]'"
        ) from error
    return EnhancedSecurity(signing_key)


def _idempotency_key(request: web.Request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is not None and len(key) > MAX_IDEMPOTENCY_KEY:
        raise field_error("Idempotency-Key", f"must be at most {MAX_IDEMPOTENCY_KEY} characters")
    return key


async def _read_json(request: web.Request) -> Any:
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


async def _logged_body(request: web.Request) -> Any:
    """The request's JSON body for the log, also when nothing parsed it (rejected before reading)."""
    try:
        return await _read_json(request)
    except KnockHTTPError:  # not JSON, too large or too deep: the log keeps no body
        return None


def _reply(error: KnockHTTPError) -> Reply:
    return Reply(error.status, error.body(), tuple(error.headers.items()))


def _drop(request: web.Request) -> web.StreamResponse:
    """Close the connection without answering, as a crashed server or a cut network would."""
    transport = request.transport
    if transport is not None:
        transport.abort()
    # aiohttp still wants a response object; with the transport gone nothing is written.
    return web.Response(status=500)


def _bound_port(runner: web.AppRunner) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    raise RuntimeError("the server did not bind a TCP port")


@web.middleware
async def _unrouted(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """A path the API does not route answers in Knock's own shape for that case."""
    try:
        return await handler(request)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
        return web.json_response({"errors": {"detail": "404 Not Found"}}, status=404)
