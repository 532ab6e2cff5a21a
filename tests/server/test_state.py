"""The state behaves like Knock's: merges, replacements, listings, deletes and user merges."""

from __future__ import annotations

from knock_async.testing import KnockTestServer
from tests.server.support import Api


async def test_identify_merges_properties(api: Api) -> None:
    await api.put("/v1/users/u1", json={"name": "Ada", "plan": "pro", "tags": ["a"]})
    user = (await api.put("/v1/users/u1", json={"email": "ada@example.com", "plan": "team"})).body
    assert (user["name"], user["email"], user["plan"], user["tags"]) == (
        "Ada",
        "ada@example.com",
        "team",
        ["a"],
    )
    assert (await api.get("/v1/users/u1")).body == user


async def test_identify_with_inline_channel_data_and_preferences(server: KnockTestServer, api: Api) -> None:
    push = server.add_channel("push", "push")
    body = {
        "channel_data": {push: {"tokens": ["t1"]}},
        "preferences": {"default": {"workflows": {"w": False}}},
    }
    await api.put("/v1/users/u1", json=body)
    data = (await api.get(f"/v1/users/u1/channel_data/{push}")).body
    assert data["data"] == {"tokens": ["t1"], "devices": [{"token": "t1"}]}
    assert (await api.get("/v1/users/u1/preferences/default")).body["workflows"] == {"w": False}
    assert "channel_data" not in (await api.get("/v1/users/u1")).body


async def test_set_preferences_replaces_the_set(api: Api) -> None:
    await api.put(
        "/v1/users/u1/preferences/default", json={"workflows": {"a": False}, "categories": {"c": True}}
    )
    replaced = (await api.put("/v1/users/u1/preferences/default", json={"workflows": {"b": True}})).body
    assert (replaced["workflows"], replaced["categories"]) == ({"b": True}, None)
    merged = await api.put(
        "/v1/users/u1/preferences/default",
        json={"__persistence_strategy__": "merge", "workflows": {"c": False}},
    )
    assert merged.body["workflows"] == {"b": True, "c": False}
    empty = (await api.get("/v1/users/u1/preferences/tenant-1")).body
    assert (empty["id"], empty["workflows"]) == ("tenant-1", None)
    assert [s["id"] for s in (await api.get("/v1/users/u1/preferences")).body] == ["default"]


async def test_objects_tenants_and_channel_data(server: KnockTestServer, api: Api) -> None:
    await api.put("/v1/objects/projects/p1", json={"name": "Apollo", "budget": 1})
    project = (await api.put("/v1/objects/projects/p1", json={"budget": 2})).body
    assert project["properties"] == {"name": "Apollo", "budget": 2}
    await api.put("/v1/objects/teams/p1", json={})
    assert [o["id"] for o in (await api.get("/v1/objects/projects")).body["entries"]] == ["p1"]

    await api.put(
        "/v1/tenants/t1", json={"name": "Acme", "settings": {"branding": {"primary_color": "#000"}}}
    )
    tenant = (await api.put("/v1/tenants/t1", json={"tier": "gold"})).body
    assert (tenant["name"], tenant["tier"], tenant["settings"]["branding"]["primary_color"]) == (
        "Acme",
        "gold",
        "#000",
    )
    assert [t["id"] for t in (await api.get("/v1/tenants", params={"name": "Acme"})).body["entries"]] == [
        "t1"
    ]

    slack = server.add_channel("slack", "chat")
    path = f"/v1/objects/projects/p1/channel_data/{slack}"
    assert (await api.get(path)).status == 404
    await api.put(
        path, json={"data": {"connections": [{"incoming_webhook": {"url": "https://hooks.invalid/1"}}]}}
    )
    assert (await api.get(path)).body["data"]["connections"][0]["incoming_webhook"][
        "url"
    ] == "https://hooks.invalid/1"
    assert (await api.delete(path)).status == 204
    assert (await api.get(path)).status == 404
    assert (await api.put(f"/v1/users/u1/channel_data/{'no-such-channel'}", json={"data": {}})).status == 404

    assert (await api.delete("/v1/objects/projects/p1")).status == 204
    assert (await api.get("/v1/objects/projects/p1")).status == 404
    assert (await api.delete("/v1/tenants/t1")).status == 204
    assert (await api.get("/v1/tenants/t1")).status == 404


