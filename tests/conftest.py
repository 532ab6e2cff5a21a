"""Fixtures shared by the test suites: a mocked Knock (unit and contract tests) and
contract-checked embedded Knock servers (server and integration tests).

aioresponses 0.7.9 builds its fake responses without the `stream_writer` argument that
aiohttp 3.14's ClientResponse requires; `KnockMock` supplies a response class that fills it in.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import aiohttp
import pytest
from aioresponses import aioresponses
from yarl import URL

from knock_async.testing import BulkPace, KnockTestServer, ManualClock, RateLimits
from tests.helpers import spec
from tests.server.contract import ContractChecker

ServerFactory = Callable[..., Awaitable[KnockTestServer]]

# Every client the tests make decodes strictly (AsyncKnock reads it): a 2xx body that does not
# fit openapi/knock.yaml fails the test, so drift between the document and the embedded
# server is caught here, not by users. Tests of tolerant decoding pass strict_responses=False.
os.environ["KNOCK_STRICT_RESPONSES"] = "1"


class _SentWriter:
    """Stands in for the request's stream writer: the fake request is already sent."""

    output_size = 0


class _CompatResponse(aiohttp.ClientResponse):
    def __init__(self, method: str, url: URL, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", _SentWriter())
        super().__init__(method, url, **kwargs)


class KnockMock(aioresponses):
    """aioresponses that works with the installed aiohttp."""

    def add(self, url: Any, method: str = "GET", *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("response_class", _CompatResponse)
        super().add(url, method, *args, **kwargs)


@pytest.fixture
def api() -> Iterator[KnockMock]:
    with KnockMock() as mock:
        yield mock


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
        options.setdefault("bulk", BulkPace(mode="poll"))
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
