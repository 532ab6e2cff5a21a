"""Running workflows: a trigger records one run per recipient and delivers its messages.

Delivery is immediate for workflows without a delay, so a test can read the feed right after
triggering. A workflow with a delay keeps its runs "processing" until the clock reaches the
delay (a real timer, or `ManualClock.advance()` in tests); cancelling with the run's
cancellation key before then stops it and nothing is delivered.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

from . import _shapes as shapes
from ._clock import ServerClock, TimerHandle, isoformat
from ._errors import field_error, workflow_inactive, workflow_missing
from ._records import EventRow, JSONDict, MessageRow, Ref, RunRow
from ._state import State, check_inline
from ._workflows import Channel, Workflow, as_channel_type, channel_id_for, render


class Engine:
    def __init__(self, state: State, clock: ServerClock) -> None:
        self.state = state
        self.clock = clock
        self._timers: dict[str, TimerHandle] = {}  # recipient run id -> pending delivery

    def now(self) -> str:
        return isoformat(self.clock.now())

    def new_id(self) -> str:
        return str(uuid.uuid4())

    # ---------------------------------------------------------------- declarations

    def declare(self, workflow: Workflow) -> Workflow:
        for step in workflow.steps:
            self.declare_channel(step.channel_key, step.type)
        self.state.workflows[workflow.key] = workflow
        return workflow

    def declare_channel(self, key: str, channel_type: str) -> Channel:
        channel = Channel(channel_id_for(key), key, as_channel_type(channel_type))
        existing = self.state.channel(channel.id)
        if existing is not None and existing.type != channel.type:
            raise ValueError(f"channel {key!r} is already declared as {existing.type}")
        self.state.channels[channel.id] = channel
        return channel

    # ---------------------------------------------------------------- trigger / cancel

    def trigger(self, key: str, body: Mapping[str, Any]) -> str:
        workflow = self._workflow(key)
        if not workflow.active:
            raise workflow_inactive(key)
        recipients, data, cancellation_key, delay = _checked_trigger(workflow, body)
        now = self.now()
        actor = (
            self.state.inline_recipient(body["actor"], now, "actor")
            if body.get("actor") is not None
            else None
        )
        tenant = self.state.inline_tenant(body.get("tenant"), now)
        named = [self.state.inline_recipient(value, now) for value in recipients]
        workflow_run_id = self.new_id()
        for ref in self._fan_out(named):
            run = RunRow(
                self.state.next_seq(),
                self.new_id(),
                workflow_run_id,
                key,
                ref,
                actor,
                tenant,
                data,
                cancellation_key,
                "queued",
                now,
                now,
            )
            self.state.runs[run.id] = run
            self._event(run, "trigger", now, {"cancellation_key": cancellation_key})
            if delay:
                run.status = "processing"
                self._event(run, "delay_started", now, {"step_type": "delay", "seconds": delay})
                self._timers[run.id] = self.clock.call_later(delay, partial(self._deliver, run, workflow))
            else:
                self._deliver(run, workflow)
        return workflow_run_id

    def cancel(self, key: str, cancellation_key: str, recipients: Iterable[Ref] | None) -> int:
        """Cancel the key's runs that have not delivered yet; how many were cancelled."""
        self._workflow(key)
        wanted = set(recipients) if recipients is not None else None
        cancelled = 0
        now = self.now()
        for run in self.state.runs.values():
            if run.workflow != key or run.cancellation_key != cancellation_key:
                continue
            if run.status not in ("queued", "processing") or (
                wanted is not None and run.recipient not in wanted
            ):
                continue
            timer = self._timers.pop(run.id, None)
            if timer is not None:
                timer.cancel()
            run.status, run.updated_at = "cancelled", now
            self._event(run, "cancelled", now)
            cancelled += 1
        return cancelled

    def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    # ---------------------------------------------------------------- internals

    def _workflow(self, key: str) -> Workflow:
        workflow = self.state.workflows.get(key)
        if workflow is None:
            raise workflow_missing(key)
        return workflow

    def _fan_out(self, named: list[Ref]) -> list[Ref]:
        """The recipients, each object followed by its subscribers, without repeats."""
        seen: dict[Ref, None] = {}
        for ref in named:
            seen.setdefault(ref)
            if ref[0] is not None:
                for subscriber in self.state.subscribers(ref):
                    seen.setdefault(subscriber)
        return list(seen)

    def _deliver(self, run: RunRow, workflow: Workflow) -> None:
        self._timers.pop(run.id, None)
        now = self.now()
        scope = self._scope(run)
        for index, step in enumerate(workflow.steps):
            channel = self.declare_channel(step.channel_key, step.type)
            step_ref = workflow.step_ref(index)
            if self.state.opted_out(run.recipient, workflow, step.type, run.tenant):
                self._event(run, "step_skipped", now, {"step_ref": step_ref, "reason": "recipient_opted_out"})
                continue
            text = render(step.template, scope) if step.template else f"{workflow.name or workflow.key}"
            message = MessageRow(
                self.state.next_seq(),
                self.new_id(),
                channel,
                run.recipient,
                run.actor,
                workflow,
                step_ref,
                run.workflow_run_id,
                run.id,
                self.new_id(),
                run.tenant,
                run.data,
                text,
                step.fail or "delivered",
                now,
                now,
                recipient_snapshot=_snapshot(step.type, scope["recipient"]),
            )
            self.state.messages[message.id] = message
            for event_type, details in _DELIVERY_EVENTS[step.fail]:
                self.state.record_message_event(message, event_type, now, details)
            self._event(run, "message_delivered", now, {"step_ref": step_ref, "step_type": step.type})
        run.status, run.updated_at = "completed", now

    def _scope(self, run: RunRow) -> JSONDict:
        def props(ref: Ref | None) -> JSONDict:
            entity = self.state.entity(ref) if ref else None
            return {**entity.properties, "id": entity.id} if entity else {}

        tenant = self.state.tenants.get(run.tenant) if run.tenant else None
        return {
            "data": run.data or {},
            "recipient": props(run.recipient),
            "actor": props(run.actor),
            "tenant": {**tenant.properties, "id": tenant.id} if tenant else {},
        }

    def _event(self, run: RunRow, kind: str, now: str, data: JSONDict | None = None) -> None:
        run.events.append(EventRow(self.state.next_seq(), self.new_id(), kind, now, data))


