"""A FastAPI endpoint for Knock's outbound webhooks: each request verified, read as a typed event.

Knock POSTs what happens to each message (sent, delivered, bounced, read, clicked, ...) to the
webhook's URL, signed with the webhook's secret. The endpoint refuses a bad or stale signature
with 400, and keeps, per message, the events it heard of (once each: Knock delivers at least
once, so a retried event may arrive twice).

Needs `pip install fastapi uvicorn`. Configuration, from the environment, read on every request
(so a rotated secret needs no restart):

    KNOCK_WEBHOOK_SECRET    the webhook's signing secret; while rotating, old and new
                            comma-separated

Try it against the embedded server, which writes the webhook's secret to a file only you can
read and prints its path:

    python -m knock_async.testing --port 4010 --webhook http://127.0.0.1:8000/knock/webhooks
    KNOCK_WEBHOOK_SECRET="$(cat <printed path>)" uvicorn examples.fastapi_webhooks:app --port 8000

Its test, tests/webhooks/test_fastapi_example.py, serves this app on a real socket and has the
embedded server deliver to it.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import attrs
from fastapi import Depends, FastAPI, Request

from knock_async import models
from knock_async.webhooks import WebhookEvent, verified_event


@attrs.define
class MessageLog:
    """What the app heard about each message: its latest status and the events, in order."""

    statuses: dict[str, str] = attrs.field(factory=dict)
    events: dict[str, list[str]] = attrs.field(factory=dict)
    _seen: set[tuple[str, str, str]] = attrs.field(factory=set)

    def record(self, event: models.MessageWebhookEvent) -> None:
        # Knock's events have no id of their own: type, message and time tell a repeat apart.
        key = (event.type.value, event.data.id, event.created_at.isoformat())
        if key in self._seen:
            return
        self._seen.add(key)
        self.statuses[event.data.id] = event.data.status.value
        self.events.setdefault(event.data.id, []).append(event.type.value)


def webhook_secrets() -> list[str]:
    """The webhook's current secrets (asked on every request)."""
    return [secret for secret in os.environ["KNOCK_WEBHOOK_SECRET"].split(",") if secret]


# The dependency every webhook endpoint takes: 400 on a bad signature, else the typed event.
knock_event = verified_event(webhook_secrets)
KnockEvent = Annotated[WebhookEvent, Depends(knock_event)]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.message_log = MessageLog()
    yield


app = FastAPI(lifespan=lifespan)


def get_message_log(request: Request) -> MessageLog:
    log: MessageLog = request.app.state.message_log
    return log


Log = Annotated[MessageLog, Depends(get_message_log)]


@app.post("/knock/webhooks", status_code=204)
async def knock_webhook(event: KnockEvent, log: Log) -> None:
    """Any 2xx tells Knock the event arrived; anything else (or no answer) makes it retry."""
    if isinstance(event, models.MessageWebhookEvent):
        log.record(event)
    # Other events (workflow commits, and types Knock adds later) are acknowledged and ignored.
