"""The real-time feed socket (Phoenix Channels vsn 2.0.0) over real websockets, with aiohttp's
client: connect and authenticate as HTTP calls do, join feed topics, heartbeats, `new-message`
pushes in the shape Knock's browser client reads, topic isolation, per-connection bounds and
a clean close when the server stops."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from knock_async.testing import KnockTestServer, ManualClock, SocketLimits
from knock_async.tokens import Grant, Permission, sign_user_token
from tests.conftest import ServerFactory
from tests.server.support import Api

LIMITS = SocketLimits()  # the defaults the server runs with
FEED_OPTIONS = {"archived": "exclude", "mode": "compact"}
QUIET = 0.3  # seconds to wait for a push that must not come


class Socket:
    """One Phoenix socket as Knock's client opens it, with frames read back one at a time."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self._refs = iter(range(1, 1_000_000))

    async def push(self, topic: str, event: str, payload: dict[str, Any], join_ref: str | None = None) -> str:
        ref = str(next(self._refs))
        await self.ws.send_str(json.dumps([join_ref, ref, topic, event, payload]))
        return ref

    async def frame(self, timeout: float = 5.0) -> list[Any]:
        message = await self.ws.receive(timeout=timeout)
        assert message.type == aiohttp.WSMsgType.TEXT, message
        frame: list[Any] = json.loads(message.data)
        return frame

    async def reply(self, ref: str) -> dict[str, Any]:
        """The phx_reply to `ref`, skipping pushes before it."""
        while True:
            _, got_ref, _, event, payload = await self.frame()
            if event == "phx_reply" and got_ref == ref:
                return payload  # type: ignore[no-any-return]

    async def join(self, topic: str, clients: dict[str, Any] | None = None) -> dict[str, Any]:
        payload = clients if clients is not None else {"client_a": FEED_OPTIONS}
        ref = await self.push(topic, "phx_join", payload)
        return await self.reply(ref)

    async def quiet(self) -> None:
        """No frame arrives for a while."""
        with pytest.raises(asyncio.TimeoutError):
            await self.ws.receive(timeout=QUIET)


def feed_topic(server: KnockTestServer, user_id: str) -> str:
    return f"feeds:{server.channel_id('in_app_feed')}:{user_id}"


async def connect(
    session: aiohttp.ClientSession, server: KnockTestServer, *, vsn: str = "2.0.0", **params: str
) -> Socket:
    query = {"api_key": server.publishable_key, **params, "vsn": vsn}
    ws = await session.ws_connect(f"{server.url}/ws/v1/websocket", params=query)
    return Socket(ws)


async def notify(server: KnockTestServer, *recipients: str) -> None:
    async with Api(server) as admin:
        result = await admin.post("/v1/workflows/new-comment/trigger", json={"recipients": list(recipients)})
        assert result.ok, result


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
async def server(make_server: ServerFactory) -> KnockTestServer:
    server = await make_server()
    server.add_workflow("new-comment", ["in_app_feed", "email"])
    return server


@pytest.fixture
async def secure(make_server: ServerFactory) -> KnockTestServer:
    server = await make_server(enhanced_security=True)
    server.add_workflow("new-comment", ["in_app_feed"])
    return server


def token(server: KnockTestServer, user_id: str, *grants: Grant) -> str:
    return sign_user_token(user_id, signing_key=server.signing_key, grants=grants or None)


async def test_heartbeat_is_answered(server: KnockTestServer, session: aiohttp.ClientSession) -> None:
    socket = await connect(session, server)
    ref = await socket.push("phoenix", "heartbeat", {})
    assert await socket.frame() == [None, ref, "phoenix", "phx_reply", {"status": "ok", "response": {}}]


async def test_new_message_reaches_each_joined_client_with_its_own_metadata(
    server: KnockTestServer, session: aiohttp.ClientSession
) -> None:
    socket = await connect(session, server)
    topic = feed_topic(server, "u1")
    clients = {"client_all": FEED_OPTIONS, "client_unread": {**FEED_OPTIONS, "status": "read"}}
    ref = await socket.push(topic, "phx_join", clients, join_ref="7")
    assert await socket.frame() == ["7", ref, topic, "phx_reply", {"status": "ok", "response": {}}]

    await notify(server, "u1")
    join_ref, push_ref, pushed_topic, event, payload = await socket.frame()
    assert (join_ref, push_ref, pushed_topic, event) == ("7", None, topic, "new-message")
    assert payload["event"] == "new-message"
    assert sorted(payload["attn"]) == ["client_all", "client_unread"]
    all_meta = payload["data"]["client_all"]["metadata"]
    assert (all_meta["total_count"], all_meta["unread_count"], all_meta["unseen_count"]) == (1, 1, 1)
    assert payload["data"]["client_unread"]["metadata"]["total_count"] == 0  # nothing read yet
    assert payload["metadata"]["total_count"] == 1
    await socket.quiet()  # one push per message, none for the email step


