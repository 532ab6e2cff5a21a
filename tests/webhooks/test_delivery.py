"""The embedded server POSTs message events to subscribed webhooks, signed as Knock signs them,
and retries failed deliveries on Knock's schedule, on the server's clock."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator

import pytest

from knock_async import AsyncKnock, models
from knock_async.testing import ChannelStep, KnockTestServer, ManualClock
from knock_async.testing._webhooks import MAX_ATTEMPTS, RETRY_DELAYS
from knock_async.webhooks import verify
from tests.conftest import ServerFactory
from tests.webhooks.support import Receiver, by_event, header_timestamp, signature_holds

SECRET = "whsec_delivery_test"


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as endpoint:
        yield endpoint


@pytest.fixture
async def knock(server: KnockTestServer) -> AsyncIterator[AsyncKnock]:
    async with AsyncKnock(server.api_key, base_url=server.url, max_retries=0) as client:
        yield client


async def test_a_triggered_workflow_sends_signed_message_events(
    server: KnockTestServer, knock: AsyncKnock, receiver: Receiver, clock: ManualClock
) -> None:
    webhook = server.add_webhook(receiver.url, secret=SECRET)
    server.add_workflow("new-comment", ["in_app_feed"])
    await knock.workflows.trigger("new-comment", recipients=["ada"], data={"comment_id": "c1"})
    arrived = by_event(await receiver.wait_for(2))
    delivered = arrived["message.delivered"]
    for event_type, received in arrived.items():
        header = received.headers["x-knock-signature"]
        assert signature_holds(received.body, header, SECRET)  # checked by hand, not by the SDK
        assert header_timestamp(header) == int(clock.now().timestamp() * 1000)  # milliseconds
        assert received.headers["x-knock-event"] == event_type
        assert received.headers["x-knock-environment-id"] == webhook.environment_id
        assert received.headers["content-type"] == "application/json"
        payload = json.loads(received.body)
        assert (payload["__typename"], payload["type"], payload["event_data"]) == ("Event", event_type, None)
        assert payload["data"]["recipient"] == "ada" and payload["data"]["data"] == {"comment_id": "c1"}
    event = verify(delivered.body, delivered.headers["x-knock-signature"], SECRET, now=clock.now())
    assert isinstance(event, models.MessageWebhookEvent) and event.data.status == "delivered"
    await server.drain_webhooks()
    assert sorted((d.event, d.attempt, d.status, d.error) for d in server.webhook_deliveries) == [
        ("message.delivered", 1, 200, None),
        ("message.sent", 1, 200, None),
    ]


async def test_engagement_events_are_sent_with_the_message_as_it_stands(
    server: KnockTestServer, knock: AsyncKnock, receiver: Receiver
) -> None:
    server.add_webhook(receiver.url, secret=SECRET, events=["message.read", "message.archived"])
    server.add_workflow("new-comment", ["in_app_feed"])
    await knock.workflows.trigger("new-comment", recipients=["ada"])
    [message] = (await knock.users.list_messages("ada")).items
    await knock.messages.mark_as_seen(message.id)  # not subscribed: not sent
    await knock.messages.mark_as_read(message.id)
    await knock.messages.archive(message.id)
    arrived = by_event(await receiver.wait_for(2))
    assert set(arrived) == {"message.read", "message.archived"}
    read, archived = arrived["message.read"], arrived["message.archived"]
    assert json.loads(read.body)["data"]["engagement_statuses"] == ["seen", "read"]
    assert json.loads(archived.body)["data"]["engagement_statuses"] == ["seen", "read", "archived"]
    await server.drain_webhooks()
    assert len(receiver.received) == 2


async def test_link_clicks_and_injected_failures_carry_their_event_data(
    server: KnockTestServer, knock: AsyncKnock, receiver: Receiver, clock: ManualClock
) -> None:
    server.add_webhook(receiver.url, secret=SECRET)
    server.add_workflow(
        "receipt", [ChannelStep("email", fail="bounced"), ChannelStep("sms", fail="undelivered")]
    )
    server.add_workflow("news", ["in_app_feed"])
    await knock.workflows.trigger("receipt", recipients=["ada"])
    arrived = by_event(await receiver.wait_for(3))
    assert set(arrived) == {"message.sent", "message.bounced", "message.undelivered"}
    events = {
        name: verify(r.body, r.headers["x-knock-signature"], SECRET, now=clock.now())
        for name, r in arrived.items()
    }
    bounced, undelivered = events["message.bounced"], events["message.undelivered"]
    assert isinstance(bounced, models.MessageWebhookEvent) and isinstance(
        undelivered, models.MessageWebhookEvent
    )
    assert (bounced.data.status, undelivered.data.status) == ("bounced", "undelivered")
    assert (
        isinstance(bounced.event_data, models.WebhookEventData)
        and bounced.event_data.failure_reason == "bounced"
    )
    assert isinstance(undelivered.event_data, models.WebhookEventData)
    assert undelivered.event_data.failure_reason == "fatal_error"

    await knock.workflows.trigger("news", recipients=["ada"])
    await receiver.wait_for(5)
    message = next(m for m in (await knock.users.list_messages("ada")).items if m.workflow == "news")
    server.click_link(message.id, "https://app.example.com/c/1")
    [*_, clicked] = await receiver.wait_for(6)
    event = verify(clicked.body, clicked.headers["x-knock-signature"], SECRET, now=clock.now())
    assert event.type == "message.link_clicked" and isinstance(event.event_data, models.WebhookEventData)
    assert event.event_data.url == "https://app.example.com/c/1"
    assert isinstance(event.data, models.Message) and event.data.engagement_statuses == ["link_clicked"]


async def test_a_failing_receiver_is_retried_on_the_schedule_of_the_server_clock(
    server: KnockTestServer, knock: AsyncKnock, clock: ManualClock
) -> None:
    async with Receiver(statuses=[500, 503, 404, 302]) as receiver:
        server.add_webhook(receiver.url, secret=SECRET, events=["message.sent"])
        server.add_workflow("new-comment", ["in_app_feed"])
        await knock.workflows.trigger("new-comment", recipients=["ada"])
        await receiver.wait_for(1)
        for attempt, delay in enumerate(RETRY_DELAYS[:4], start=2):
            await server.drain_webhooks()
            clock.advance(delay - 0.001)
            await server.drain_webhooks()
            assert len(receiver.received) == attempt - 1, "not before its time"
            clock.advance(0.001)
            await receiver.wait_for(attempt)
        await server.drain_webhooks()
        clock.advance(max(RETRY_DELAYS) * 2)
        await server.drain_webhooks()
    deliveries = server.webhook_deliveries
    assert [(d.attempt, d.status, d.error) for d in deliveries] == [
        (1, 500, "answered 500"), (2, 503, "answered 503"), (3, 404, "answered 404"),
        (4, 302, "answered 302"), (5, 200, None),
    ]  # fmt: skip
    assert len(receiver.received) == 5, "a success ends the retries"
    # Each attempt is signed anew, at its own time; the body stays the event's.
    stamps = [header_timestamp(r.headers["x-knock-signature"]) for r in receiver.received]
    assert [b - a for a, b in itertools.pairwise(stamps)] == [int(d * 1000) for d in RETRY_DELAYS[:4]]
    assert len({r.body for r in receiver.received}) == 1
    assert all(signature_holds(r.body, r.headers["x-knock-signature"], SECRET) for r in receiver.received)


async def test_a_receiver_that_is_down_gets_eight_attempts_and_never_fails_the_call(
    server: KnockTestServer, knock: AsyncKnock, clock: ManualClock
) -> None:
    async with Receiver() as gone:
        url = gone.url  # a port that nothing listens on once the receiver has stopped
    server.add_webhook(url, events=["message.sent"])
    server.add_workflow("new-comment", ["in_app_feed"])
    run = await knock.workflows.trigger("new-comment", recipients=["ada"])
    assert run.workflow_run_id
    for _ in range(MAX_ATTEMPTS + 2):
        await server.drain_webhooks()
        clock.advance(max(RETRY_DELAYS))
    await server.drain_webhooks()
    deliveries = server.webhook_deliveries
    assert [d.attempt for d in deliveries] == list(range(1, MAX_ATTEMPTS + 1))
    assert all(d.status is None and d.error and "ClientConnectorError" in d.error for d in deliveries)
    assert all(d.url == url and d.event == "message.sent" for d in deliveries)


async def test_a_slow_receiver_does_not_hold_up_the_api_call(
    server: KnockTestServer, knock: AsyncKnock, receiver: Receiver
) -> None:
    server.add_webhook(receiver.url, events=["message.read"])
    server.add_workflow("new-comment", ["in_app_feed"])
    await knock.workflows.trigger("new-comment", recipients=["ada"])
    [message] = (await knock.users.list_messages("ada")).items
    receiver.release.clear()  # the receiver answers nothing until released
    await knock.messages.mark_as_read(message.id)  # returns while the webhook waits for its answer
    await receiver.wait_for(1)
    assert server.webhook_deliveries == []  # the attempt is still under way
    receiver.release.set()
    await server.drain_webhooks()
    assert [(d.event, d.status) for d in server.webhook_deliveries] == [("message.read", 200)]


async def test_a_receiver_that_never_answers_times_out_and_is_retried(
    server: KnockTestServer, knock: AsyncKnock, receiver: Receiver, clock: ManualClock
) -> None:
    server.add_webhook(receiver.url, events=["message.sent"], timeout=0.2)
    server.add_workflow("new-comment", ["in_app_feed"])
    receiver.release.clear()
    await knock.workflows.trigger("new-comment", recipients=["ada"])
    await server.drain_webhooks()
    receiver.release.set()
    clock.advance(RETRY_DELAYS[0])
    await server.drain_webhooks()
    assert [(d.attempt, d.status, d.error) for d in server.webhook_deliveries] == [
        (1, None, "no answer within 0.2 s"),
        (2, 200, None),
    ]


async def test_webhooks_take_a_generated_secret_and_refuse_bad_arguments(
    server: KnockTestServer, receiver: Receiver
) -> None:
    webhook = server.add_webhook(receiver.url)
    assert len(webhook.secret) > 30 and webhook.secret != server.add_webhook(receiver.url).secret
    assert webhook.secret not in repr(webhook) and webhook.secret not in repr(server)
    for bad in ({"url": "ftp://x"}, {"url": receiver.url, "secret": ""}, {"url": receiver.url, "events": []}):
        with pytest.raises(ValueError):
            server.add_webhook(**bad)
    with pytest.raises(TypeError):
        server.add_webhook(receiver.url, events="message.read")
    with pytest.raises(ValueError, match=r"'message\.raed'"):
        server.add_webhook(receiver.url, events=["message.read", "message.raed"])
    with pytest.raises(ValueError, match="message events"):
        server.add_webhook(receiver.url, events=["workflow.committed"])
    with pytest.raises(ValueError):
        server.add_webhook(receiver.url, timeout=0)
    with pytest.raises(ValueError, match="fail"):
        ChannelStep("email", fail="lost")  # type: ignore[arg-type]


async def test_reset_forgets_deliveries_and_drops_pending_retries(
    server: KnockTestServer, knock: AsyncKnock, clock: ManualClock
) -> None:
    async with Receiver(statuses=[500]) as receiver:
        server.add_webhook(receiver.url, events=["message.sent"])
        server.add_workflow("new-comment", ["in_app_feed"])
        await knock.workflows.trigger("new-comment", recipients=["ada"])
        await receiver.wait_for(1)
        await server.drain_webhooks()
        assert clock.pending == 1  # the retry
        server.reset()
        assert server.webhook_deliveries == [] and clock.pending == 0
        clock.advance(RETRY_DELAYS[0])
        await server.drain_webhooks()
        assert len(receiver.received) == 1


async def test_closing_drops_pending_retries_and_keeps_the_record(make_server: ServerFactory) -> None:
    clock = ManualClock()
    server = await make_server(clock=clock)
    async with Receiver(statuses=[500]) as receiver, AsyncKnock(server.api_key, base_url=server.url) as knock:
        server.add_webhook(receiver.url, events=["message.sent"])
        server.add_workflow("new-comment", ["in_app_feed"])
        await knock.workflows.trigger("new-comment", recipients=["ada"])
        await receiver.wait_for(1)
        await server.drain_webhooks()
        await server.close()
        assert clock.pending == 0
        assert [(d.attempt, d.status) for d in server.webhook_deliveries] == [(1, 500)]