async def test_subscriptions(api: Api) -> None:
    await api.put("/v1/objects/projects/p1", json={})
    added = await api.post(
        "/v1/objects/projects/p1/subscriptions", json={"recipients": ["u1", {"id": "u2", "name": "Bob"}]}
    )
    assert [s["recipient"]["id"] for s in added.body] == ["u1", "u2"]
    subscribers = (await api.get("/v1/objects/projects/p1/subscriptions")).body["entries"]
    assert sorted(s["recipient"]["id"] for s in subscribers) == ["u1", "u2"]
    mine = (await api.get("/v1/users/u2/subscriptions")).body["entries"]
    assert [s["object"]["id"] for s in mine] == ["p1"]
    removed = await api.delete("/v1/objects/projects/p1/subscriptions", json={"recipients": ["u1"]})
    assert [s["recipient"]["id"] for s in removed.body] == ["u1"]
    subscribers = (await api.get("/v1/objects/projects/p1/subscriptions")).body["entries"]
    assert [s["recipient"]["id"] for s in subscribers] == ["u2"]
    assert (
        await api.post("/v1/objects/projects/none/subscriptions", json={"recipients": ["u1"]})
    ).status == 404


async def test_schedules(api: Api) -> None:
    daily = [{"frequency": "daily", "hours": 9}]
    created = (
        await api.post(
            "/v1/schedules", json={"workflow": "digest", "recipients": ["u1", "u2"], "repeats": daily}
        )
    ).body
    assert [s["recipient"]["id"] for s in created] == ["u1", "u2"]
    listed = (await api.get("/v1/schedules", params={"workflow": "digest"})).body["entries"]
    assert len(listed) == 2
    mine = (await api.get("/v1/users/u1/schedules")).body["entries"]
    assert [s["id"] for s in mine] == [created[0]["id"]]
    updated = (
        await api.put("/v1/schedules", json={"schedule_ids": [created[0]["id"]], "data": {"x": 1}})
    ).body
    assert updated[0]["data"] == {"x": 1}
    deleted = (await api.delete("/v1/schedules", json={"schedule_ids": [created[1]["id"]]})).body
    assert [s["id"] for s in deleted] == [created[1]["id"]]
    assert len((await api.get("/v1/schedules", params={"workflow": "digest"})).body["entries"]) == 1


async def test_audiences(server: KnockTestServer, api: Api) -> None:
    body = {"members": [{"user": {"id": "u1", "name": "Ada"}}, {"user": {"id": "u1"}, "tenant": "t1"}]}
    assert (await api.post("/v1/audiences/vip/members", json=body)).status == 404
    assert (
        await api.post("/v1/audiences/vip/members", json=body, params={"create_audience": "true"})
    ).status == 204
    members = (await api.get("/v1/audiences/vip/members")).body["entries"]
    assert [(m["user_id"], m["tenant"], m["user"]["name"]) for m in members] == [
        ("u1", None, "Ada"),
        ("u1", "t1", "Ada"),
    ]
    await api.delete("/v1/audiences/vip/members", json={"members": [{"user": {"id": "u1"}, "tenant": "t1"}]})
    assert len((await api.get("/v1/audiences/vip/members")).body["entries"]) == 1


async def test_delete_user(server: KnockTestServer, api: Api) -> None:
    await api.put("/v1/users/u1", json={"name": "Ada"})
    await api.put("/v1/users/u1/preferences/default", json={"workflows": {"w": True}})
    assert (await api.delete("/v1/users/u1")).status == 204
    assert (await api.get("/v1/users/u1")).status == 404
    assert (None, "u1") not in server.state.preferences
    assert (await api.get("/v1/users")).body["entries"] == []


async def test_merge_users_moves_the_source_into_the_target(server: KnockTestServer, api: Api) -> None:
    server.add_workflow("comment")
    await api.put("/v1/users/anon", json={"name": "Anonymous", "referrer": "ad"})
    await api.put("/v1/users/anon/preferences/default", json={"workflows": {"comment": False}})
    await api.put("/v1/users/ada", json={"name": "Ada"})
    await api.post("/v1/workflows/comment/trigger", json={"recipients": ["anon"]})
    merged = (await api.post("/v1/users/ada/merge", json={"from_user_id": "anon"})).body
    assert (merged["id"], merged["name"], merged["referrer"]) == ("ada", "Ada", "ad")
    assert (await api.get("/v1/users/anon")).status == 404
    assert (await api.get("/v1/users/ada/preferences/default")).body["workflows"] == {"comment": False}
    assert (await api.post("/v1/users/ada/merge", json={"from_user_id": "anon"})).status == 422


async def test_reset_forgets_data_but_keeps_declarations(server: KnockTestServer, api: Api) -> None:
    server.add_workflow("comment")
    await api.post("/v1/workflows/comment/trigger", json={"recipients": ["u1"]})
    server.reset()
    assert server.state.messages == {} and server.requests == []
    assert (await api.post("/v1/workflows/comment/trigger", json={"recipients": ["u1"]})).ok
