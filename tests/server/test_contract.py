"""The document check that guards every other test here is itself awake."""

from __future__ import annotations

import json

import pytest

from knock_async.testing import KnockTestServer
from tests.server.contract import ContractChecker, response_problems
from tests.server.support import Api


async def test_every_response_passes_through_the_checker(api: Api, contract: ContractChecker) -> None:
    await api.put("/v1/users/u1", json={"name": "Ada"})
    await api.get("/v1/users/nobody")
    assert contract.checked == 2 and contract.problems == []


def test_the_checker_catches_wrong_bodies_and_statuses() -> None:
    user = {"__typename": "User", "id": "u1", "updated_at": "yesterday"}
    assert response_problems("users.get", 200, json.dumps(user).encode(), "application/json")
    assert response_problems("users.delete", 200, b"{}", "application/json")  # documented: 204 only
    assert response_problems("users.delete", 204, b"{}", None)  # 204 has no body
    error = {"code": "resource_missing", "message": "gone", "status": 404, "type": "api_error"}
    assert response_problems("users.get", 404, json.dumps(error).encode(), "application/json") == []


async def test_idempotency_keys_are_at_most_255_characters(server: KnockTestServer, api: Api) -> None:
    server.add_workflow("welcome")
    trigger = {"recipients": ["u1"]}
    result = await api.post(
        "/v1/workflows/welcome/trigger", json=trigger, headers={"Idempotency-Key": "k" * 256}
    )
    assert result.status == 422 and server.state.runs == {}
    ok = await api.post("/v1/workflows/welcome/trigger", json=trigger, headers={"Idempotency-Key": "k" * 255})
    assert ok.ok
    # Where Knock ignores the key, it checks nothing either.
    assert (await api.put("/v1/users/u2", json={}, headers={"Idempotency-Key": "k" * 256})).ok


def test_workflows_need_known_channel_types(server: KnockTestServer) -> None:
    with pytest.raises(ValueError, match="not a channel type"):
        server.add_workflow("bad", ["carrier_pigeon"])
