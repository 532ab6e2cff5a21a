"""Fixtures for the SDK's integration tests: `AsyncKnock` against the embedded Knock server,
over real sockets on 127.0.0.1.

Every server these tests start, the pytest plugin's `knock_server` included, checks each of
its responses against openapi/knock.yaml (tests/server/contract.py): a test during which the
server answered anything the document does not allow fails at teardown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from knock_async import AsyncKnock, RateLimiter
from knock_async.testing import KnockTestServer
from tests.server.contract import ContractChecker

# The scenarios live in a plain module; let pytest explain their failed asserts too.
pytest.register_assert_rewrite("tests.integration.tour")

ClientFactory = Callable[..., AsyncKnock]


def unpaced_limiter() -> RateLimiter:
    """The SDK's own limiter, switched on, at rates no test reaches: its code path, not its waits.

    The tests that are about pacing use the default limiter against the server's real tiers.
    """
    return RateLimiter(rates={tier: 1_000_000.0 for tier in range(1, 6)})


@pytest.fixture
async def make_client() -> AsyncIterator[ClientFactory]:
    """Make `AsyncKnock` clients for a server (secret key and no pacing unless told otherwise);
    all of them are closed after the test."""
    clients: list[AsyncKnock] = []

    def make(server: KnockTestServer, **options: Any) -> AsyncKnock:
        options.setdefault("rate_limiter", unpaced_limiter())
        client = AsyncKnock(options.pop("api_key", server.api_key), base_url=server.url, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
def knock(server: KnockTestServer, make_client: ClientFactory) -> AsyncKnock:
    return make_client(server)


@pytest.fixture
def knock_server_options(contract: ContractChecker) -> dict[str, Any]:
    """The pytest plugin's `knock_server` as users get it, plus our response validation."""
    return {"middlewares": [contract.middleware]}
