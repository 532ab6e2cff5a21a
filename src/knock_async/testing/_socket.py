"""Real-time feeds: the Phoenix Channels socket Knock's browser client listens on.

Knock's `@knocklabs/client` (read from its dist on npm, 0.22) opens a Phoenix socket
(protocol vsn 2.0.0, JSON frames `[join_ref, ref, topic, event, payload]`) at
`/ws/v1/websocket`, with the `api_key` and `user_token` as query parameters. Each feed
joins `feeds:<channel_id>:<user_id>` with a payload mapping its client reference id to its
feed options, and several feeds of a page share one topic. When a message lands in that feed
the server pushes `new-message` with `attn` (the reference ids to wake) and `data` (each one's
feed metadata, counted with its own options); the client then fetches the new items.

The socket authenticates exactly as an HTTP call does (`RequestPath.caller`: same keys, same
401s), and each feed of a join passes the feed route's own access rule with its own options,
as reading that feed over HTTP would (in enhanced security mode a token joins its own user's
feeds, or those its grants name, tenant scoping included). Each connection is bounded: frame size, joined
topics, clients per topic and pushes waiting to be sent (past that it is closed, never
thinned silently). Stopping the server closes every socket with 1001 (going away).
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs
from aiohttp import WSCloseCode, WSMsgType, web
from multidict import MultiDict

from knock_async._types import Operation

from ._call import Call
from ._caller import Caller
from ._errors import KnockHTTPError
from ._records import EventRow, JSONDict, MessageRow
from ._routes import HANDLERS

if TYPE_CHECKING:
    from ._backend import Backend

logger = logging.getLogger("knock_async.testing")

SOCKET_PATH = "/ws/v1/websocket"  # the client's `${host}/ws/v1`, plus Phoenix's transport suffix
PROTOCOL_VSN = "2.0.0"


@attrs.frozen
class SocketLimits:
    """The bounds of each real-time feed connection: `KnockTestServer(socket_limits=...)`.

    max_frame_bytes: the largest frame a client may send (a bigger one closes the socket, 1009).
    max_topics: feed topics one connection may join.
    max_clients_per_topic: feeds (client reference ids) sharing one topic on one connection.
    max_pending_frames: pushes waiting to be sent; past this the connection is closed (1013),
        never thinned silently.
    idle_timeout: seconds without a frame before the socket is closed (the client heartbeats
        every 30 s; Phoenix closes after 60 s).
    """

    max_frame_bytes: int = attrs.field(default=64 * 1024, validator=attrs.validators.ge(1))
    max_topics: int = attrs.field(default=100, validator=attrs.validators.ge(1))
    max_clients_per_topic: int = attrs.field(default=50, validator=attrs.validators.ge(1))
    max_pending_frames: int = attrs.field(default=1000, validator=attrs.validators.ge(1))
    idle_timeout: float = attrs.field(default=60.0, validator=attrs.validators.gt(0))


_FEED_OPERATION = "users.feeds.list_items"
_TOPIC_PREFIX = "feeds:"
_CLOSE_TOO_SLOW = 1013  # "try again later": the client did not read its pushes fast enough


class FrameError(ValueError):
    """A frame that is not `[join_ref, ref, topic, event, payload]` JSON."""


@attrs.define
class _Join:
    """One joined feed topic: whose feed, and the feeds (client reference ids) listening."""

    join_ref: str | None
    caller: Caller
    user_id: str
    channel_id: str
    clients: Mapping[str, Mapping[str, Any]]  # client reference id -> its feed options


@attrs.define(eq=False)
class _Connection:
    """One socket: who opened it, what it joined, and the frames waiting to go out."""

    ws: web.WebSocketResponse
    caller: Caller
    max_pending_frames: int
    joins: dict[str, _Join] = attrs.field(factory=dict)  # by topic
    outbox: collections.deque[str] = attrs.field(factory=collections.deque)
    ready: asyncio.Event = attrs.field(factory=asyncio.Event)
    overflowed: bool = False

    def send(self, frame: list[Any]) -> None:
        """Queue a frame; a client that lets `max_pending_frames` pile up is closed instead."""
        if len(self.outbox) >= self.max_pending_frames:
            self.overflowed = True
        else:
            self.outbox.append(json.dumps(frame))
        self.ready.set()

    def reply(self, frame: list[Any], status: str, response: JSONDict) -> None:
        join_ref, ref, topic = frame[0], frame[1], frame[2]
        self.send([join_ref, ref, topic, "phx_reply", {"status": status, "response": response}])

    async def send_all(self) -> None:
        """Write queued frames in order until the socket closes (or falls too far behind)."""
        while not self.ws.closed:
            await self.ready.wait()
            self.ready.clear()
            if self.overflowed:
                reason = f"more than {self.max_pending_frames} frames waiting: read faster"
                await self.ws.close(code=_CLOSE_TOO_SLOW, message=reason.encode())
                return
            try:
                while self.outbox and not self.ws.closed:
                    await self.ws.send_str(self.outbox.popleft())
            except ConnectionResetError:  # the client went away: its receive loop ends the socket
                return


class FeedSocket:
    """The socket endpoint and the connections it serves, fed by the state's message events."""

    def __init__(
        self,
        authenticate: Callable[[str, str | None], Caller],
        backend: Backend,
        operations: Iterable[Operation[Any]],
        limits: SocketLimits,
    ) -> None:
        self.limits = limits
        self._authenticate = authenticate
        self._backend = backend
        self._feed_operation = next((op for op in operations if op.id == _FEED_OPERATION), None)
        self._connections: set[_Connection] = set()
        backend.state.message_listeners.append(self._on_message_event)

    def register(self, app: web.Application) -> None:
        """Serve the socket on `app` (when it serves feeds), and close every socket on shutdown."""
        if self._feed_operation is not None:
            app.router.add_get(SOCKET_PATH, self.serve)
            app.on_shutdown.append(self._close_all)

    async def serve(self, request: web.Request) -> web.StreamResponse:
        """Upgrade to a websocket once the protocol version and the credentials check out."""
        if request.query.get("vsn") != PROTOCOL_VSN:
            message = f"this socket speaks Phoenix protocol vsn={PROTOCOL_VSN} (JSON arrays)"
            return web.json_response(KnockHTTPError(400, "invalid_params", message).body(), status=400)
        try:
            caller = self._authenticate(request.query.get("api_key", ""), request.query.get("user_token"))
        except KnockHTTPError as error:
            return web.json_response(error.body(), status=error.status)
        ws = web.WebSocketResponse(max_msg_size=self.limits.max_frame_bytes)
        await ws.prepare(request)
        connection = _Connection(ws, caller, self.limits.max_pending_frames)
        self._connections.add(connection)
        sender = asyncio.create_task(connection.send_all())
        try:
            await self._receive_all(connection)
        finally:
            self._connections.discard(connection)
            await ws.close()
            connection.ready.set()  # the sender sees the socket closed and returns
            await sender
        return ws

    async def _receive_all(self, connection: _Connection) -> None:
        ws, idle_timeout = connection.ws, self.limits.idle_timeout
        while not ws.closed:
            try:
                message = await ws.receive(timeout=idle_timeout)
            except asyncio.TimeoutError:
                idle = f"no frame for {idle_timeout:g} seconds (heartbeats keep a socket open)"
                await ws.close(code=WSCloseCode.GOING_AWAY, message=idle.encode())
                return
            if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                return
            if message.type == WSMsgType.ERROR:  # e.g. a frame over max_frame_bytes: aiohttp closed it
                return
            if message.type != WSMsgType.TEXT:
                await ws.close(code=WSCloseCode.UNSUPPORTED_DATA, message=b"frames are JSON text")
                return
            try:
                self._handle(connection, parse_frame(message.data))
            except FrameError as error:
                await ws.close(code=WSCloseCode.UNSUPPORTED_DATA, message=str(error).encode())
                return

    def _handle(self, connection: _Connection, frame: list[Any]) -> None:
        topic, event, payload = frame[2], frame[3], frame[4]
        if topic == "phoenix" and event == "heartbeat":
            connection.reply(frame, "ok", {})
        elif event == "phx_join":
            self._join(connection, frame, payload)
        elif topic not in connection.joins:
            connection.reply(frame, "error", {"reason": "unmatched topic"})  # Phoenix's own words
        elif event == "phx_leave":
            del connection.joins[topic]
            connection.reply(frame, "ok", {})
        else:
            connection.reply(frame, "error", {"reason": f"feed topics take no {event!r} event"})

    def _join(self, connection: _Connection, frame: list[Any], payload: Any) -> None:
        topic = frame[2]
        try:
            join = self._check_join(connection, frame[0], topic, payload)
        except KnockHTTPError as error:
            connection.reply(frame, "error", _refusal(error))
            return
        connection.joins[topic] = join  # a second join of a topic replaces the first, as in Phoenix
        connection.reply(frame, "ok", {})

    def _check_join(self, connection: _Connection, join_ref: str | None, topic: str, payload: Any) -> _Join:
        """The join a frame asks for, once its topic, clients, access and options check out."""
        channel_id, user_id = feed_topic(topic)
        max_topics = self.limits.max_topics
        if topic not in connection.joins and len(connection.joins) >= max_topics:
            raise KnockHTTPError(429, "too_many_topics", f"one connection joins at most {max_topics} topics")
        clients = feed_clients(payload, self.limits.max_clients_per_topic)
        route = HANDLERS[_FEED_OPERATION]
        for options in clients.values():  # each feed's options (its tenant, say) as its HTTP read's
            call = self._feed_call(connection.caller, user_id, channel_id, options)
            route.check_access(connection.caller, call, _FEED_OPERATION)
            route.handler(call)  # bad options or an unknown feed: refused now, not at each push
        return _Join(join_ref, connection.caller, user_id, channel_id, clients)

    def _feed_call(self, caller: Caller, user_id: str, channel_id: str, options: Mapping[str, Any]) -> Call:
        assert self._feed_operation is not None  # the route exists only when it does
        path = {"user_id": user_id, "id": channel_id}
        return Call(self._feed_operation, path, feed_query(options), None, self._backend, caller)

    def _metadata(self, join: _Join, options: Mapping[str, Any]) -> JSONDict:
        """The feed's counts as the HTTP feed answers them for these options."""
        call = self._feed_call(join.caller, join.user_id, join.channel_id, options)
        reply = HANDLERS[_FEED_OPERATION].handler(call)
        assert isinstance(reply.body, dict)
        meta: JSONDict = reply.body["meta"]
        return meta

    # ---------------------------------------------------------------- pushes

    def _on_message_event(self, message: MessageRow, event: EventRow) -> None:
        """A new in-app message: wake the feeds listening on its recipient's topic."""
        collection, user_id = message.recipient
        if event.type != "message.sent" or message.channel.type != "in_app_feed" or collection is not None:
            return
        topic = f"{_TOPIC_PREFIX}{message.channel.id}:{user_id}"
        for connection in list(self._connections):
            join = connection.joins.get(topic)
            if join is not None and join.clients:
                connection.send([join.join_ref, None, topic, "new-message", self._new_message(join)])

    def _new_message(self, join: _Join) -> JSONDict:
        data: JSONDict = {}
        for reference, options in join.clients.items():
            try:
                data[reference] = {"metadata": self._metadata(join, options)}
            except KnockHTTPError as error:  # e.g. the feed's channel went away since the join
                logger.warning("no feed metadata for a socket client: %s", error.message)
        return {
            "event": "new-message",
            "attn": list(join.clients),
            "data": data,
            # Deprecated in the client, still read by older ones: the unfiltered feed's counts.
            "metadata": self._metadata(join, {}),
        }

    async def _close_all(self, app: web.Application) -> None:
        for connection in list(self._connections):
            await connection.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")


