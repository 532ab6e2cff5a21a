"""pytest fixtures for the embedded Knock server.

Enable them in your conftest.py:

    pytest_plugins = ["knock_async.testing.pytest_plugin"]

then take `knock_server` in an async test (pytest-asyncio). To configure the server, override
`knock_server_options` in your conftest.py, e.g. to switch rate limits off:

    @pytest.fixture
    def knock_server_options():
        return {"rate_limits": RateLimits.off()}

or `{"enhanced_security": True}` to require user tokens signed with `knock_server.signing_key`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from ._server import KnockTestServer


@pytest.fixture
def knock_server_options() -> dict[str, Any]:
    """Keyword arguments for `KnockTestServer`; override this fixture to change them."""
    return {}


@pytest_asyncio.fixture
async def knock_server(knock_server_options: dict[str, Any]) -> AsyncIterator[KnockTestServer]:
    """A started `KnockTestServer`, fresh for each test: use `.url` and `.api_key`."""
    async with KnockTestServer(**knock_server_options) as server:
        yield server
