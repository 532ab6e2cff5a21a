"""CORS: preflights and the headers on every answer, errors included, for allowed origins only."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web

from knock_async.testing import KnockTestServer, RateLimits
from knock_async.testing.__main__ import build_server, parse_args
from tests.conftest import ServerFactory
from tests.server.support import Api

APP = "http://localhost:3000"
KNOCK_CLIENT_HEADERS = {
    "authorization",
    "content-type",
    "x-knock-client",
    "x-knock-user-token",
    "x-knock-branch",
}


async def _preflight(server: KnockTestServer, path: str, origin: str = APP) -> aiohttp.ClientResponse:
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": ", ".join(sorted(KNOCK_CLIENT_HEADERS)),
    }
    async with (
        aiohttp.ClientSession(server.url) as session,
        session.options(path, headers=headers) as response,
    ):
        await response.read()
        return response


@pytest.mark.parametrize("path", ["/v1/users/u1", "/v1/channels/c1/messages/bulk/read", "/not/a/route"])
async def test_preflight_allows_knock_clients_methods_and_headers(server: KnockTestServer, path: str) -> None:
    response = await _preflight(server, path)
    assert response.status == 204
    assert response.headers["Access-Control-Allow-Origin"] == APP
    methods = {m.strip() for m in response.headers["Access-Control-Allow-Methods"].split(",")}
    assert {"GET", "POST", "PUT", "DELETE"} <= methods
    allowed = {h.strip() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert allowed >= KNOCK_CLIENT_HEADERS
    assert server.requests == []  # a preflight is not an API call


async def test_answers_and_errors_carry_the_origin(make_server: ServerFactory) -> None:
    server = await make_server(rate_limits=RateLimits(rates={tier: 1 for tier in range(1, 7)}, window=60))
    server.add_workflow("welcome")
    async with Api(server) as api:
        origin = {"Origin": APP}
        answers = [
            await api.put("/v1/users/u1", json={"name": "Ada"}, headers=origin),  # 200
            await api.get("/v1/users/u1", headers=origin, key="sk_wrong"),  # 401
            await api.post(
                "/v1/workflows/welcome/trigger",
                json={"recipients": ["u1"]},
                headers=origin,
                key=server.publishable_key,
            ),  # 403
            await api.get("/v1/users/nobody", headers=origin),  # 404
            await api.get("/nowhere", headers=origin),  # 404 unrouted
            await api.put("/v1/users/u2", json={}, headers=origin),  # 429: one a minute per tier
        ]
    assert [answer.status for answer in answers] == [200, 401, 403, 404, 404, 429]
    for answer in answers:
        assert answer.headers["Access-Control-Allow-Origin"] == APP
        assert "Retry-After" in answer.headers["Access-Control-Expose-Headers"].title()
        assert "Origin" in answer.headers["Vary"]


async def test_injected_failures_carry_the_origin(server: KnockTestServer) -> None:
    server.inject_fault("error", when="before", status=503)
    async with Api(server) as api:
        failed = await api.get("/v1/users", headers={"Origin": APP})
    assert failed.status == 503
    assert failed.headers["Access-Control-Allow-Origin"] == APP


async def test_only_configured_origins_are_allowed(make_server: ServerFactory) -> None:
    server = await make_server(cors_origins=[APP])
    assert (await _preflight(server, "/v1/users/u1")).headers["Access-Control-Allow-Origin"] == APP
    refused = await _preflight(server, "/v1/users/u1", origin="http://evil.example")
    assert "Access-Control-Allow-Origin" not in refused.headers
    assert "Access-Control-Allow-Methods" not in refused.headers
    async with Api(server) as api:
        answer = await api.get("/v1/users", headers={"Origin": "http://evil.example"})
    assert answer.status == 200  # CORS is the browser's check; the answer only lacks the grant
    assert "Access-Control-Allow-Origin" not in answer.headers


async def test_no_origin_no_grant(server: KnockTestServer, api: Api) -> None:
    answer = await api.get("/v1/users")
    assert answer.status == 200
    assert "Access-Control-Allow-Origin" not in answer.headers


async def test_the_dev_server_takes_allowed_origins() -> None:
    server = build_server(parse_args(["--port", "0", "--cors-origin", APP]))
    async with server:
        assert (await _preflight(server, "/v1/users/u1")).headers["Access-Control-Allow-Origin"] == APP
        refused = await _preflight(server, "/v1/users/u1", origin="http://elsewhere.example")
        assert "Access-Control-Allow-Origin" not in refused.headers


async def test_extra_routes_get_cors_and_are_added_before_start() -> None:
    async def hello(request: web.Request) -> web.StreamResponse:
        return web.json_response({"hello": "socket"})

    server = KnockTestServer()
    server.add_route("GET", "/ws/v1/hello", hello)
    async with server, aiohttp.ClientSession(server.url) as session:
        async with session.get("/ws/v1/hello", headers={"Origin": APP}) as response:
            assert await response.json() == {"hello": "socket"}
            assert response.headers["Access-Control-Allow-Origin"] == APP
        with pytest.raises(RuntimeError, match="before the server starts"):
            server.add_route("GET", "/late", hello)
