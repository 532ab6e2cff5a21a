"""What the webhook tests share: Knock's signature computed with the standard library alone
(never the SDK's code, so a bug there cannot hide in both), and a webhook receiver on a real
socket that records what arrives."""

from __future__ import annotations

import asyncio
import base64
import collections
import hashlib
import hmac
from types import TracebackType

import attrs
from aiohttp import web


def knock_signature(body: bytes, secret: str, timestamp_ms: int) -> str:
    """An x-knock-signature value as Knock's docs define it."""
    signed = str(timestamp_ms).encode() + b"." + body
    digest = base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha256).digest()).decode()
    return f"t={timestamp_ms},s={digest}"


def signature_holds(body: bytes, header: str, secret: str) -> bool:
    """Whether an x-knock-signature value signs `body` with `secret`, checked by hand."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    expected = knock_signature(body, secret, int(fields["t"]))
    return hmac.compare_digest(expected.encode(), header.encode())


def header_timestamp(header: str) -> int:
    return int(dict(part.split("=", 1) for part in header.split(","))["t"])


def by_event(received: list[Received]) -> dict[str, Received]:
    """Requests by their x-knock-event type: deliveries run side by side, in no set order (as
    on Knock), so tests never rely on the order of arrival."""
    found = {request.headers["x-knock-event"]: request for request in received}
    assert len(found) == len(received), "one request per event type"
    return found


@attrs.frozen
class Received:
    body: bytes
    headers: dict[str, str]  # lower-case names


class Receiver:
    """A webhook endpoint on 127.0.0.1: records each request and answers with the next of
    `statuses` (200 once they run out). While `hold` is set, answers wait for it to clear."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.received: list[Received] = []
        self.statuses = collections.deque(statuses or [])
        self.release = asyncio.Event()
        self.release.set()
        self._arrived = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def _handle(self, request: web.Request) -> web.Response:
        received = Received(await request.read(), {k.lower(): v for k, v in request.headers.items()})
        async with self._arrived:
            self.received.append(received)
            self._arrived.notify_all()
        await self.release.wait()
        return web.Response(status=self.statuses.popleft() if self.statuses else 200)

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The first `count` requests, once they have arrived."""
        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: len(self.received) >= count), timeout)
        return self.received[:count]

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/knock", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/knock"
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release.set()
        assert self._runner is not None
        await self._runner.cleanup()
