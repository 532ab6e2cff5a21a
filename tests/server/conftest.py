"""Fixtures for the embedded server's tests: every server they start is contract-checked."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from knock_async.testing import BulkProgress, KnockTestServer, ManualClock, RateLimits
from tests.server.contract import ContractChecker
from tests.server.support import Api

ServerFactory = Callable[..., Awaitable[KnockTestServer]]


@pytest.fixture
def contract() -> Iterator[ContractChecker]:
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
    """Start servers with the test defaults (manual clock, bulk jobs advanced by polling, no
    rate limits) unless told otherwise; each one validated against the document."""
    servers: list[KnockTestServer] = []

    async def make(**options: Any) -> KnockTestServer:
        options.setdefault("clock", clock)
        options.setdefault("rate_limits", RateLimits.off())
        options.setdefault("bulk", BulkProgress(mode="poll"))
        server = KnockTestServer(middlewares=[contract.middleware], **options)
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
async def api(server: KnockTestServer) -> AsyncIterator[Api]:
    async with Api(server) as client:
        yield client
