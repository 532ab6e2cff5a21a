"""Bulk operations move queued -> processing -> completed and apply their rows to the state."""

from __future__ import annotations

from knock_async.testing import BulkPace, KnockTestServer, ManualClock
from tests.conftest import ServerFactory
from tests.server.support import Api

USERS = {"users": [{"id": "a", "name": "A"}, {"name": "no id"}, {"id": "b"}, {"id": "c"}]}


async def test_progress_on_each_poll(server: KnockTestServer, api: Api) -> None:
    created = (await api.post("/v1/users/bulk/identify", json=USERS)).body
    assert (created["status"], created["processed_rows"], created["estimated_total_rows"]) == ("queued", 0, 4)
    assert server.state.users == {}
    path = f"/v1/bulk_operations/{created['id']}"
    processing = (await api.get(path)).body
    assert (processing["status"], processing["processed_rows"]) == ("processing", 2)
    assert set(server.state.users) == {"a"}
    done = (await api.get(path)).body
    assert done["status"] == "completed"
    assert (done["processed_rows"], done["success_count"], done["error_count"]) == (4, 3, 1)
    assert done["error_items"] == [{"id": "users[1]", "collection": None}]
    assert set(server.state.users) == {"a", "b", "c"}
    assert done["completed_at"] and done["started_at"]
    assert (await api.get(path)).body == done  # completed stays completed


async def test_progress_over_time(make_server: ServerFactory, clock: ManualClock) -> None:
    server = await make_server(bulk=BulkPace(mode="time", step=1.0))
    async with Api(server) as api:
        created = (await api.post("/v1/users/bulk/delete", json={"user_ids": ["x"]})).body
        path = f"/v1/bulk_operations/{created['id']}"
        assert (await api.get(path)).body["status"] == "queued"
        clock.advance(1)
        assert (await api.get(path)).body["status"] == "processing"
        clock.advance(1)
        done = (await api.get(path)).body
        assert (done["status"], done["error_count"]) == ("completed", 1)  # "x" did not exist


async def test_instant_mode(make_server: ServerFactory) -> None:
    server = await make_server(bulk=BulkPace(mode="instant"))
    async with Api(server) as api:
        await api.put("/v1/tenants/t1", json={"name": "Acme"})
        created = await api.post("/v1/tenants/bulk/delete", params=[("tenant_ids[]", "t1")])
        assert created.body["status"] == "completed"
        assert server.state.tenants == {}


async def test_bulk_effects(server: KnockTestServer, api: Api) -> None:
    async def run(path: str, body: object) -> dict[str, object]:
        created = (await api.post(path, json=body)).body
        for _ in range(2):
            latest = (await api.get(f"/v1/bulk_operations/{created['id']}")).body
        return latest  # type: ignore[no-any-return]

    await run("/v1/objects/projects/bulk/set", {"objects": [{"id": "p1", "name": "Apollo"}, {"id": "p2"}]})
    assert set(server.state.objects) == {("projects", "p1"), ("projects", "p2")}
    subs = {"subscriptions": [{"id": "p1", "recipients": ["u1", "u2"]}]}
    await run("/v1/objects/projects/bulk/subscriptions/add", subs)
    assert set(server.state.subscribers(("projects", "p1"))) == {(None, "u1"), (None, "u2")}
    await run(
        "/v1/users/bulk/preferences", {"user_ids": ["u1"], "preferences": {"workflows": {"digest": False}}}
    )
    assert server.state.preferences[(None, "u1")]["default"].content == {"workflows": {"digest": False}}
    await run("/v1/objects/projects/bulk/delete", {"object_ids": ["p2"]})
    assert set(server.state.objects) == {("projects", "p1")}
