"""Fixtures shared by the test suites.

aioresponses 0.7.9 builds its fake responses without the `stream_writer` argument that
aiohttp 3.14's ClientResponse requires; `KnockMock` supplies a response class that fills it in.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from aioresponses import aioresponses
from yarl import URL


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
