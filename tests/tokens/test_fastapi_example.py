"""examples/fastapi_in_app_feed.py end to end against the embedded server in enhanced security
mode: the app hands a signed-in user a token, and a browser-side client (publishable key plus
that token) reads and marks its own feed, and is refused everyone else's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from examples.fastapi_in_app_feed import app

from knock_async import AsyncKnock, AuthenticationError, ErrorCode, PermissionDeniedError
from knock_async.testing import KnockTestServer

pytest_plugins = ["knock_async.testing.pytest_plugin"]


@pytest.fixture
def knock_server_options() -> dict[str, Any]:
    return {"enhanced_security": True}


@pytest.fixture
async def app_client(
    knock_server: KnockTestServer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    knock_server.add_workflow("new-comment", ["in_app_feed"])
    for name, value in {
        "KNOCK_API_KEY": knock_server.api_key,
        "KNOCK_BASE_URL": knock_server.url,
        "KNOCK_PUBLIC_API_KEY": knock_server.publishable_key,
        "KNOCK_SIGNING_KEY": knock_server.signing_key,
        "KNOCK_FEED_CHANNEL_ID": knock_server.channel_id("in_app_feed"),
    }.items():
        monkeypatch.setenv(name, value)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            yield client


def signed_in(user_id: str) -> dict[str, str]:
    return {"X-Demo-User": user_id}


async def test_a_browser_reads_and_marks_its_own_feed(
    app_client: httpx.AsyncClient, knock_server: KnockTestServer
) -> None:
    comment = {"text": "Looks good", "watchers": ["grace", "alan"]}
    assert (await app_client.post("/comments", json=comment, headers=signed_in("ada"))).status_code == 201

    response = await app_client.get("/knock/session", headers=signed_in("grace"))
    assert response.status_code == 200
    session = response.json()
    assert session["user_id"] == "grace" and session["public_api_key"].startswith("pk_")

    async with AsyncKnock(
        api_key=session["public_api_key"], user_token=session["user_token"], base_url=knock_server.url
    ) as browser:
        channel = session["feed_channel_id"]
        page = await browser.users.feeds.list_items("grace", channel)
        assert (page.data.meta.unseen_count, len(page.items)) == (1, 1)
        await browser.messages.mark_as_seen(page.items[0].id)
        page = await browser.users.feeds.list_items("grace", channel)
        assert page.data.meta.unseen_count == 0

        with pytest.raises(PermissionDeniedError) as refused:
            await browser.users.feeds.list_items("alan", channel)
        assert refused.value.status == 403
    # What the browser's calls looked like to Knock: a publishable key each time.
    feed_reads = knock_server.calls("users.feeds.list_items")
    assert [(r.path_params["user_id"], r.status, r.key_kind) for r in feed_reads] == [
        ("grace", 200, "publishable"),
        ("grace", 200, "publishable"),
        ("alan", 403, "publishable"),
    ]


async def test_without_a_token_the_browser_is_refused(
    app_client: httpx.AsyncClient, knock_server: KnockTestServer
) -> None:
    async with AsyncKnock(api_key=knock_server.publishable_key, base_url=knock_server.url) as browser:
        with pytest.raises(AuthenticationError) as refused:
            await browser.users.feeds.list_items("grace", knock_server.channel_id("in_app_feed"))
    assert refused.value.code == ErrorCode.MISSING_USER_TOKEN


async def test_only_a_signed_in_user_gets_a_token(app_client: httpx.AsyncClient) -> None:
    assert (await app_client.get("/knock/session")).status_code == 401