# The events of one delivery, by the step's injected failure (None: it goes through).
_DELIVERY_EVENTS: dict[str | None, tuple[tuple[str, JSONDict | None], ...]] = {
    None: (("message.sent", None), ("message.delivered", None)),
    "undelivered": (
        ("message.undelivered", {"__typename": "EventData", "failure_reason": "fatal_error",
                                 "failure_details": "The provider refused the message (injected)."}),
    ),
    "bounced": (
        ("message.sent", None),
        ("message.bounced", {"__typename": "EventData", "failure_reason": "bounced",
                             "failure_details": "The recipient's address does not exist (injected)."}),
    ),
}  # fmt: skip


def _snapshot(channel_type: str, recipient: JSONDict) -> JSONDict | None:
    """Where an email went, captured at send time as Knock does (other channels capture none here)."""
    if channel_type != "email":
        return None
    return {"email": recipient.get("email"), "name": recipient.get("name")}


def _checked_trigger(workflow: Workflow, body: Mapping[str, Any]) -> tuple[list[Any], Any, Any, Any]:
    """The trigger's recipients, data, cancellation key and delay, every field checked first, so
    a rejected trigger changes nothing."""
    recipients = body.get("recipients")
    if not isinstance(recipients, list):
        raise field_error("recipients", "is required and must be a list", "required")
    data = body.get("data")
    if data is not None and not isinstance(data, dict):
        raise field_error("data", "must be an object")
    cancellation_key = body.get("cancellation_key")
    if cancellation_key is not None and not isinstance(cancellation_key, str):
        raise field_error("cancellation_key", "must be a string")
    # Every recipient is validated before any is identified.
    for index, value in enumerate(recipients):
        check_inline(value, f"recipients[{index}]")
    if body.get("actor") is not None:
        check_inline(body["actor"], "actor")
    if isinstance(body.get("tenant"), Mapping):
        shapes.tenant(body["tenant"], "tenant")
    settings = body.get("settings") or {}
    if not isinstance(settings, Mapping):
        raise field_error("settings", "must be an object")
    delay = None if settings.get("skip_delay") else workflow.delay
    return recipients, data, cancellation_key, delay
