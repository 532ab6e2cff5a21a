"""Outbound webhooks: the server POSTs each message event to the URLs subscribed to it.

Requests are signed as Knock signs them (`x-knock-signature: t=<ms>,s=<base64 HMAC-SHA256 of
"<t>.<body>">`) and carry Knock's `x-knock-event` and `x-knock-environment-id` headers. An
answer other than 2xx, a timeout or a connection failure is retried, 8 attempts in all, on the
server's clock (so a `ManualClock` test advances through the schedule without sleeping).
Every attempt is recorded. Sending never blocks or fails the request that caused the event:
the state's listener only queues work on the event loop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets
import uuid
from collections.abc import Iterable
from typing import get_args

import aiohttp
import attrs

from .. import models
from ..webhooks import ENVIRONMENT_HEADER, EVENT_HEADER, SIGNATURE_HEADER, sign
from . import _views as views
from ._clock import ServerClock, TimerHandle
from ._records import EventRow, JSONDict, MessageRow
from ._state import State

MAX_ATTEMPTS = 8  # Knock's: the first attempt and seven retries
# Seconds to wait after attempt n (index n - 1) fails. Knock backs off exponentially without
# publishing its intervals; these double from 30 s, so the last retry comes ~64 minutes in.
RETRY_DELAYS = (30.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0)
DEFAULT_TIMEOUT = 10.0  # seconds for the receiver to answer before the attempt counts as failed
# What `events=` may name: the document's message events (the only kind this server has),
# less those it never sends (it delivers at once: nothing is queued, created apart, or not sent).
MESSAGE_EVENT_TYPES = frozenset(get_args(models.MessageEventTypeValue)) - {
    "message.created",
    "message.queued",
    "message.not_sent",
}


@attrs.frozen
class Webhook:
    """An outbound webhook: where events go, the secret that signs them, and which events
    (`events` None: every one)."""

    id: str
    url: str
    secret: str = attrs.field(repr=False)
    events: frozenset[str] | None
    environment_id: str
    timeout: float = DEFAULT_TIMEOUT

    def wants(self, event_type: str) -> bool:
        return self.events is None or event_type in self.events


@attrs.frozen
class WebhookDelivery:
    """One attempt to deliver one event to one webhook.

    `status` is the receiver's HTTP status (None when it did not answer); `error` says why the
    attempt failed (None when it succeeded); `at` is the server clock's time of the attempt.
    """

    event: str
    url: str
    attempt: int
    status: int | None
    error: str | None
    at: dt.datetime
    payload: JSONDict = attrs.field(repr=False)
    webhook_id: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None


@attrs.frozen
class _Job:
    webhook: Webhook
    event_type: str
    body: bytes
    payload: JSONDict
    attempt: int = 1


def event_payload(message: MessageRow, event: EventRow) -> JSONDict:
    """The body Knock sends for one of the message's events: the event, and the message after it."""
    return {
        "__typename": "Event",
        "type": event.type,
        "created_at": event.inserted_at,
        "data": views.message(message),
        "event_data": event.data,
    }


