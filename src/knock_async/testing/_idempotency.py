"""Idempotency-Key as Knock documents it ("Idempotent requests" in its API reference).

Only the operations whose handler says `idempotent=True` honour the key (on Knock: workflow
triggers; "sending it on any other endpoint has no effect"). There the first 2xx answer to
a key is the answer to every retry for 24 hours of server-clock time, scoped per API key,
and a retry must be the identical request: the same method, path, query, JSON body and user
token. A key reused for a different request is refused (`KeyReused`). A duplicate that
arrives while the first request is still running waits for it, so a key never acts twice.
Only 2xx answers are kept: a request that failed (4xx, 5xx, a fault injected before it
acted) leaves the key free for the retry. A replay carries the first request's
`x-request-id`, which the server sends back as `original-x-request-id`.

The store is bounded: it keeps at most `max_keys` keys, dropping the oldest first (a key
dropped early acts again when reused, as an expired one does).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import attrs

from ._clock import ServerClock

RETENTION = dt.timedelta(hours=24)
DEFAULT_MAX_KEYS = 10_000


@attrs.frozen
class Reply:
    """What a handler answered: a status and a JSON body (None for no content)."""

    status: int
    body: object = None
    headers: tuple[tuple[str, str], ...] = ()


@attrs.frozen
class Fingerprint:
    """What makes two requests "the same request" for a key: where they go and a digest of the rest."""

    target: str  # e.g. "POST /v1/users/alice": safe to show, unlike the body
    digest: str

    @classmethod
    def of(
        cls, method: str, path: str, query: Iterable[tuple[str, str]], body: Any, user_token: str | None
    ) -> Fingerprint:
        # Canonical JSON, so a retry that serializes the same body with other key order matches.
        # The digest keeps bodies (and their credentials) out of the store.
        canonical = json.dumps([sorted(query), body, user_token], sort_keys=True, separators=(",", ":"))
        return cls(f"{method} {path}", hashlib.sha256(canonical.encode()).hexdigest())


class KeyReused(Exception):
    """The key was first used for a different request."""

    def __init__(self, key: str, first: Fingerprint, second: Fingerprint) -> None:
        self.key, self.first, self.second = key, first, second
        difference = (
            f"for {first.target}"
            if first.target != second.target
            else "for the same operation with a different body, query or user token"
        )
        super().__init__(
            f"Idempotency-Key {key!r} was first used {difference}; it cannot be reused for "
            f"{second.target} (a retry must repeat the original request exactly; use a new key "
            f"for a new request)"
        )


@attrs.define
class _Saved:
    reply: Reply
    fingerprint: Fingerprint
    at: dt.datetime
    request_id: str  # the x-request-id of the request that acted


@attrs.frozen
class Outcome:
    """What `IdempotencyStore.run` answered: the reply, and for a replay the original request's id."""

    reply: Reply
    replayed_from: str | None = None


class IdempotencyStore:
    def __init__(self, clock: ServerClock, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        if max_keys < 1:
            raise ValueError("max_idempotency_keys must be at least 1")
        self._clock = clock
        self._max_keys = max_keys
        self._saved: dict[tuple[str, str], _Saved] = {}  # oldest first
        self._running: dict[tuple[str, str], asyncio.Future[None]] = {}

    def __len__(self) -> int:
        return len(self._saved)

    async def run(
        self,
        api_key: str,
        key: str,
        fingerprint: Fingerprint,
        request_id: str,
        act: Callable[[], Awaitable[Reply]],
    ) -> Outcome:
        """The saved reply for the key, or `act()`'s, saved when it is a 2xx.

        Raises `KeyReused` when the key's saved reply answered a different request.
        """
        slot = (api_key, key)
        while True:
            saved = self._live(slot)
            if saved is not None:
                if saved.fingerprint != fingerprint:
                    raise KeyReused(key, saved.fingerprint, fingerprint)
                return Outcome(saved.reply, saved.request_id)
            running = self._running.get(slot)
            if running is None:
                break
            # Another request with this key is in flight: wait for it, then look again
            # (it saved a reply to replay or refuse, or it failed before acting and we act).
            await asyncio.shield(running)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._running[slot] = done
        try:
            reply = await act()
            if 200 <= reply.status < 300:
                self._save(slot, _Saved(reply, fingerprint, self._clock.now(), request_id))
            return Outcome(reply)
        finally:
            del self._running[slot]
            done.set_result(None)

    def clear(self) -> None:
        self._saved.clear()

    def _live(self, slot: tuple[str, str]) -> _Saved | None:
        saved = self._saved.get(slot)
        return saved if saved is not None and self._clock.now() - saved.at < RETENTION else None

    def _save(self, slot: tuple[str, str], saved: _Saved) -> None:
        self._saved.pop(slot, None)  # a re-used expired key moves to the newest end
        self._saved[slot] = saved
        # Entries are in time order, so the expired and the surplus ones are at the front.
        while self._saved:
            oldest_slot, oldest = next(iter(self._saved.items()))
            if saved.at - oldest.at < RETENTION and len(self._saved) <= self._max_keys:
                break
            del self._saved[oldest_slot]
