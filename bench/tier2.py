"""A stand-in for Knock that enforces rate-limit Tier 2: 5 requests per rolling second per key.

Shared by the benchmark (`bench.pacing`) and the integration test
(`tests/integration/test_rate_limit_pacing.py`). It runs in the caller's event loop on
127.0.0.1 and a free port, and serves two Tier 2 operations:

- `DELETE /v1/users/{user_id}` (users.delete): 204;
- `POST /v1/users/{user_id}/merge` (users.merge): 200 with the merged user.

Beyond the limit it answers as Knock does: 429, a `Retry-After` in whole seconds, and
Knock's error body `{code, message, status, type}`. A rejected request does not count
against the window (only requests that were served do), so a client that retries after
`Retry-After` gets through.
"""

from __future__ import annotations

import math
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(
    status: int, code: str, message: str, kind: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(
        {"code": code, "message": message, "status": status, "type": kind}, status=status, headers=headers
    )


class Tier2StandIn:
    """Knock's Tier 2 limit and two Tier 2 operations; use as `async with Tier2StandIn() as server`.

    After the run: `admitted` (monotonic times at which requests were let through),
    `rejected` (429s answered), `peak_in_flight`, and `busiest_window()`.
    """

    def __init__(self, *, rate: int = 5, window: float = 1.0) -> None:
        self.rate = rate
        self.window = window
        self.admitted: list[float] = []
        self.rejected = 0
        self.in_flight = 0
        self.peak_in_flight = 0
        self._recent: dict[str, deque[float]] = {}  # per API key: times of the last `rate` served
        self._runner: web.AppRunner | None = None
        self._url = ""

    @property
    def url(self) -> str:
        if not self._url:
            raise RuntimeError("the stand-in is not started")
        return self._url

    async def __aenter__(self) -> Tier2StandIn:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> str:
        app = web.Application(middlewares=[self._limit])
        app.router.add_delete("/v1/users/{user_id}", self._delete_user)
        app.router.add_post("/v1/users/{user_id}/merge", self._merge_user)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        # Bound here on port 0 and handed to aiohttp: the port is known without a race.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(self._runner, sock).start()
        self._url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self._url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def busiest_window(self) -> int:
        """The most requests served within any `window` seconds (the limit is `rate`)."""
        times = sorted(self.admitted)
        busiest, first = 0, 0
        for last, moment in enumerate(times):
            while times[first] <= moment - self.window:
                first += 1
            busiest = max(busiest, last - first + 1)
        return busiest

    @web.middleware
    async def _limit(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        authorization = request.headers.get("Authorization", "")
        if not authorization.startswith("Bearer ") or len(authorization) <= len("Bearer "):
            return _error(401, "api_key_missing", "An API key is required", "authentication_error")
        now = time.monotonic()
        recent = self._recent.setdefault(authorization, deque())
        while recent and recent[0] <= now - self.window:  # rolling: drop what left the window
            recent.popleft()
        if len(recent) >= self.rate:
            self.rejected += 1
            # Whole seconds (RFC 9110), rounded up so that obeying it is enough to get through.
            retry_after = max(1, math.ceil(recent[0] + self.window - now))
            return _error(
                429,
                "rate_limit_exceeded",
                "Too many requests for this endpoint's rate-limit tier; retry after the Retry-After delay",
                "rate_limit_error",
                headers={"Retry-After": str(retry_after)},
            )
        recent.append(now)
        self.admitted.append(now)
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            return await handler(request)
        finally:
            self.in_flight -= 1

    async def _delete_user(self, request: web.Request) -> web.Response:
        return web.Response(status=204)

    async def _merge_user(self, request: web.Request) -> web.Response:
        body: Any = await request.json()
        if not isinstance(body, dict) or not isinstance(body.get("from_user_id"), str):
            return _error(422, "invalid_params", "from_user_id is required", "invalid_request_error")
        return web.json_response(
            {
                "__typename": "User",
                "id": request.match_info["user_id"],
                "updated_at": "2024-05-04T11:22:33Z",
            }
        )
