"""Idempotency-Key replay: the first response to a key is the response to every retry.

Scoped per API key, kept for 24 hours of server-clock time. A duplicate that arrives while
the first request is still running waits for it and replays its answer, so a key never acts
twice. Only requests that reached their handler are remembered: one rejected before acting
(401, 429, a fault injected before the action) leaves the key free for the retry.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable

import attrs

from ._clock import Clock

RETENTION = dt.timedelta(hours=24)


@attrs.frozen
class Reply:
    """What a handler answered: a status and a JSON body (None for no content)."""

    status: int
    body: object = None
    headers: tuple[tuple[str, str], ...] = ()


@attrs.define
class _Saved:
    reply: Reply
    at: dt.datetime


class IdempotencyStore:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._saved: dict[tuple[str, str], _Saved] = {}
        self._running: dict[tuple[str, str], asyncio.Future[None]] = {}

    async def run(
        self, api_key: str, key: str, act: Callable[[], Awaitable[Reply | None]]
    ) -> tuple[Reply | None, bool]:
        """(reply, replayed): the saved reply for the key, or `act()`'s, saved when not None."""
        slot = (api_key, key)
        while True:
            saved = self._saved.get(slot)
            if saved is not None and self._clock.now() - saved.at < RETENTION:
                return saved.reply, True
            running = self._running.get(slot)
            if running is None:
                break
            # Another request with this key is in flight: wait for it, then look again
            # (it saved a reply to replay, or it failed before acting and we act ourselves).
            await asyncio.shield(running)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._running[slot] = done
        try:
            reply = await act()
            if reply is not None:
                self._saved[slot] = _Saved(reply, self._clock.now())
            return reply, False
        finally:
            del self._running[slot]
            done.set_result(None)

    def clear(self) -> None:
        self._saved.clear()