async def test_other_users_topics_hear_nothing(
    server: KnockTestServer, session: aiohttp.ClientSession
) -> None:
    first, second = await connect(session, server), await connect(session, server)
    assert (await first.join(feed_topic(server, "u1")))["status"] == "ok"
    assert (await second.join(feed_topic(server, "u2")))["status"] == "ok"
    await notify(server, "u2")
    assert (await second.frame())[3] == "new-message"
    await first.quiet()


async def test_leave_stops_pushes(server: KnockTestServer, session: aiohttp.ClientSession) -> None:
    socket = await connect(session, server)
    topic = feed_topic(server, "u1")
    await socket.join(topic)
    ref = await socket.push(topic, "phx_leave", {})
    assert (await socket.reply(ref))["status"] == "ok"
    await notify(server, "u1")
    await socket.quiet()


async def test_refused_connections_answer_as_http_calls(
    secure: KnockTestServer, session: aiohttp.ClientSession
) -> None:
    url = f"{secure.url}/ws/v1/websocket"
    cases = {
        "wrong key": ({"api_key": "pk_nope", "vsn": "2.0.0"}, 401, "api_key_missing"),
        "no token": ({"api_key": secure.publishable_key, "vsn": "2.0.0"}, 401, "missing_user_token"),
        "bad token": (
            {"api_key": secure.publishable_key, "user_token": "x.y.z", "vsn": "2.0.0"},
            401,
            "invalid_user_token",
        ),
        "old protocol": ({"api_key": secure.secret_key, "vsn": "1.0.0"}, 400, "invalid_params"),
    }
    for name, (params, status, code) in cases.items():
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(url, params=params)
        assert refused.value.status == status, name
        async with session.get(url, params=params) as response:
            assert response.status == status, name
            assert (await response.json())["code"] == code, name


async def test_a_token_joins_only_its_own_feed_or_what_its_grants_name(
    secure: KnockTestServer, session: aiohttp.ClientSession
) -> None:
    own = await connect(session, secure, user_token=token(secure, "u1"))
    assert (await own.join(feed_topic(secure, "u1")))["status"] == "ok"
    refused = await own.join(feed_topic(secure, "u2"))
    assert refused["status"] == "error"
    assert refused["response"]["reason"] == "user_token_forbidden"
    assert refused["response"]["status"] == 403

    lead = await connect(
        session, secure, user_token=token(secure, "lead", Grant.for_user("u2", Permission.USER_FEED_READ))
    )
    assert (await lead.join(feed_topic(secure, "u2")))["status"] == "ok"
    await notify(secure, "u2")
    assert (await lead.frame())[3] == "new-message"
    await own.quiet()  # its refused join of u2's topic listens to nothing


async def test_a_secret_key_needs_no_token(secure: KnockTestServer, session: aiohttp.ClientSession) -> None:
    socket = await connect(session, secure, api_key=secure.secret_key)
    assert (await socket.join(feed_topic(secure, "anyone")))["status"] == "ok"


async def test_bad_topics_and_options_are_refused(
    server: KnockTestServer, session: aiohttp.ClientSession
) -> None:
    socket = await connect(session, server)
    unknown_feed = await socket.join("feeds:00000000-0000-0000-0000-000000000000:u1")
    assert unknown_feed["response"]["status"] == 404
    not_a_feed = await socket.join("rooms:lobby")
    assert not_a_feed["response"]["reason"] == "unmatched_topic"
    bad_options = await socket.join(feed_topic(server, "u1"), {"client_a": {"trigger_data": "not json"}})
    assert (bad_options["response"]["status"], bad_options["response"]["reason"]) == (422, "invalid_params")
    assert "trigger_data" in bad_options["response"]["message"]
    not_options = await socket.join(feed_topic(server, "u1"), {"client_a": "compact"})
    assert not_options["response"]["status"] == 422
    ref = await socket.push(feed_topic(server, "u9"), "ping", {})
    assert (await socket.reply(ref))["response"] == {"reason": "unmatched topic"}


async def test_a_malformed_frame_closes_the_socket_with_a_reason(
    server: KnockTestServer, session: aiohttp.ClientSession
) -> None:
    socket = await connect(session, server)
    await socket.ws.send_str(json.dumps({"topic": "phoenix", "event": "heartbeat"}))  # vsn 1.0.0's shape
    closed = await socket.ws.receive(timeout=5)
    assert closed.type == aiohttp.WSMsgType.CLOSE
    assert closed.data == aiohttp.WSCloseCode.UNSUPPORTED_DATA
    assert "join_ref, ref, topic, event, payload" in closed.extra


