"""Fixtures for the SDK's integration tests: `AsyncKnock` against the embedded Knock server,
over real sockets on 127.0.0.1.

Every server these tests start, the pytest plugin's `knock_server` included, checks each of
its responses against openapi/knock.yaml (tests/server/contract.py): a test during which the
server answered anything the document does not allow fails at teardown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from knock_async import AsyncKnock, RateLimiter
from knock_async.testing import BulkProgress, KnockTestServer, ManualClock, RateLimits
from tests.helpers import spec
from tests.server.contract import ContractChecker

# The scenarios live in a plain module; let pytest explain their failed asserts too.
pytest.register_assert_rewrite("tests.integration.tour")

ServerFactory = Callable[..., Awaitable[KnockTestServer]]
ClientFactory = Callable[..., AsyncKnock]


def unpaced_limiter() -> RateLimiter:
    """The SDK's own limiter, switched on, at rates no test reaches: its code path, not its waits.

    The tests that are about pacing use the default limiter against the server's real tiers.
    """
    return RateLimiter(rates={tier: 1_000_000.0 for tier in range(1, 6)})


@pytest.fixture
def contract() -> Iterator[ContractChecker]:
    # Parse openapi/knock.yaml now (0.6 s, once a session), not inside the first response: that
    # would stall the event loop the server and the client share, mid-test.
    spec()
    checker = ContractChecker()
    yield checker
    assert not checker.problems, "responses that do not match openapi/knock.yaml:\n" + "\n".join(
        checker.problems
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def make_server(contract: ContractChecker, clock: ManualClock) -> AsyncIterator[ServerFactory]:
    """Start contract-checked servers; by default on the manual clock, with bulk jobs advanced by
    polling (deterministic) and no rate limits. Pass KnockTestServer options to change that
    (`middlewares` are added inside the contract check)."""
    servers: list[KnockTestServer] = []

    async def make(**options: Any) -> KnockTestServer:
        options.setdefault("clock", clock)
        options.setdefault("rate_limits", RateLimits.off())
        options.setdefault("bulk", BulkProgress(mode="poll"))
        middlewares = [contract.middleware, *options.pop("middlewares", ())]
        server = KnockTestServer(middlewares=middlewares, **options)
        await server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        await server.close()


@pytest.fixture
async def server(make_server: ServerFactory) -> KnockTestServer:
    return await make_server()


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
