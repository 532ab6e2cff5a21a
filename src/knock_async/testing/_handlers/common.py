"""Helpers several handler areas share: message filters and trigger-data matching."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from .._call import Call
from .._clock import parse_time
from .._errors import field_error
from .._records import JSONDict, MessageRow, Ref

_NEGATED = {"unseen": "seen", "unread": "read", "unarchived": "archived"}


def recipient_ref(call: Call) -> Ref:
    """The user or object a recipient route names.

    An object is `{id}` on its own routes and `{object_id}` on the routes below it, where `{id}`
    names the preference set (the official SDK's keyword names).
    """
    path = call.path
    if "user_id" in path:
        return (None, path["user_id"])
    return (path["collection"], path["object_id"] if "object_id" in path else path["id"])


def newest_first(messages: Iterable[MessageRow]) -> list[MessageRow]:
    return sorted(messages, key=lambda message: message.seq, reverse=True)


def message_filter(call: Call) -> Callable[[MessageRow], bool]:
    """The message-list query filters shared by messages.list and users/objects.list_messages."""
    channel_id = call.text("channel_id")
    source = call.text("source")
    tenant = call.text("tenant")
    statuses = set(call.texts("status[]"))
    engagement = set(call.texts("engagement_status[]"))
    message_ids = set(call.texts("message_ids[]"))
    categories = set(call.texts("workflow_categories[]"))
    run_id = call.text("workflow_run_id")
    recipient_run_id = call.text("workflow_recipient_run_id")
    trigger_data = parse_trigger_data(call.text("trigger_data"))
    in_window = inserted_between(call)

    def keep(message: MessageRow) -> bool:
        return (
            (channel_id is None or channel_id in (message.channel.id, message.channel.key))
            and (source is None or message.workflow.key == source)
            and (tenant is None or message.tenant == tenant)
            and (not statuses or message.status in statuses)
            and (not engagement or any(engaged_as(message, status) for status in engagement))
            and (not message_ids or message.id in message_ids)
            and (not categories or bool(categories & set(message.workflow.categories)))
            and (run_id is None or message.workflow_run_id == run_id)
            and (recipient_run_id is None or message.recipient_run_id == recipient_run_id)
            and matches_trigger_data(message.data, trigger_data)
            and in_window(message.inserted_at)
        )

    return keep


def engaged_as(message: MessageRow, status: str) -> bool:
    if status in _NEGATED:
        return _NEGATED[status] not in message.engaged
    return status in message.engaged


def parse_trigger_data(text: str | None) -> JSONDict | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        raise field_error("trigger_data", "must be a JSON object") from None
    if not isinstance(value, dict):
        raise field_error("trigger_data", "must be a JSON object")
    return value


def matches_trigger_data(data: JSONDict | None, wanted: JSONDict | None) -> bool:
    # Knock filters on the flattened, truncated trigger data: top-level keys compared as given.
    return wanted is None or all((data or {}).get(key) == value for key, value in wanted.items())


def inserted_between(call: Call) -> Callable[[str], bool]:
    """The inserted_at bounds; both spellings the document uses (`inserted_at.gt`, `inserted_at[gt]`)."""
    bounds: list[tuple[str, Any]] = []
    for op in ("gt", "gte", "lt", "lte"):
        raw = call.text(f"inserted_at.{op}") or call.text(f"inserted_at[{op}]")
        if raw is not None:
            try:
                bounds.append((op, parse_time(raw)))
            except ValueError:
                raise field_error(f"inserted_at.{op}", "must be an RFC 3339 date-time") from None

    def check(inserted_at: str) -> bool:
        moment = parse_time(inserted_at)
        return all(
            (op == "gt" and moment > bound)
            or (op == "gte" and moment >= bound)
            or (op == "lt" and moment < bound)
            or (op == "lte" and moment <= bound)
            for op, bound in bounds
        )

    return check
