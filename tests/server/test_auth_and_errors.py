"""Authentication, Knock's error bodies, unknown ids and payload limits."""

from __future__ import annotations

import aiohttp

from knock_async.testing import KnockTestServer
from tests.server.support import Api


async def test_missing_or_unknown_key_is_401(server: KnockTestServer) -> None:
    async with aiohttp.ClientSession(server.url) as session, session.get("/v1/users") as response:
        assert response.status == 401
        assert await response.json() == {
            "code": "api_key_missing",
            "message": "No valid API key provided",
            "status": 401,
            "type": "authentication_error",
        }
    async with Api(server, key="sk_test_not_a_key") as api:
        assert (await api.get("/v1/users")).status == 401


async def test_publishable_key_only_calls_publishable_operations(server: KnockTestServer, api: Api) -> None:
    server.add_workflow("welcome")
    await api.put("/v1/users/u1", json={"name": "Ada"})
    public = Api(server, key=server.publishable_key)
    async with public:
        assert (await public.get("/v1/users/u1")).status == 200  # users.get is publishable
        feed = await public.get(f"/v1/users/u1/feeds/{server.channel_id('in_app_feed')}")
        assert feed.status == 200
        denied = await public.post("/v1/workflows/welcome/trigger", json={"recipients": ["u1"]})
        assert denied.status == 403
        assert denied.body["code"] == "incorrect_token_type"
        assert (await public.post("/v1/users/bulk/delete", json={"user_ids": ["u1"]})).status == 403
    assert server.state.runs == {}


async def test_extra_keys_can_be_added(server: KnockTestServer) -> None:
    server.add_api_key("sk_test_second")
    async with Api(server, key="sk_test_second") as api:
        assert (await api.get("/v1/users")).status == 200


async def test_unknown_ids_are_404(server: KnockTestServer, api: Api) -> None:
    for path in ("/v1/users/nobody", "/v1/objects/projects/none", "/v1/tenants/none", "/v1/messages/none"):
        result = await api.get(path)
        assert result.status == 404, path
        assert result.body["code"] == "resource_missing"
    assert (await api.delete("/v1/users/nobody")).status == 404
    assert (await api.get("/v1/bulk_operations/none")).status == 404


async def test_unknown_and_inactive_workflows(server: KnockTestServer, api: Api) -> None:
    missing = await api.post("/v1/workflows/nope/trigger", json={"recipients": ["u1"]})
    assert (missing.status, missing.body["code"]) == (404, "workflow_missing")
    server.add_workflow("paused", active=False)
    inactive = await api.post("/v1/workflows/paused/trigger", json={"recipients": ["u1"]})
    assert (inactive.status, inactive.body["code"]) == (422, "workflow_inactive")
    server.set_workflow_active("paused", True)
    assert (await api.post("/v1/workflows/paused/trigger", json={"recipients": ["u1"]})).ok


async def test_unrouted_path_answers_in_knocks_own_shape(api: Api) -> None:
    result = await api.get("/v1/not-a-thing")
    assert (result.status, result.body) == (404, {"errors": {"detail": "404 Not Found"}})


async def test_invalid_body_is_rejected(server: KnockTestServer, api: Api) -> None:
    server.add_workflow("welcome")
    broken = await api.request(
        "POST", "/v1/workflows/welcome/trigger", headers={"Content-Type": "application/json"}, json=None
    )
    assert broken.status == 422  # no body: recipients missing
    assert broken.body["errors"][0]["field"] == "recipients"
    bad_recipient = await api.post("/v1/workflows/welcome/trigger", json={"recipients": [{"name": "no id"}]})
    assert bad_recipient.status == 422
    assert server.state.runs == {}


async def test_recipients_limit(server: KnockTestServer, api: Api) -> None:
    server.add_workflow("welcome")
    result = await api.post(
        "/v1/workflows/welcome/trigger", json={"recipients": [f"u{i}" for i in range(1001)]}
    )
    assert result.status == 422
    assert result.body["code"] == "invalid_params"
    assert result.body["errors"][0]["field"] == "recipients"
    assert server.state.runs == {}
    assert (await api.post("/v1/workflows/welcome/trigger", json={"recipients": ["u1"] * 1000})).ok


async def test_data_size_limit(server: KnockTestServer, api: Api) -> None:
    server.add_workflow("welcome")
    huge = {"blob": "x" * (10 * 1024 * 1024)}
    result = await api.post("/v1/workflows/welcome/trigger", json={"recipients": ["u1"], "data": huge})
    assert result.status == 422
    assert result.body["errors"][0] == {
        "field": "data",
        "message": result.body["errors"][0]["message"],
        "type": "max_bytes",
    }


async def test_nested_limit(server: KnockTestServer, api: Api) -> None:
    too_many = {"subscriptions": [{"id": "p1", "recipients": [f"u{i}" for i in range(51)]}]}
    result = await api.post("/v1/objects/projects/bulk/subscriptions/add", json=too_many)
    assert result.status == 422
    assert result.body["errors"][0]["field"] == "subscriptions[].recipients"


async def test_page_size_is_bounded(api: Api) -> None:
    assert (await api.get("/v1/users", params={"page_size": "51"})).status == 422
    assert (await api.get("/v1/users", params={"after": "garbage"})).status == 422
