"""Every operation of the Knock API through `AsyncKnock`, against the embedded server.

The scenarios (tour.py) check the state each call leaves, not just that it answered 2xx. Each
runs on its own server here; `test_the_tour_calls_every_operation` runs them all on one server
and checks, from the server's request log, that together they called every operation of the
document successfully.
"""

from __future__ import annotations

import pytest

from knock_async.testing import KnockTestServer
from tests.helpers import generated_operations, spec_operations
from tests.integration.conftest import ClientFactory
from tests.integration.tour import SCENARIOS, Env, declare


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_scenario(name: str, server: KnockTestServer, make_client: ClientFactory) -> None:
    declare(server)
    await SCENARIOS[name](Env(make_client(server), server))
    failed = [request for request in server.requests if request.status is None or request.status >= 500]
    assert not failed, f"requests the server failed: {failed}"


async def test_the_tour_calls_every_operation(server: KnockTestServer, make_client: ClientFactory) -> None:
    declare(server)
    env = Env(make_client(server), server)
    for scenario in SCENARIOS.values():
        await scenario(env)

    succeeded = {r.operation_id for r in server.requests if r.status is not None and 200 <= r.status < 300}
    every_operation = set(generated_operations())
    assert every_operation == {operation["operationId"] for _, _, operation in spec_operations()}
    assert sorted(every_operation - succeeded) == [], "operations the tour never called successfully"
    assert succeeded == every_operation
