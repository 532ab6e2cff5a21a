"""The records the in-memory state is made of, and how requests name recipients.

Records are plain attrs classes holding JSON-ready values; `_views` renders them in the
document's shapes. Every record gets a sequence number when created: it orders lists and is
what pagination cursors point at.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ._errors import field_error
from ._workflows import Channel, Workflow

# A recipient: (collection, id), with collection None for a user.
Ref = tuple["str | None", str]
JSONDict = dict[str, Any]


def ref_of(value: Any, field: str = "recipient") -> Ref:
    """The recipient a request names: a user id string, or {id, collection?}."""
    if isinstance(value, str) and value:
        return (None, value)
    if isinstance(value, Mapping):
        ident, collection = value.get("id"), value.get("collection")
        if isinstance(ident, str) and ident and (collection is None or isinstance(collection, str)):
            return (collection or None, ident)
    raise field_error(field, "must be a user id or an object with an id (and a collection for objects)")


def normalize_channel_data(data: Mapping[str, Any]) -> JSONDict:
    """Store push data as Knock does: both the token list and the device list, whichever was sent."""
    stored = dict(data)
    devices = [d for d in stored.get("devices") or [] if isinstance(d, Mapping)]
    sns = any("target_arn" in d for d in devices)
    for key, item in (("tokens", "token"), ("target_arns", "target_arn")):
        if key in stored and "devices" not in stored:
            stored["devices"] = [{item: value} for value in stored[key] or []]
        elif "devices" in stored and key not in stored and (sns == (key == "target_arns")):
            # An empty device list is a push (token) list: Knock answers with both lists.
            stored[key] = [d[item] for d in devices if item in d]
    return stored


def wire_ref(ref: Ref) -> str | JSONDict:
    """How messages and runs name a recipient: a user's id, or {id, collection}."""
    collection, ident = ref
    return ident if collection is None else {"id": ident, "collection": collection}


@attrs.define
class Entity:
    """A user, object or tenant: custom properties plus timestamps."""

    seq: int
    id: str
    collection: str | None
    properties: JSONDict
    created_at: str | None
    updated_at: str

    @property
    def ref(self) -> Ref:
        return (self.collection, self.id)


@attrs.define
class PreferenceRow:
    seq: int
    id: str
    content: JSONDict  # categories / channel_types / channels / workflows / commercial_subscribed


@attrs.define
class ChannelDataRow:
    seq: int
    channel_id: str
    data: JSONDict


@attrs.define
class SubscriptionRow:
    seq: int
    object: Ref
    recipient: Ref
    properties: JSONDict | None
    inserted_at: str
    updated_at: str


@attrs.define
class ScheduleRow:
    seq: int
    id: str
    workflow: str
    recipient: Ref
    actor: Ref | None
    data: JSONDict | None
    repeats: list[JSONDict]
    tenant: str | None
    scheduled_at: str | None
    ending_at: str | None
    inserted_at: str
    updated_at: str


@attrs.define
class MemberRow:
    seq: int
    user_id: str
    tenant: str | None
    added_at: str


@attrs.define
class EventRow:
    seq: int
    id: str
    type: str
    inserted_at: str
    data: JSONDict | None = None


@attrs.define
class MessageRow:
    seq: int
    id: str
    channel: Channel
    recipient: Ref
    actor: Ref | None
    workflow: Workflow
    step_ref: str
    workflow_run_id: str
    recipient_run_id: str
    activity_id: str
    tenant: str | None
    data: JSONDict | None
    text: str  # the rendered template
    status: str  # delivery status
    inserted_at: str
    updated_at: str
    engaged: dict[str, str] = attrs.field(factory=dict)  # engagement status -> when
    metadata: JSONDict | None = None
    events: list[EventRow] = attrs.field(factory=list)
    recipient_snapshot: JSONDict | None = None  # where it was delivered, as captured at send time


@attrs.define
class RunRow:
    seq: int
    id: str
    workflow_run_id: str
    workflow: str
    recipient: Ref
    actor: Ref | None
    tenant: str | None
    data: JSONDict | None
    cancellation_key: str | None
    status: str
    inserted_at: str
    updated_at: str
    events: list[EventRow] = attrs.field(factory=list)
