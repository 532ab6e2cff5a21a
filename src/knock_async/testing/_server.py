"""`KnockTestServer`: an in-process, in-memory Knock API on aiohttp.web.

Every request runs the named stages of `_request_path` (authenticate, key kind, rate limit,
body, idempotency, fault before, limits, access, handler, fault after, record); CORS is the
app's outermost middleware (`_cors`), so every answer carries it. Handlers are synchronous
functions over the in-memory state, so a request's change is atomic.

Extra routes (the real-time socket, for one) are added with `KnockTestServer.add_route`
before the server starts; they get CORS and the unrouted-path answer, not the API stages.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

import attrs
from aiohttp import web
from aiohttp.typedefs import Middleware

from knock_async._types import Operation

from . import _handlers  # noqa: F401  (importing it registers every handler)
from ._backend import Backend
from ._bulk import BulkPace, BulkRunner
from ._caller import KeyKind
from ._clock import ServerClock, SystemClock
from ._cors import cors_middleware
from ._engine import Engine
from ._faults import FaultInjector, FaultKind, Faults, FaultTiming
from ._guides import Guide, GuideStep
from ._idempotency import DEFAULT_MAX_KEYS, IdempotencyStore, Reply
from ._ratelimit import RateLimits, TierLimiter
from ._records import ref_of
from ._request_path import (
    MAX_BODY_BYTES,
    MAX_JSON_DEPTH,
    OPERATION_KEY,
    REQUEST_ID,
    Exchange,
    RequestPath,
    logged_body,
    new_exchange,
)
from ._routes import TWINS, discover_operations, route_order
from ._socket import FeedSocket, SocketLimits
from ._state import State
from ._views import obj, tenant, user
from ._webhooks import DEFAULT_TIMEOUT, Webhook, WebhookDelivery, WebhookSender
from ._workflows import ChannelStep, ChannelType, Workflow, channel_id_for

if TYPE_CHECKING:  # the module needs the tokens extra: imported only when enhanced security is on
    from ._enhanced_security import EnhancedSecurity

__all__ = ["MAX_BODY_BYTES", "MAX_JSON_DEPTH", "OPERATION_KEY", "KnockTestServer", "RecordedRequest"]

# One INFO line per request answered (the CLI prints them; `--quiet` silences them). Method,
# path, operation, status and duration only: never a header, a query or a body.
request_log = logging.getLogger("knock_async.testing.requests")

DEFAULT_SECRET_KEY = "sk_test_knock_async_embedded_server"
DEFAULT_PUBLISHABLE_KEY = "pk_test_knock_async_embedded_server"


# The request line and each header: aiohttp's default (8 KiB) is too short for long id lists in the
# query (Knock takes up to 1 000). Beyond this aiohttp's HTTP parser answers a plain-text 400 before
# the app sees the request, so it is set far above anything a client sends.
MAX_LINE_BYTES = 1024 * 1024
DEFAULT_MAX_RECORDED_CALLS = 10_000


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
    request_id: str = ""  # the x-request-id it was answered with


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
    `add_route()` serves an extra route beside the API (before `start()`).

    The real-time feed socket bounds each connection by `socket_limits` (`SocketLimits`: frame
    size, topics, clients per topic, pushes waiting, idle timeout).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        secret_key: str = DEFAULT_SECRET_KEY,
        publishable_key: str = DEFAULT_PUBLISHABLE_KEY,
        clock: ServerClock | None = None,
        rate_limits: RateLimits | None = None,
        faults: Faults | None = None,
        bulk: BulkPace | None = None,
        operations: Iterable[Operation[Any]] | None = None,
        middlewares: Sequence[Middleware] = (),
        enhanced_security: bool = False,
        signing_key: str | None = None,
        max_recorded_calls: int = DEFAULT_MAX_RECORDED_CALLS,
        max_idempotency_keys: int = DEFAULT_MAX_KEYS,
        cors_origins: Iterable[str] | None = None,
        socket_limits: SocketLimits | None = None,
    ) -> None:
        if max_recorded_calls < 1:
            raise ValueError("max_recorded_calls must be at least 1")
        self.host = host
        self.port = port
        self.secret_key = secret_key
        self.publishable_key = publishable_key
        self._keys: dict[str, KeyKind] = {secret_key: "secret", publishable_key: "publishable"}
        self.clock: ServerClock = clock or SystemClock()
        self.state = State()
        self._webhooks = WebhookSender(self.state, self.clock)  # listens to the state's message events
        engine = Engine(self.state, self.clock)
        bulk_runner = BulkRunner(self.state, self.clock, bulk or BulkPace(), engine.new_id)
        self._backend = Backend(self.state, self.clock, engine, bulk_runner)
        self._limiter = TierLimiter(rate_limits or RateLimits())
        self._faults = FaultInjector(faults or Faults())
        self._idempotency = IdempotencyStore(self.clock, max_idempotency_keys)
        self._security = _enhanced_security(enhanced_security, signing_key)
        self._path = self._make_path()
        self.operations: list[Operation[Any]] = list(
            operations if operations is not None else discover_operations()
        )
        self._requests: collections.deque[RecordedRequest] = collections.deque(maxlen=max_recorded_calls)
        self.dropped_calls = 0  # requests that left the log to keep it within max_recorded_calls
        self._violations: collections.deque[IdempotencyViolation] = collections.deque(
            maxlen=max_recorded_calls
        )
        self.app = self._make_app([cors_middleware(cors_origins), *middlewares])
        self._feed_socket = FeedSocket(
            self._path.caller, self._backend, self.operations, socket_limits or SocketLimits()
        )
        self._feed_socket.register(self.app)  # real-time feeds: /ws/v1/websocket
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
        await self._webhooks.start()

    async def close(self) -> None:
        self._backend.engine.close()
        self._backend.bulk.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self._webhooks.close()

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

    def add_webhook(
        self,
        url: str,
        *,
        secret: str | None = None,
        events: Iterable[str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Webhook:
        """POST message events (all, or the `events` types) to `url`, signed with `secret` (one is
        generated when not given: `Webhook.secret`), as Knock's outbound webhooks do."""
        return self._webhooks.add(url, secret, events, timeout)

    @property
    def webhooks(self) -> list[Webhook]:
        """The webhooks added, oldest first."""
        return list(self._webhooks.webhooks)

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        """Every webhook delivery attempt so far, oldest first."""
        return list(self._webhooks.deliveries)

    async def drain_webhooks(self) -> None:
        """Wait for the webhook attempts under way (retries not yet due stay scheduled)."""
        await self._webhooks.drain()

    def click_link(self, message_id: str, url: str) -> None:
        """The recipient clicks a tracked link in the message (Knock's link tracking)."""
        message = self.state.messages.get(message_id)
        if message is None:
            raise LookupError(f"no message {message_id!r}")
        now = self._backend.now()
        message.engaged.setdefault("link_clicked", now)
        message.updated_at = now
        details = {"__typename": "EventData", "url": url}
        self.state.record_message_event(message, "message.link_clicked", now, details)

    @property
    def requests(self) -> list[RecordedRequest]:
        """The recorded requests, oldest first: the newest `max_recorded_calls` of them."""
        return list(self._requests)

    def calls(self, operation_id: str) -> list[RecordedRequest]:
        """The recorded requests to one operation, e.g. `server.calls("workflows.trigger")`."""
        return [request for request in self._requests if request.operation_id == operation_id]

    @property
    def idempotency_keys(self) -> int:
        """How many Idempotency-Keys the store holds: at most `max_idempotency_keys`, for 24 hours."""
        return len(self._idempotency)

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
        self._webhooks.reset()

    def add_route(
        self, method: str, path: str, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> None:
        """Serve an extra route (e.g. a websocket) beside the API; only before the server starts."""
        if self._runner is not None:
            raise RuntimeError("routes are added before the server starts")
        self.app.router.add_route(method, path, handler)

    # ---------------------------------------------------------------- the request path

    def _make_path(self) -> RequestPath:
        return RequestPath(
            backend=self._backend,
            keys=self._keys,
            limiter=self._limiter,
            faults=self._faults,
            idempotency=self._idempotency,
            security=self._security,
            record=self._record,
            violation=self._violated,
        )

    def _make_app(self, middlewares: Sequence[Middleware]) -> web.Application:
        app = web.Application(middlewares=[*middlewares, _unrouted], client_max_size=MAX_BODY_BYTES)
        for operation in route_order(self.operations):
            app.router.add_route(operation.method, operation.path, self._endpoint_for(operation))
        served = {operation.id: operation for operation in self.operations}
        for method, path, operation_id in TWINS:  # routes Knock serves twice answer as their twins
            if operation_id in served:
                app.router.add_route(method, path, self._endpoint_for(served[operation_id]))
        return app

    def _endpoint_for(
        self, operation: Operation[Any]
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def endpoint(request: web.Request) -> web.StreamResponse:
            exchange = new_exchange(operation, request)
            reply = await self._path.run(exchange)
            return _drop(request) if exchange.dropped else _response(reply, exchange)

        return endpoint

    async def _record(self, exchange: Exchange, status: int | None) -> None:
        if request_log.isEnabledFor(logging.INFO):
            _log_request(exchange, status)
        if len(self._requests) == self._requests.maxlen:
            self.dropped_calls += 1
        request = exchange.request
        self._requests.append(
            RecordedRequest(
                exchange.operation.id,
                request.method,
                request.path,
                dict(request.match_info),
                list(request.query.items()),
                await logged_body(request),
                status,
                exchange.replayed_from is not None,
                exchange.key_kind,
                exchange.request_id,
            )
        )

    def _violated(self, operation_id: str, key: str, message: str) -> None:
        self._violations.append(IdempotencyViolation(operation_id, key, message))


def _log_request(exchange: Exchange, status: int | None) -> None:
    request = exchange.request
    replayed = " (replayed)" if exchange.replayed_from is not None else ""
    request_log.info(
        "%s %s %s -> %s%s in %.1f ms",
        request.method,
        request.path,
        exchange.operation.id,
        "dropped" if status is None else status,
        replayed,
        (time.monotonic() - exchange.started) * 1000,
    )


def _response(reply: Reply, exchange: Exchange) -> web.StreamResponse:
    """The reply as sent: with its x-request-id and, for a replay, Knock's replay headers."""
    headers = {**dict(reply.headers), REQUEST_ID: exchange.request_id}
    if exchange.replayed_from is not None:
        headers["idempotent-replayed"] = "true"
        headers["original-x-request-id"] = exchange.replayed_from
    if reply.status == 204 or reply.body is None:
        return web.Response(status=reply.status, headers=headers)
    return web.json_response(reply.body, status=reply.status, headers=headers)


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
