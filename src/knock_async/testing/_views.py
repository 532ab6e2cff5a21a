"""Records rendered in the shapes of openapi/knock.yaml's response schemas."""

from __future__ import annotations

from typing import Any

from ._records import (
    ChannelDataRow,
    Entity,
    EventRow,
    JSONDict,
    MemberRow,
    MessageRow,
    PreferenceRow,
    Ref,
    RunRow,
    ScheduleRow,
    SubscriptionRow,
    wire_ref,
)
from ._state import State

ENVIRONMENT_ID = "5b0e7c1d-2f4a-4c8e-9d63-7a1b2c3d4e5f"  # the one environment this server is
_PREFERENCE_KEYS = ("categories", "channel_types", "channels", "commercial_subscribed", "workflows")


def user(entity: Entity) -> JSONDict:
    # Custom properties sit at the top level of a User, next to the documented fields.
    return {
        **entity.properties,
        "__typename": "User",
        "id": entity.id,
        "created_at": entity.created_at,
        "updated_at": entity.updated_at,
    }


def obj(entity: Entity) -> JSONDict:
    # An Object keeps its custom properties in `properties`.
    return {
        "__typename": "Object",
        "id": entity.id,
        "collection": entity.collection,
        "created_at": entity.created_at,
        "updated_at": entity.updated_at,
        "properties": dict(entity.properties),
    }


def tenant(entity: Entity) -> JSONDict:
    return {
        **entity.properties,
        "__typename": "Tenant",
        "id": entity.id,
        "created_at": entity.created_at,
        "updated_at": entity.updated_at,
    }


def recipient(state: State, ref: Ref, placeholder_time: str) -> JSONDict:
    """A full User or Object; one that no longer exists is shown with its id alone."""
    entity = state.entity(ref)
    if entity is not None:
        return user(entity) if ref[0] is None else obj(entity)
    if ref[0] is None:
        return {"__typename": "User", "id": ref[1], "updated_at": placeholder_time}
    return {
        "__typename": "Object",
        "id": ref[1],
        "collection": ref[0],
        "updated_at": placeholder_time,
        "properties": {},
    }


def preference_set(set_id: str, row: PreferenceRow | None) -> JSONDict:
    content = row.content if row is not None else {}
    view: JSONDict = {"__typename": "PreferenceSet", "id": set_id}
    for key in _PREFERENCE_KEYS:
        view[key] = content.get(key)
    return view


def channel_data(row: ChannelDataRow) -> JSONDict:
    return {"__typename": "ChannelData", "channel_id": row.channel_id, "data": row.data}


def subscription(state: State, row: SubscriptionRow) -> JSONDict:
    return {
        "__typename": "Subscription",
        "object": recipient(state, row.object, row.updated_at),
        "recipient": recipient(state, row.recipient, row.updated_at),
        "properties": row.properties,
        "inserted_at": row.inserted_at,
        "updated_at": row.updated_at,
    }


def schedule(state: State, row: ScheduleRow) -> JSONDict:
    return {
        "__typename": "Schedule",
        "id": row.id,
        "workflow": row.workflow,
        "recipient": recipient(state, row.recipient, row.updated_at),
        "actor": recipient(state, row.actor, row.updated_at) if row.actor else None,
        "data": row.data,
        "repeats": [{"__typename": "ScheduleRepeat", **rule} for rule in row.repeats],
        "tenant": row.tenant,
        "last_occurrence_at": None,
        "next_occurrence_at": row.scheduled_at,
        "inserted_at": row.inserted_at,
        "updated_at": row.updated_at,
    }


def audience_member(state: State, row: MemberRow) -> JSONDict:
    found = state.users.get(row.user_id)
    return {
        "__typename": "AudienceMember",
        "added_at": row.added_at,
        "user_id": row.user_id,
        "user": user(found) if found else None,
        "tenant": row.tenant,
    }


# ---------------------------------------------------------------------------- messages


def message(message: MessageRow) -> JSONDict:
    channel = message.channel
    engaged = message.engaged
    return {
        "__typename": "Message",
        "id": message.id,
        "channel_id": channel.id,
        "channel": {
            "id": channel.id,
            "key": channel.key,
            "name": channel.key,
            "provider": channel.provider,
            "type": channel.type,
            "created_at": message.inserted_at,
            "updated_at": message.inserted_at,
        },
        "recipient": wire_ref(message.recipient),
        "actors": [wire_ref(message.actor)] if message.actor else [],
        "status": message.status,
        "engagement_statuses": [status for status in _ENGAGEMENT if status in engaged],
        "source": {
            "__typename": "NotificationSource",
            "key": message.workflow.key,
            "version_id": message.workflow.version_id,
            "categories": list(message.workflow.categories),
            "step_ref": message.step_ref,
            "type": "workflow",
            "workflow_run_id": message.workflow_run_id,
            "workflow_recipient_run_id": message.recipient_run_id,
        },
        "tenant": message.tenant,
        "workflow": message.workflow.key,
        "data": message.data,
        "metadata": message.metadata,
        "inserted_at": message.inserted_at,
        "updated_at": message.updated_at,
        "scheduled_at": None,
        "seen_at": engaged.get("seen"),
        "read_at": engaged.get("read"),
        "interacted_at": engaged.get("interacted"),
        "link_clicked_at": engaged.get("link_clicked"),
        "clicked_at": engaged.get("link_clicked"),
        "archived_at": engaged.get("archived"),
        "recipient_snapshot": message.recipient_snapshot,
    }


