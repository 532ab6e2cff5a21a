"""Messages, their engagement statuses (single, batch and channel bulk) and in-app feeds."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from knock_async._grants import Permission

from .. import _shapes as shapes
from .. import _views as views
from .._access import bulk_recipients, feed_tenant, messages, recipient
from .._bulk import Row
from .._call import Call
from .._clock import parse_time
from .._errors import field_error, not_found
from .._idempotency import Reply
from .._pagination import encode_cursor, paginate
from .._records import EventRow, JSONDict, MessageRow
from .._routes import handles, ok
from .._state import State
from .common import (
    engaged_as,
    inserted_between,
    matches_trigger_data,
    message_filter,
    newest_first,
    parse_trigger_data,
)

# operationId suffix -> (engagement status, set or unset)
_CHANGES: Mapping[str, tuple[str, bool]] = {
    "mark_as_seen": ("seen", True),
    "mark_as_unseen": ("seen", False),
    "mark_as_read": ("read", True),
    "mark_as_unread": ("read", False),
    "mark_as_interacted": ("interacted", True),
    "archive": ("archived", True),
    "unarchive": ("archived", False),
}
# channels.bulk.update_message_status's {action} -> (engagement status, set or unset)
_BULK_ACTIONS: Mapping[str, tuple[str, bool]] = {
    "seen": ("seen", True),
    "unseen": ("seen", False),
    "read": ("read", True),
    "unread": ("read", False),
    "interacted": ("interacted", True),
    "archived": ("archived", True),
    "archive": ("archived", True),
    "unarchived": ("archived", False),
    "unarchive": ("archived", False),
}
_UNDO_EVENT = {"seen": "message.unseen", "read": "message.unread", "archived": "message.unarchived"}


def change_engagement(
    state: State, message: MessageRow, status: str, on: bool, now: str, metadata: JSONDict | None = None
) -> None:
    """Set or clear one engagement status, recording the event when something changed."""
    if on and metadata is not None:
        message.metadata = metadata
    if on == (status in message.engaged):
        return
    if on:
        message.engaged[status] = now
        event = f"message.{status}"
    else:
        del message.engaged[status]
        event = _UNDO_EVENT[status]
    message.updated_at = now
    state.record_message_event(message, event, now)


def _message(call: Call) -> MessageRow:
    message = call.backend.state.messages.get(call.path["message_id"])
    if message is None:
        raise not_found("message")
    return message


def _metadata(call: Call) -> JSONDict | None:
    metadata = call.json_body().get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise field_error("metadata", "must be an object")
    return metadata


# ---------------------------------------------------------------------------- reading


@handles("messages.list")
def list_messages(call: Call) -> Reply:
    keep = message_filter(call)
    found = newest_first(m for m in call.backend.state.messages.values() if keep(m))
    return ok(paginate(found, call.query, position=lambda m: m.seq, render=views.message, key="items"))


@handles("messages.get", access=messages(Permission.USER_FEED_READ))
def get_message(call: Call) -> Reply:
    return ok(views.message(_message(call)))


@handles("messages.list_events")
def list_message_events(call: Call) -> Reply:
    message = _message(call)
    events = sorted(message.events, key=lambda e: e.seq, reverse=True)
    render: Callable[[EventRow], JSONDict] = lambda e: views.message_event(message, e)  # noqa: E731
    return ok(paginate(events, call.query, position=lambda e: e.seq, render=render, key="items"))


@handles("messages.list_activities")
def list_message_activities(call: Call) -> Reply:
    message = _message(call)
    wanted = parse_trigger_data(call.text("trigger_data"))
    activities = [message] if matches_trigger_data(message.data, wanted) else []
    state = call.backend.state
    return ok(
        paginate(
            activities,
            call.query,
            position=lambda m: m.seq,
            render=lambda m: views.activity(state, m),
            key="items",
        )
    )


@handles("messages.get_content")
def get_message_content(call: Call) -> Reply:
    return ok(views.message_content(call.backend.state, _message(call)))


@handles("messages.batch.get_content")
def batch_get_message_content(call: Call) -> Reply:
    state = call.backend.state
    ids = call.texts("message_ids[]")
    if not ids:
        raise field_error("message_ids[]", "is required", "required")
    missing = [message_id for message_id in ids if message_id not in state.messages]
    if missing:
        raise not_found("message")
    return ok([views.message_content(state, state.messages[message_id]) for message_id in ids])


@handles("messages.list_delivery_logs")
def list_message_delivery_logs(call: Call) -> Reply:
    logs = views.delivery_logs(_message(call))
    positioned = list(enumerate(logs, start=1))
    return ok(paginate(positioned, call.query, position=lambda p: p[0], render=lambda p: p[1], key="items"))


# ---------------------------------------------------------------------------- status changes


@handles(*(f"messages.{name}" for name in _CHANGES), access=messages(Permission.USER_FEED_WRITE))
def change_message(call: Call) -> Reply:
    status, on = _CHANGES[call.operation.id.rsplit(".", 1)[1]]
    message = _message(call)
    metadata = _metadata(call) if status == "interacted" else None
    change_engagement(call.backend.state, message, status, on, call.backend.now(), metadata)
    return ok(views.message(message))


@handles(*(f"messages.batch.{name}" for name in _CHANGES), access=messages(Permission.USER_FEED_WRITE))
def change_messages(call: Call) -> Reply:
    status, on = _CHANGES[call.operation.id.rsplit(".", 1)[1]]
    ids = shapes.text_list(call.field("message_ids", list), "message_ids")
    metadata = _metadata(call) if status == "interacted" else None
    state, now = call.backend.state, call.backend.now()
    changed = []
    for message_id in dict.fromkeys(ids):  # each message once, in the order given
        message = state.messages.get(message_id)
        if message is not None:  # Knock answers with the messages it found; unknown ids drop out
            change_engagement(state, message, status, on, now, metadata)
            changed.append(views.message(message))
    return ok(changed)


@handles("channels.bulk.update_message_status", access=bulk_recipients(Permission.USER_FEED_WRITE))
def bulk_update_channel_messages(call: Call) -> Reply:
    state = call.backend.state
    channel = state.channel(call.path["channel_id"])
    if channel is None:
        raise not_found("channel")
    action = call.path["action"]
    if action != "delete" and action not in _BULK_ACTIONS:
        raise field_error("action", f"{action!r} is not a bulk message action")
    keep = _bulk_filter(_bulk_body(call))
    chosen = [m for m in state.messages.values() if m.channel.id == channel.id and keep(m)]
    user = call.caller.user
    if user is not None:  # a user token acts only on the messages it reaches: its user's own
        chosen = [m for m in chosen if user.reaches_message(Permission.USER_FEED_WRITE, m)]
    backend = call.backend

    def row(message: MessageRow) -> Row:
        def apply() -> JSONDict | None:
            if action == "delete":
                backend.state.messages.pop(message.id, None)
            else:
                status, on = _BULK_ACTIONS[action]
                change_engagement(backend.state, message, status, on, backend.now())
            return None

        return apply

    return ok(backend.bulk.start(call.operation.id, [row(m) for m in chosen]).view())


def _bulk_body(call: Call) -> dict[str, Any]:
    """The filters, as Knock's clients send them too: `user_ids` beside `recipient_ids`, and
    empty strings (the mobile SDKs' way of leaving a filter out) as absent filters. A
    publishable key without a user token must name the users (it may not touch everyone's)."""
    body = {name: value for name, value in call.json_body().items() if value != ""}
    user_ids = shapes.text_list(body.pop("user_ids", None) or [], "user_ids")
    if user_ids:
        body["recipient_ids"] = [
            *shapes.text_list(body.get("recipient_ids") or [], "recipient_ids"),
            *user_ids,
        ]
    if call.caller.kind == "publishable" and call.caller.user is None and not body.get("recipient_ids"):
        raise field_error("user_ids", "is required with a publishable key", "required")
    return body


def _bulk_filter(body: Mapping[str, Any]) -> Callable[[MessageRow], bool]:
    for name in ("archived", "delivery_status", "engagement_status", "trigger_data"):
        shapes.optional_text(body.get(name), name)
    for name in ("newer_than", "older_than"):
        shapes.optional_time(body.get(name), name)
    archived = body.get("archived") or "include"
    recipients, tenants, workflows = (
        set(shapes.text_list(body.get(name) or [], name))
        for name in ("recipient_ids", "tenants", "workflows")
    )
    trigger_data = parse_trigger_data(body.get("trigger_data")) if body.get("trigger_data") else None
    newer = parse_time(body["newer_than"]) if body.get("newer_than") else None
    older = parse_time(body["older_than"]) if body.get("older_than") else None

    def keep(message: MessageRow) -> bool:
        is_archived = "archived" in message.engaged
        inserted = parse_time(message.inserted_at)
        return (
            (archived == "include" or (archived == "only") == is_archived)
            and (not body.get("delivery_status") or message.status == body["delivery_status"])
            and (not body.get("engagement_status") or engaged_as(message, body["engagement_status"]))
            and (body.get("has_tenant") is None or bool(message.tenant) == body["has_tenant"])
            and (not recipients or (message.recipient[0] is None and message.recipient[1] in recipients))
            and (not tenants or message.tenant in tenants)
            and (not workflows or message.workflow.key in workflows)
            and matches_trigger_data(message.data, trigger_data)
            and (newer is None or inserted > newer)
            and (older is None or inserted < older)
        )

    return keep


# ---------------------------------------------------------------------------- feeds


@handles("users.feeds.list_items", access=recipient(Permission.USER_FEED_READ, feed_tenant))
def list_feed_items(call: Call) -> Reply:
    state = call.backend.state
    user_id = call.path["user_id"]
    channel = state.channel(call.path["id"])
    if channel is None or channel.type != "in_app_feed":
        raise not_found("feed channel")
    feed = newest_first(
        m for m in state.messages.values() if m.recipient == (None, user_id) and m.channel == channel
    )
    live = [m for m in feed if "archived" not in m.engaged]
    keep = _feed_filter(call)
    shown = [m for m in feed if keep(m)]
    page = paginate(
        shown,
        call.query,
        position=lambda m: m.seq,
        render=lambda m: views.feed_item(state, m, encode_cursor(m.seq)),
    )
    page["meta"] = {
        "__typename": "FeedMetadata",
        "total_count": len(shown),
        "unread_count": sum(1 for m in live if "read" not in m.engaged),
        "unseen_count": sum(1 for m in live if "seen" not in m.engaged),
    }
    page["vars"] = {}
    return ok(page)


def _feed_filter(call: Call) -> Callable[[MessageRow], bool]:
    status = call.text("status") or "all"
    archived = call.text("archived") or "exclude"
    source, tenant, has_tenant = call.text("source"), call.text("tenant"), call.flag("has_tenant")
    categories = set(call.texts("workflow_categories[]"))
    trigger_data = parse_trigger_data(call.text("trigger_data"))
    in_window = inserted_between(call)

    def keep(message: MessageRow) -> bool:
        is_archived = "archived" in message.engaged
        return (
            (status == "all" or engaged_as(message, status))
            and (archived == "include" or (archived == "only") == is_archived)
            and (source is None or message.workflow.key == source)
            and (tenant is None or message.tenant == tenant)
            and (has_tenant is None or bool(message.tenant) == has_tenant)
            and (not categories or bool(categories & set(message.workflow.categories)))
            and matches_trigger_data(message.data, trigger_data)
            and in_window(message.inserted_at)
        )

    return keep


@handles("users.feeds.get_settings", access=recipient(Permission.USER_FEED_READ, feed_tenant))
def get_feed_settings(call: Call) -> Reply:
    channel = call.backend.state.channel(call.path["id"])
    if channel is None or channel.type != "in_app_feed":
        raise not_found("feed channel")
    return ok({"features": {"branding_required": False}})