class WebhookSender:
    """The server's outbound webhooks and their deliveries."""

    def __init__(self, state: State, clock: ServerClock) -> None:
        self.clock = clock
        self.environment_id = str(uuid.uuid4())
        self.webhooks: list[Webhook] = []
        self.deliveries: list[WebhookDelivery] = []
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._timers: set[TimerHandle] = set()
        state.message_listeners.append(self.on_message_event)

    def add(
        self, url: str, secret: str | None, events: Iterable[str] | None, timeout: float = DEFAULT_TIMEOUT
    ) -> Webhook:
        webhook = Webhook(
            id=str(uuid.uuid4()),
            url=_checked_url(url),
            secret=_checked_secret(secret),
            events=_checked_events(events),
            environment_id=self.environment_id,
            timeout=_checked_timeout(timeout),
        )
        self.webhooks.append(webhook)
        return webhook

    async def start(self) -> None:
        # The loop is kept: events also happen in code the loop is not running at that moment
        # (a test's ManualClock.advance() delivering a delayed workflow).
        self._loop = asyncio.get_running_loop()
        self._session = aiohttp.ClientSession()

    async def close(self) -> None:
        """Drop the pending deliveries (the record of the attempts made stays readable)."""
        under_way = list(self._tasks)
        self._cancel_pending()
        try:
            outcomes = await asyncio.gather(*under_way, return_exceptions=True)
        finally:
            if self._session is not None:
                await self._session.close()
            self._session, self._loop = None, None
        bugs = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
        if bugs:  # a bug in sending, not a failed delivery (those are recorded, never raised)
            raise bugs[0]

    def reset(self) -> None:
        """Forget the deliveries and drop the pending ones; the webhooks stay."""
        self._cancel_pending()
        self.deliveries.clear()

    def _cancel_pending(self) -> None:
        for timer in self._timers:
            timer.cancel()
        for task in self._tasks:
            task.cancel()
        self._timers.clear()
        self._tasks.clear()

    async def drain(self) -> None:
        """Wait until every attempt under way has finished (retries not yet due stay pending)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # ---------------------------------------------------------------- sending

    def on_message_event(self, message: MessageRow, event: EventRow) -> None:
        """The state's listener: queue one delivery per subscribed webhook, never block or raise."""
        wanted = [webhook for webhook in self.webhooks if webhook.wants(event.type)]
        if not wanted:
            return
        payload = event_payload(message, event)
        body = json.dumps(payload, separators=(",", ":")).encode()
        for webhook in wanted:
            self._spawn(_Job(webhook, event.type, body, payload))

    def _spawn(self, job: _Job) -> None:
        if self._loop is None:
            self._record(job, None, "the server is not running", self.clock.now())
            return
        task = self._loop.create_task(self._attempt(job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _attempt(self, job: _Job) -> None:
        at = self.clock.now()
        status, error = await self._post(job, at)
        self._record(job, status, error, at)
        if error is not None and job.attempt < MAX_ATTEMPTS:
            retry = attrs.evolve(job, attempt=job.attempt + 1)
            timer = self.clock.call_later(RETRY_DELAYS[job.attempt - 1], lambda: self._retry(retry, timer))
            self._timers.add(timer)

    def _record(self, job: _Job, status: int | None, error: str | None, at: dt.datetime) -> None:
        self.deliveries.append(
            WebhookDelivery(
                job.event_type, job.webhook.url, job.attempt, status, error, at, job.payload, job.webhook.id
            )
        )

    def _retry(self, job: _Job, timer: TimerHandle) -> None:
        self._timers.discard(timer)
        self._spawn(job)

    async def _post(self, job: _Job, at: dt.datetime) -> tuple[int | None, str | None]:
        """(status, error) of one POST; any failure is an answer here, never an exception."""
        assert self._session is not None, "started with the loop"
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "knock-async-test-server",
            SIGNATURE_HEADER: sign(job.body, job.webhook.secret, at=at),
            EVENT_HEADER: job.event_type,
            ENVIRONMENT_HEADER: job.webhook.environment_id,
        }
        timeout = aiohttp.ClientTimeout(total=job.webhook.timeout)
        try:
            async with self._session.post(
                job.webhook.url, data=job.body, headers=headers, timeout=timeout, allow_redirects=False
            ) as response:
                await response.read()
                status = response.status
        except asyncio.TimeoutError:
            return None, f"no answer within {job.webhook.timeout:g} s"
        except aiohttp.ClientError as exc:
            return None, f"{type(exc).__name__}: the request failed"
        return status, None if 200 <= status < 300 else f"answered {status}"


# ---------------------------------------------------------------------------- checks


def _checked_url(url: str) -> str:
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ValueError("a webhook URL must be an http:// or https:// URL")
    return url


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _checked_secret(secret: str | None) -> str:
    if secret is None:
        return new_secret()
    if not isinstance(secret, str) or not secret.strip():
        raise ValueError("a webhook secret must be a non-empty str")
    return secret


def _checked_events(events: Iterable[str] | None) -> frozenset[str] | None:
    if events is None:
        return None
    if isinstance(events, str):  # a lone str is a sequence of letters, never what was meant
        raise TypeError("events must be a list of event types, e.g. ['message.read']")
    chosen = frozenset(events)
    if not chosen:
        raise ValueError("events must be a non-empty list of event types (or None for every event)")
    unknown = sorted(map(repr, chosen - MESSAGE_EVENT_TYPES))
    if unknown:  # a misspelt type would otherwise wait forever for an event that never comes
        known = ", ".join(sorted(MESSAGE_EVENT_TYPES))
        raise ValueError(f"events {', '.join(unknown)}: the server sends Knock's message events: {known}")
    return chosen


def _checked_timeout(timeout: float) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ValueError("a webhook timeout must be a positive number of seconds")
    return float(timeout)
