"""pytest fixtures for the embedded Knock server (install `knock-async[testing]`).

Enable them in your conftest.py:

    pytest_plugins = ["knock_async.testing.pytest_plugin"]

then take `knock_server` in an `async def` test. The plugin runs such tests with pytest-asyncio
whatever its mode: in the default (strict) mode a test that takes `knock_server` needs no
`@pytest.mark.asyncio`. To configure the server, override `knock_server_options` in your
conftest.py, e.g. to switch rate limits off:

    @pytest.fixture
    def knock_server_options():
        return {"rate_limits": RateLimits.off()}

or `{"enhanced_security": True}` to require user tokens signed with `knock_server.signing_key`.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from typing import Any

import pytest

try:
    import pytest_asyncio
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "the knock_server fixture runs on pytest-asyncio: pip install 'knock-async[testing]'"
    ) from exc

from ._server import KnockTestServer

FIXTURE = "knock_server"


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> None:
    """Mark `async def` tests that take `knock_server` for pytest-asyncio, before it looks.

    In strict mode pytest-asyncio runs only marked coroutines; a user following the README
    should not have to know that. Returning None lets pytest collect the test as usual.
    """
    if (
        inspect.iscoroutinefunction(obj)
        and collector.funcnamefilter(name)  # type: ignore[attr-defined]
        and FIXTURE in inspect.signature(obj).parameters
        and not any(mark.name == "asyncio" for mark in getattr(obj, "pytestmark", []))
    ):
        pytest.mark.asyncio(obj)


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
