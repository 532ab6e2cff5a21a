"""How an app's own tests use the embedded Knock server: the `knock_server` pytest fixture.

The "app" here is a tiny aiohttp.web application that calls Knock from a request handler, the
way a FastAPI route would (FastAPI is not a dependency of this project; the same test written
for FastAPI, with httpx, is in the README). The test starts the app against `knock_server`,
posts a comment, and checks what Knock was asked to do and what it did.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from knock_async import AsyncKnock, KnockError
from knock_async.testing import KnockTestServer

# In your conftest.py (here, the module itself): the `knock_server` fixture.
pytest_plugins = ["knock_async.testing.pytest_plugin"]


# ---------------------------------------------------------------------------- the user's app

KNOCK = web.AppKey("knock", AsyncKnock)


async def post_comment(request: web.Request) -> web.Response:
    """POST /comments: record the author in Knock and notify the watchers."""
    comment = await request.json()
    knock = request.app[KNOCK]
    try:
        await knock.users.update(comment["author_id"], name=comment["author_name"])
        run = await knock.workflows.trigger(
            "new-comment",
            recipients=comment["watchers"],
            actor=comment["author_id"],
            data={"text": comment["text"]},
        )
    except KnockError:
        return web.json_response({"error": "notifications are unavailable"}, status=502)
    return web.json_response({"workflow_run_id": run.workflow_run_id}, status=201)


def create_app(knock: AsyncKnock) -> web.Application:
    app = web.Application()
    app[KNOCK] = knock  # in production: AsyncKnock() from KNOCK_API_KEY, opened at startup
    app.router.add_post("/comments", post_comment)
    return app


# ---------------------------------------------------------------------------- its tests

COMMENT = {
    "author_id": "ada",
    "author_name": "Ada Lovelace",
    "watchers": ["grace", "alan"],
    "text": "Looks good to me",
}


async def test_posting_a_comment_notifies_the_watchers(knock_server: KnockTestServer) -> None:
    knock_server.add_workflow("new-comment", ["in_app_feed"])
    async with (
        AsyncKnock(knock_server.api_key, base_url=knock_server.url) as knock,
        TestClient(TestServer(create_app(knock))) as app,
    ):
        response = await app.post("/comments", json=COMMENT)
        assert response.status == 201
        run_id = (await response.json())["workflow_run_id"]

        # What the app asked Knock to do...
        [trigger] = knock_server.calls("workflows.trigger")
        assert trigger.body["recipients"] == ["grace", "alan"]
        assert trigger.body["actor"] == "ada"
        # ... and what Knock did: the author is identified, each watcher has an unread item.
        assert (await knock.users.get("ada")).name == "Ada Lovelace"
        for watcher in ("grace", "alan"):
            feed = await knock.users.feeds.list_items(watcher, knock_server.channel_id("in_app_feed"))
            assert feed.data.meta.unread_count == 1
            assert feed.items[0].data == {"text": "Looks good to me"}
        runs = [run async for run in knock.workflow_recipient_runs.list(workflow="new-comment")]
        assert {run.workflow_run_id for run in runs} == {run_id}


async def test_the_app_answers_502_when_knock_fails(knock_server: KnockTestServer) -> None:
    knock_server.add_workflow("new-comment", ["in_app_feed"])
    knock_server.inject_fault("error", when="before", operation="workflows.trigger", status=503)
    async with (
        AsyncKnock(knock_server.api_key, base_url=knock_server.url, max_retries=0) as knock,
        TestClient(TestServer(create_app(knock))) as app,
    ):
        response = await app.post("/comments", json=COMMENT)
        assert response.status == 502
    assert [call.status for call in knock_server.calls("workflows.trigger")] == [503]
    assert not knock_server.state.runs
