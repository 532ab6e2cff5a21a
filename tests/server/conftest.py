"""Fixtures for the embedded server's tests (servers come from tests/conftest.py, contract-checked)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from knock_async.testing import KnockTestServer
from tests.server.support import Api


@pytest.fixture
async def api(server: KnockTestServer) -> AsyncIterator[Api]:
    async with Api(server) as client:
        yield client
