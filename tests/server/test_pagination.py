"""Cursor pagination over a few hundred items, forwards and backwards, in the documented order."""

from __future__ import annotations

from typing import Any

from knock_async.testing import KnockTestServer
from tests.server.support import Api


async def walk(api: Api, path: str, key: str, page_size: int, **params: str) -> list[dict[str, Any]]:
    """Every item, following page_info.after to the end."""
    items: list[dict[str, Any]] = []
    query = {"page_size": str(page_size), **params}
    while True:
        page = (await api.get(path, params=query)).body
        assert page["page_info"]["__typename"] == "PageInfo"
        assert page["page_info"]["page_size"] == page_size
        items += page[key]
        if page["page_info"]["after"] is None:
            return items
        query = {**query, "after": page["page_info"]["after"]}


async def test_users_forwards_and_backwards(server: KnockTestServer, api: Api) -> None:
    for i in range(230):
        server.identify_user(f"user-{i:03}")
    users = await walk(api, "/v1/users", "entries", 50)
    assert [u["id"] for u in users] == [f"user-{i:03}" for i in range(230)]

    first = (await api.get("/v1/users")).body  # default page size: 50
    assert len(first["entries"]) == 50 and first["page_info"]["before"] is None
    # From the last page, walk back with `before`.
    last = (await api.get("/v1/users", params={"page_size": "50", "after": first["page_info"]["after"]})).body
    back = (
        await api.get("/v1/users", params={"page_size": "50", "before": last["page_info"]["before"]})
    ).body
    assert back["entries"] == first["entries"]
    assert back["page_info"]["before"] is None


async def test_messages_newest_first(server: KnockTestServer, api: Api) -> None:
    server.add_workflow("welcome")
    recipients = [f"u{i}" for i in range(120)]
    await api.post("/v1/workflows/welcome/trigger", json={"recipients": recipients})
    messages = await walk(api, "/v1/messages", "items", 25)
    assert [m["recipient"] for m in messages] == list(reversed(recipients))
    feed = await walk(api, "/v1/users/u7/feeds/in_app_feed", "entries", 50)
    assert len(feed) == 1


async def test_cursor_survives_deletion(server: KnockTestServer, api: Api) -> None:
    for i in range(6):
        server.identify_user(f"u{i}")
    page = (await api.get("/v1/users", params={"page_size": "3"})).body
    assert [u["id"] for u in page["entries"]] == ["u0", "u1", "u2"]
    await api.delete("/v1/users/u2")  # the user the cursor points at
    rest = (await api.get("/v1/users", params={"page_size": "3", "after": page["page_info"]["after"]})).body
    assert [u["id"] for u in rest["entries"]] == ["u3", "u4", "u5"]
    assert rest["page_info"]["after"] is None
