"""pytest fixtures for the embedded Knock server.

Enable them in your conftest.py:

    pytest_plugins = ["knock_async.testing.pytest_plugin"]

then take `knock_server` in an async test (pytest-asyncio). To configure the server, override
`knock_server_options` in your conftest.py, e.g. to switch rate limits off:

    @pytest.fixture
    def knock_server_options():
        return {"rate_limits": RateLimits.off()}
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
    """A started `KnockTestServer`, fresh for each test: use `.url` and `.api_key`.

    At teardown it fails the test if an Idempotency-Key was reused for a different request:
    the 422 the server answered may have been caught and lost by the code under test. A test
    that misuses keys on purpose takes its violations with `take_idempotency_violations()`.
    """
    async with KnockTestServer(**knock_server_options) as server:
        yield server
        violations = server.take_idempotency_violations()
    if violations:
        pytest.fail(
            "Idempotency-Key reused for a different request:\n"
            + "\n".join(f"  {v.operation_id}: {v.message}" for v in violations),
            pytrace=False,
        )
