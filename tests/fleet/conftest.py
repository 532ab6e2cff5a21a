"""A real `redis-server` for the fleet tests: started on a free port in a temporary directory,
without persistence, and stopped after the test.

`make test` installs Debian's redis-server when it is missing. Elsewhere a missing binary skips
these tests, except under CI (CI=true), where it fails them: CI must never pass without them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from bench.fleet import RedisServer


def redis_binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        message = (
            "redis-server is not installed: `make test` installs it when run as root "
            "(apt-get install -y redis-server); otherwise install it yourself"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return binary


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(redis_binary(), tmp_path)
    server.start()
    yield server
    server.stop()