_ENGAGEMENT = ("seen", "read", "interacted", "link_clicked", "archived")


def message_event(message: MessageRow, event: EventRow) -> JSONDict:
    return {
        "__typename": "MessageEvent",
        "id": event.id,
        "type": event.type,
        "recipient": wire_ref(message.recipient),
        "data": event.data,
        "inserted_at": event.inserted_at,
    }


def activity(state: State, message: MessageRow) -> JSONDict:
    return {
        "__typename": "Activity",
        "id": message.activity_id,
        "actor": recipient(state, message.actor, message.inserted_at) if message.actor else None,
        "recipient": recipient(state, message.recipient, message.inserted_at),
        "data": message.data,
        "inserted_at": message.inserted_at,
        "updated_at": message.inserted_at,
    }


def blocks(message: MessageRow) -> list[JSONDict]:
    return [
        {"type": "markdown", "name": "body", "content": message.text, "rendered": f"<p>{message.text}</p>"}
    ]


def message_content(state: State, message: MessageRow) -> JSONDict:
    return {
        "__typename": "MessageContent",
        "message_id": message.id,
        "data": _content_data(state, message),
        "inserted_at": message.inserted_at,
    }


def _content_data(state: State, message: MessageRow) -> JSONDict:
    entity = state.entity(message.recipient)
    props: dict[str, Any] = entity.properties if entity else {}
    kind = message.channel.type
    subject = f"{message.workflow.name or message.workflow.key}"
    if kind == "email":
        return {
            "__typename": "MessageEmailContent",
            "from": "notifications@example.com",
            "to": str(props.get("email") or f"{message.recipient[1]}@example.invalid"),
            "subject_line": subject,
            "html_body": f"<p>{message.text}</p>",
            "text_body": message.text,
        }
    if kind == "sms":
        return {
            "__typename": "MessageSmsContent",
            "to": str(props.get("phone_number") or ""),
            "body": message.text,
        }
    if kind == "push":
        row = state.channel_data.get(message.recipient, {}).get(message.channel.id)
        tokens = (row.data.get("tokens") if row else None) or ["test-device-token"]
        return {
            "__typename": "MessagePushContent",
            "token": str(tokens[0]),
            "title": subject,
            "body": message.text,
            "data": message.data,
        }
    if kind == "chat":
        return {
            "__typename": "MessageChatContent",
            "connection": {},
            "template": {"summary": message.text, "blocks": None, "json_content": None},
            "metadata": None,
        }
    return {"__typename": "MessageInAppFeedContent", "blocks": blocks(message)}


def delivery_logs(message: MessageRow) -> list[JSONDict]:
    """In-app messages have none; others one request to the (pretend) provider."""
    if message.channel.type == "in_app_feed":
        return []
    return [
        {
            "__typename": "MessageDeliveryLog",
            "id": f"{message.id}-log-1",
            "environment_id": ENVIRONMENT_ID,
            "service_name": message.channel.provider,
            "request": {
                "method": "POST",
                "host": "provider.invalid",
                "path": "/send",
                "body": {"text": message.text},
            },
            "response": {"status": 200, "body": {"ok": True}},
            "inserted_at": message.inserted_at,
        }
    ]


def feed_item(state: State, message: MessageRow, cursor: str) -> JSONDict:
    actors = [recipient(state, message.actor, message.inserted_at)] if message.actor else []
    engaged = message.engaged
    return {
        "__cursor": cursor,
        "__typename": "FeedItem",
        "id": message.id,
        "actors": actors,
        "activities": [activity(state, message)],
        "blocks": blocks(message),
        "data": message.data,
        "source": {
            "__typename": "NotificationSource",
            "key": message.workflow.key,
            "version_id": message.workflow.version_id,
            "categories": list(message.workflow.categories),
        },
        "tenant": message.tenant,
        "total_activities": 1,
        "total_actors": len(actors),
        "inserted_at": message.inserted_at,
        "updated_at": message.updated_at,
        "read_at": engaged.get("read"),
        "seen_at": engaged.get("seen"),
        "clicked_at": engaged.get("link_clicked"),
        "interacted_at": engaged.get("interacted"),
        "link_clicked_at": engaged.get("link_clicked"),
        "archived_at": engaged.get("archived"),
    }


# ---------------------------------------------------------------------------- runs


def run(row: RunRow, *, detail: bool = False) -> JSONDict:
    view: JSONDict = {
        "__typename": "WorkflowRecipientRun",
        "id": row.id,
        "workflow_run_id": row.workflow_run_id,
        "workflow": row.workflow,
        "status": row.status,
        "recipient": wire_ref(row.recipient),
        "actor": wire_ref(row.actor) if row.actor else None,
        "tenant": row.tenant,
        "error_count": 0,
        "trigger_source": {"type": "api", "cancellation_key": row.cancellation_key},
        "inserted_at": row.inserted_at,
        "updated_at": row.updated_at,
    }
    if detail:
        view["events"] = [
            {
                "__typename": "WorkflowRecipientRunEvent",
                "id": event.id,
                "event": event.type,
                "status": "ok",
                "attempt": 1,
                "step_ref": (event.data or {}).get("step_ref"),
                "step_type": (event.data or {}).get("step_type"),
                "data": event.data,
                "inserted_at": event.inserted_at,
            }
            for event in row.events
        ]
    return view