def parse_frame(text: str) -> list[Any]:
    """A Phoenix vsn 2.0.0 frame: `[join_ref, ref, topic, event, payload]`."""
    try:
        frame = json.loads(text)
    except ValueError:
        raise FrameError("a frame is not JSON") from None
    if not isinstance(frame, list) or len(frame) != 5:
        raise FrameError("a frame must be the JSON array [join_ref, ref, topic, event, payload]")
    join_ref, ref, topic, event, payload = frame
    if not all(part is None or isinstance(part, str) for part in (join_ref, ref)):
        raise FrameError("join_ref and ref must be strings or null")
    if not isinstance(topic, str) or not isinstance(event, str) or not isinstance(payload, dict):
        raise FrameError("topic and event must be strings, the payload an object")
    return frame


def feed_topic(topic: str) -> tuple[str, str]:
    """(channel id, user id) of a `feeds:<channel_id>:<user_id>` topic."""
    channel_id, _, user_id = topic.removeprefix(_TOPIC_PREFIX).partition(":")
    if not topic.startswith(_TOPIC_PREFIX) or not channel_id or not user_id:
        raise KnockHTTPError(404, "unmatched_topic", "topics are feeds:<channel_id>:<user_id>")
    return channel_id, user_id


def feed_clients(payload: Mapping[str, Any], max_clients: int) -> dict[str, Mapping[str, Any]]:
    """The join payload: each listening feed's client reference id -> its feed options."""
    if len(payload) > max_clients:
        raise KnockHTTPError(429, "too_many_clients", f"one topic takes at most {max_clients} clients")
    if not all(isinstance(options, dict) for options in payload.values()):
        raise KnockHTTPError(422, "invalid_params", "the join payload maps client ids to feed options")
    return dict(payload)


def feed_query(options: Mapping[str, Any]) -> MultiDict[str]:
    """Feed options as the query string the client sends for them (one item: counts only)."""
    query: MultiDict[str] = MultiDict()
    for name, value in options.items():
        if isinstance(value, list):
            query.extend((f"{name}[]", _query_text(item)) for item in value)
        elif value is not None:
            query.add(name, _query_text(value))
    query["page_size"] = "1"
    return query


def _query_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value) if isinstance(value, (dict, list)) else str(value)


def _refusal(error: KnockHTTPError) -> JSONDict:
    """A refused join's reply: Knock's error fields, under Phoenix's `reason`."""
    return {"reason": error.code, "message": error.message, "status": error.status}
