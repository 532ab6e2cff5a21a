"""A small raw-HTTP client for the server tests: one call, one `Result`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

import aiohttp
import attrs
from multidict import CIMultiDict

from knock_async.testing import KnockTestServer

Params = Mapping[str, str] | Sequence[tuple[str, str]]


@attrs.frozen
class Result:
    status: int
    body: Any
    headers: Mapping[str, str]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class Api:
    """Raw requests to a test server, authenticated with its secret key unless told otherwise."""

    def __init__(self, server: KnockTestServer, key: str | None = None) -> None:
        self.server = server
        self.key = key if key is not None else server.secret_key
        self._session = aiohttp.ClientSession(server.url)

    async def __aenter__(self) -> Api:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._session.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: bytes | str | None = None,
        params: Params | None = None,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Result:
        sent = {"Authorization": f"Bearer {key if key is not None else self.key}", **(headers or {})}
        async with self._session.request(
            method, path, json=json, data=data, params=params, headers=sent
        ) as response:
            raw = await response.read()
            body = (
                await response.json() if raw and response.content_type == "application/json" else raw.decode()
            )
            return Result(response.status, body, CIMultiDict(response.headers))  # names: any case

    async def get(self, path: str, **kwargs: Any) -> Result:
        return await self.request("GET", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> Result:
        return await self.request("PUT", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Result:
        return await self.request("POST", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Result:
        return await self.request("DELETE", path, **kwargs)
