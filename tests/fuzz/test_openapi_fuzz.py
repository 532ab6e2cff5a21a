"""Schemathesis fuzzes every operation of openapi/knock.yaml against the embedded server.

The server runs on a real socket in a thread of its own (schemathesis calls it with blocking
requests). Each operation gets a few positive and negative (schema-violating) examples from
a fixed seed, derandomized, so a run is repeatable and fits CI. Every response must be
free of 5xx and conform to the document: status code documented, content type, body schema.
`KNOCK_FUZZ_EXAMPLES=50 .venv/bin/python -m pytest tests/fuzz -q -s` runs a longer fuzz (-s prints
how many requests it made).
"""

from __future__ import annotations

import asyncio
import collections
import os
import threading
from collections.abc import Iterator

import pytest
import requests
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from knock_async.testing import KnockTestServer, RateLimits
from tests.helpers import SPEC_PATH

# Path parameters name data the fixture seeds, so requests reach past the 404 into the handlers.
FEED = KnockTestServer.channel_id("in_app_feed")
MESSAGE_ID = "fuzz-message"
PATH_IDS = {
    "user_id": "u1",
    "collection": "projects",
    "object_id": "p1",
    "tenant_id": "t1",
    "key": "welcome",  # a workflow and an audience
    "channel_id": FEED,
    "message_id": MESSAGE_ID,
    "id": "default",  # a preference set
}
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20261201,
        "generation": {
            "max-examples": int(os.environ.get("KNOCK_FUZZ_EXAMPLES", "4")),
            "deterministic": True,
            "mode": "all",  # valid requests and requests that break the schema
            "database": "none",  # nothing written to .hypothesis/: runs do not depend on history
        },
        "phases": {"examples": {"enabled": False}, "coverage": {"enabled": False}},
        "parameters": {f"path.{name}": value for name, value in PATH_IDS.items()},
    }
)
schema = schemathesis.openapi.from_path(SPEC_PATH, config=CONFIG)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


class ServerThread:
    """A KnockTestServer running on an event loop in a background thread."""

    def __init__(self, server: KnockTestServer) -> None:
        self.server = server
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> KnockTestServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(timeout=30)
        return self.server

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.close(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()


@pytest.fixture(scope="module")
def knock() -> Iterator[KnockTestServer]:
    # No rate limits: a 429 is documented, but would stop the fuzz from reaching the handlers.
    with ServerThread(KnockTestServer(rate_limits=RateLimits.off())) as server:
        seed(server)
        yield server
        recorded = server.requests
        statuses = dict(sorted(collections.Counter(request.status for request in recorded).items()))
        total = len(recorded) + server.dropped_calls
        print(f"\nfuzz: {total} requests; statuses of the last {len(recorded)}: {statuses}")


def seed(server: KnockTestServer) -> None:
    """The entities PATH_IDS name, with a message, preferences, channel data and a subscription."""
    server.add_workflow("welcome", ["in_app_feed", "email"])
    server.add_audience("welcome")
    server.identify_user("u1", name="Ada", preferences={"default": {"workflows": {"welcome": True}}})
    server.set_object("projects", "p1", name="Apollo")
    server.set_tenant("t1", name="Acme")
    state = server.state
    state.set_channel_data((None, "u1"), FEED, {"tokens": ["t"], "devices": [{"token": "t"}]})
    state.subscribe(("projects", "p1"), (None, "u1"), None, "2026-01-01T00:00:00Z")
    triggered = requests.post(
        f"{server.url}/v1/workflows/welcome/trigger",
        json={"recipients": ["u1"], "tenant": "t1"},
        headers={"Authorization": f"Bearer {server.secret_key}"},
        timeout=10,
    )
    assert triggered.ok, triggered.text
    message = next(iter(state.messages.values()))  # the feed message, renamed as PATH_IDS names it
    state.messages[MESSAGE_ID] = state.messages.pop(message.id)
    message.id = MESSAGE_ID


@pytest.fixture(scope="module")
def session(knock: KnockTestServer) -> Iterator[requests.Session]:
    with requests.Session() as session:  # one keep-alive connection for the whole fuzz
        session.headers["Authorization"] = f"Bearer {knock.secret_key}"
        yield session


@schema.parametrize()
def test_operation(case: schemathesis.Case, knock: KnockTestServer, session: requests.Session) -> None:
    case.call_and_validate(base_url=knock.url, session=session, checks=CHECKS)
