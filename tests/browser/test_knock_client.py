"""Knock's official browser client (`@knocklabs/client` from npm, unchanged) against the embedded
server, in Debian's headless Chromium, on a page served from another origin than the server.

The page signs in with a token from examples/fastapi_in_app_feed.py, fetches the feed, marks
messages seen, read and archived, marks all as read (another user's messages untouched), reads
and writes preferences, receives a new message over the real-time socket, and sees 401 and 403
refusals as Knock errors. The server runs in enhanced security mode and checks every response
against openapi/knock.yaml (`make_server`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from examples.fastapi_in_app_feed import app

from knock_async.testing import BulkPace, KnockTestServer
from tests.browser.harness import (
    Browser,
    bundle_page,
    chromium_page,
    install_packages,
    page_server,
    require_tool,
)
from tests.conftest import ServerFactory

REALTIME_WITHIN = 10_000  # milliseconds for a new message to reach the page over the socket


@pytest.fixture
async def server(make_server: ServerFactory) -> KnockTestServer:
    # The browser never polls a bulk operation, so mark-all acts at once.
    server = await make_server(enhanced_security=True, bulk=BulkPace(mode="instant"))
    server.add_workflow("new-comment", ["in_app_feed"])
    return server


@pytest.fixture
async def backend(
    server: KnockTestServer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    """The app's backend, the FastAPI example, configured for the embedded server."""
    for name, value in {
        "KNOCK_API_KEY": server.api_key,
        "KNOCK_BASE_URL": server.url,
        "KNOCK_PUBLIC_API_KEY": server.publishable_key,
        "KNOCK_SIGNING_KEY": server.signing_key,
        "KNOCK_FEED_CHANNEL_ID": server.channel_id("in_app_feed"),
    }.items():
        monkeypatch.setenv(name, value)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            yield client


@pytest.fixture
async def browser(
    server: KnockTestServer, backend: httpx.AsyncClient, tmp_path: Path
) -> AsyncIterator[Browser]:
    node = require_tool("node", "KNOCK_TEST_NODE")
    npm = require_tool("npm", "KNOCK_TEST_NPM")
    chromium = require_tool("chromium", "KNOCK_TEST_CHROMIUM")
    install_packages(npm)
    bundle = bundle_page(node, tmp_path)
    async with page_server(bundle, backend) as origin:
        assert not server.url.startswith(origin)  # the page and Knock are different origins
        async with chromium_page(
            node, chromium, f"{origin}/?knock={server.url}", tmp_path / "profile"
        ) as page:
            yield page


async def comment(backend: httpx.AsyncClient, *watchers: str) -> None:
    """A comment posted in the app: its backend triggers the workflow with the secret key."""
    response = await backend.post(
        "/comments", json={"text": "Looks good", "watchers": list(watchers)}, headers={"X-Demo-User": "ada"}
    )
    assert response.status_code == 201, response.text


def engaged(server: KnockTestServer, user_id: str) -> dict[str, set[str]]:
    """Each of the user's messages' engagement statuses, as the server stores them."""
    return {m.id: set(m.engaged) for m in server.state.messages.values() if m.recipient == (None, user_id)}


async def test_the_official_client_runs_a_feed_end_to_end(
    browser: Browser, backend: httpx.AsyncClient, server: KnockTestServer
) -> None:
    await comment(backend, "grace", "alan")
    await comment(backend, "grace", "alan")
    signed_in = await browser.step("signIn", "grace")
    assert signed_in == {"userId": "grace", "authenticated": True}
    assert await browser.step("socketJoined", REALTIME_WITHIN)

    first = await browser.step("fetch")
    assert not first["failed"], first
    assert len(first["items"]) == 2
    assert (first["meta"]["unread_count"], first["meta"]["unseen_count"]) == (2, 2)
    newest, older = (entry["id"] for entry in first["items"])

    await expect_ok(browser.step("markAsSeen", newest))
    await expect_ok(browser.step("markAsRead", newest))
    await expect_ok(browser.step("markAsArchived", older))
    assert engaged(server, "grace") == {newest: {"seen", "read"}, older: {"archived"}}
    after = await browser.step("fetch")
    assert [entry["id"] for entry in after["items"]] == [newest]  # archived items leave the feed

    await realtime_message(browser, backend, server)
    await expect_ok(browser.step("markAllAsRead"))
    # Every message of the feed read; the archived one is outside it (the feed excludes archived).
    assert [statuses for statuses in engaged(server, "grace").values() if "read" not in statuses] == [
        {"archived"}
    ]
    assert all(not statuses for statuses in engaged(server, "alan").values())  # another user's: untouched

    await preferences_round_trip(browser, server)
    await refusals(browser, server)


async def expect_ok(step: Any) -> None:
    outcome = await step
    assert outcome["failed"] is False, outcome


async def preferences_round_trip(browser: Browser, server: KnockTestServer) -> None:
    written = await browser.step("setPreferences", {"channel_types": {"email": False}, "workflows": {}})
    assert written["channel_types"] == {"email": False}
    read = await browser.step("getPreferences")
    assert read["channel_types"] == {"email": False}
    assert server.state.preferences[(None, "grace")]["default"].content["channel_types"] == {"email": False}


async def realtime_message(browser: Browser, backend: httpx.AsyncClient, server: KnockTestServer) -> None:
    before = set(engaged(server, "grace"))
    await comment(backend, "alan")  # not grace's: no push for her
    await comment(backend, "grace")
    (new_id,) = set(engaged(server, "grace")) - before
    arrived = await browser.step("waitForRealtime", 1, REALTIME_WITHIN)
    assert [entry["id"] for entry in arrived["items"]] == [new_id]
    assert arrived["meta"]["unread_count"] == 1  # the socket's metadata, then the fetch it triggered


async def refusals(browser: Browser, server: KnockTestServer) -> None:
    forbidden = await browser.step("readFeedOf", "alan")
    assert (forbidden["failed"], forbidden["status"]) == (True, 403)
    assert forbidden["body"]["code"] == "user_token_forbidden"
    unauthenticated = await browser.step("fetchWithToken", "grace", "not-a-token")
    assert (unauthenticated["failed"], unauthenticated["status"]) == (True, 401)
    assert unauthenticated["body"]["code"] == "invalid_user_token"