async def test_bounds_per_connection(server: KnockTestServer, session: aiohttp.ClientSession) -> None:
    socket = await connect(session, server)
    for user in range(LIMITS.max_topics):
        assert (await socket.join(feed_topic(server, f"u{user}")))["status"] == "ok"
    over = await socket.join(feed_topic(server, "one-too-many"))
    assert over["response"]["reason"] == "too_many_topics"
    assert (await socket.join(feed_topic(server, "u0")))["status"] == "ok"  # re-joining one is fine
    crowded = {f"client_{n}": FEED_OPTIONS for n in range(LIMITS.max_clients_per_topic + 1)}
    assert (await socket.join(feed_topic(server, "u1"), crowded))["response"]["reason"] == "too_many_clients"

    huge = await connect(session, server)
    await huge.ws.send_str(json.dumps([None, "1", "phoenix", "heartbeat", {"pad": "x" * 100_000}]))
    closed = await huge.ws.receive(timeout=5)
    assert closed.type == aiohttp.WSMsgType.CLOSE
    assert closed.data == aiohttp.WSCloseCode.MESSAGE_TOO_BIG


async def test_a_client_that_never_reads_is_closed_not_thinned(
    make_server: ServerFactory, session: aiohttp.ClientSession, clock: ManualClock
) -> None:
    server = await make_server(socket_limits=SocketLimits(max_pending_frames=5))
    server.add_workflow("reminder", delay=60)
    socket = await connect(session, server)
    await socket.join(feed_topic(server, "u1"))
    async with Api(server) as admin:
        for _ in range(6):
            assert (await admin.post("/v1/workflows/reminder/trigger", json={"recipients": ["u1"]})).ok
    # The six delayed runs fall due within one advance(): six pushes queue before the sender
    # task gets a turn, one more than the connection may hold.
    clock.advance(60)
    closed = await socket.ws.receive(timeout=5)
    while closed.type == aiohttp.WSMsgType.TEXT:  # whatever went out before the close
        closed = await socket.ws.receive(timeout=5)
    assert closed.type == aiohttp.WSMsgType.CLOSE
    assert closed.data == 1013
    assert "frames waiting" in closed.extra


async def test_server_stop_closes_every_socket_cleanly(
    server: KnockTestServer, session: aiohttp.ClientSession
) -> None:
    sockets = [await connect(session, server) for _ in range(3)]
    url = f"{server.url}/ws/v1/websocket"
    await sockets[0].join(feed_topic(server, "u1"))
    await asyncio.wait_for(server.close(), timeout=10)
    for socket in sockets:
        closed = await socket.ws.receive(timeout=5)
        assert closed.type == aiohttp.WSMsgType.CLOSE
        assert closed.data == aiohttp.WSCloseCode.GOING_AWAY
    with pytest.raises(aiohttp.ClientConnectionError):  # and no new one is taken
        await session.ws_connect(url, params={"api_key": server.publishable_key, "vsn": "2.0.0"})


async def test_a_silent_connection_is_closed_and_heartbeats_keep_one_open(
    make_server: ServerFactory, session: aiohttp.ClientSession
) -> None:
    server = await make_server(socket_limits=SocketLimits(idle_timeout=0.5))  # Phoenix's 60 s, shortened
    silent, beating = await connect(session, server), await connect(session, server)
    for _ in range(4):
        await asyncio.sleep(0.25)
        ref = await beating.push("phoenix", "heartbeat", {})
        assert (await beating.reply(ref))["status"] == "ok"
    closed = await silent.ws.receive(timeout=5)
    assert closed.type == aiohttp.WSMsgType.CLOSE
    assert closed.data == aiohttp.WSCloseCode.GOING_AWAY
    assert not beating.ws.closed


async def test_a_tenant_scoped_token_joins_only_with_its_tenant(
    secure: KnockTestServer, session: aiohttp.ClientSession
) -> None:
    only_acme = sign_user_token(
        "u1",
        signing_key=secure.signing_key,
        grants=[Grant.for_tenant("acme", Permission.USER_FEED_READ)],
        explicit_grants=True,
    )
    socket = await connect(session, secure, user_token=only_acme)
    topic = feed_topic(secure, "u1")
    acme = {**FEED_OPTIONS, "tenant": "acme"}
    assert (await socket.join(topic, {"client_acme": acme}))["status"] == "ok"
    globex = await socket.join(
        topic, {"client_acme": acme, "client_globex": {**FEED_OPTIONS, "tenant": "globex"}}
    )
    assert (globex["status"], globex["response"]["status"]) == ("error", 403)  # each feed's options count
    assert (await socket.join(topic, {"client_all": FEED_OPTIONS}))["response"]["status"] == 403


def test_socket_limits_refuse_bounds_that_would_close_every_connection() -> None:
    for bad in ({"max_pending_frames": 0}, {"max_topics": 0}, {"idle_timeout": 0.0}):
        with pytest.raises(ValueError):
            SocketLimits(**bad)  # type: ignore[arg-type]
