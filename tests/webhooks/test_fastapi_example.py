"""examples/fastapi_webhooks.py end to end: served by uvicorn on a real socket, it receives the
embedded server's webhooks for a triggered workflow and a message marked read, verifies them
and sees the typed events; a failing handler is retried on Knock's schedule."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from examples.fastapi_webhooks import MessageLog, app, get_message_log, knock_event

from knock_async import AsyncKnock, models
from knock_async.testing import KnockTestServer, ManualClock, RateLimits
from knock_async.testing._webhooks import RETRY_DELAYS
from knock_async.webhooks import verified_event
from tests.webhooks.support import knock_signature

SECRET = "whsec_example_app"


@pytest.fixture
async def app_url(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """The example app served by uvicorn on 127.0.0.1, with its webhook secret set."""
    monkeypatch.setenv("KNOCK_WEBHOOK_SECRET", f"whsec_retired,{SECRET}")
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical", lifespan="on")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    for _ in range(1000):  # up to 10 s for uvicorn to bind
        if server.started or serving.done():
            break
        await asyncio.sleep(0.01)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/knock/webhooks"
    server.should_exit = True
    await serving
    app.dependency_overrides.clear()


def message_log() -> MessageLog:
    log: MessageLog = app.state.message_log
    return log


async def test_the_app_hears_of_a_triggered_workflow_and_a_read_message(app_url: str) -> None:
    async with KnockTestServer(rate_limits=RateLimits.off()) as server:  # real time: the app's clock
        server.add_webhook(app_url, secret=SECRET)
        server.add_workflow("new-comment", ["in_app_feed"])
        async with AsyncKnock(server.api_key, base_url=server.url) as knock:
            await knock.workflows.trigger("new-comment", recipients=["grace"])
            [message] = (await knock.users.list_messages("grace")).items
            await knock.messages.mark_as_read(message.id)
        await server.drain_webhooks()
        deliveries = server.webhook_deliveries
    # Deliveries run side by side, in no set order (as on Knock's).
    assert sorted((d.event, d.status) for d in deliveries) == [
        ("message.delivered", 204), ("message.read", 204), ("message.sent", 204),
    ]  # fmt: skip
    log = message_log()
    assert sorted(log.events[message.id]) == ["message.delivered", "message.read", "message.sent"]
    assert log.statuses[message.id] == "delivered"


async def test_the_app_refuses_bad_signatures_with_400(app_url: str) -> None:
    body = b'{"type": "message.read", "created_at": "2026-01-01T00:00:00Z", "data": {}}'
    now_ms = int(dt.datetime.now(dt.timezone.utc).timestamp() * 1000)
    async with httpx.AsyncClient() as client:
        cases = {
            "mismatch": knock_signature(body, "whsec_someone_else", now_ms),
            "stale": knock_signature(body, SECRET, now_ms - 3_600_000),
            "malformed_header": "t=soon,s=abc",
        }
        for reason, header in cases.items():
            response = await client.post(app_url, content=body, headers={"x-knock-signature": header})
            assert response.status_code == 400, reason
            assert response.json()["detail"]["reason"] == reason
            assert SECRET not in response.text and header.partition(",s=")[2] not in response.text
        missing = await client.post(app_url, content=body)
        assert (missing.status_code, missing.json()["detail"]["reason"]) == (400, "no_signature")
    assert message_log().events == {}


class FlakyLog(MessageLog):
    """A log whose store fails the first `failures` times: the endpoint answers 500."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def record(self, event: models.MessageWebhookEvent) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the store is down")
        super().record(event)


async def test_a_failing_endpoint_is_retried_on_knocks_schedule(app_url: str) -> None:
    clock = ManualClock(start=dt.datetime.now(dt.timezone.utc))
    flaky = FlakyLog(failures=2)
    app.dependency_overrides[get_message_log] = lambda: flaky
    # The app measures a signature's age on the server's clock, which the test moves by hand.
    app.dependency_overrides[knock_event] = verified_event(SECRET, now=clock.now)
    async with KnockTestServer(clock=clock, rate_limits=RateLimits.off()) as server:
        server.add_webhook(app_url, secret=SECRET, events=["message.sent"])
        server.add_workflow("new-comment", ["in_app_feed"])
        async with AsyncKnock(server.api_key, base_url=server.url) as knock:
            await knock.workflows.trigger("new-comment", recipients=["grace"])
        await server.drain_webhooks()
        for delay in RETRY_DELAYS[:2]:
            clock.advance(delay)
            await server.drain_webhooks()
        deliveries = server.webhook_deliveries
    assert [(d.attempt, d.status) for d in deliveries] == [(1, 500), (2, 500), (3, 204)]
    assert [d.at - deliveries[0].at for d in deliveries] == [
        dt.timedelta(0), dt.timedelta(seconds=RETRY_DELAYS[0]), dt.timedelta(seconds=sum(RETRY_DELAYS[:2])),
    ]  # fmt: skip
    assert [events for events in flaky.events.values()] == [["message.sent"]]
