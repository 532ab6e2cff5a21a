"""The in-memory data of one Knock environment, and the rules that change it.

Mutations are synchronous, so one request's change is never interleaved with another's.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from . import _shapes as shapes
from ._errors import field_error, not_found
from ._guides import Guide, StepMessage
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
    normalize_channel_data,
    ref_of,
)
from ._workflows import Channel, Workflow

# Keys of identify/set bodies that are not properties: they feed other stores.
_INLINE_KEYS = ("channel_data", "preferences")


class State:
    """Everything the environment stores."""

    def __init__(self) -> None:
        self._seq = itertools.count(1)
        self.workflows: dict[str, Workflow] = {}
        self.channels: dict[str, Channel] = {}  # by id
        self.guides: dict[str, Guide] = {}  # by key
        self.audiences: dict[
            str, dict[tuple[str, str | None], MemberRow]
        ] = {}  # key -> (user, tenant) -> row
        # Called with (event type, message) after a message's event is recorded: the real-time
        # socket and webhook delivery listen here. A listener must not raise or block.
        self.message_listeners: list[Callable[[MessageRow, EventRow], None]] = []
        self.clear()

    def clear(self) -> None:
        """Forget all data; declared workflows, channels, guides and audiences (emptied) stay."""
        self.users: dict[str, Entity] = {}
        self.objects: dict[Ref, Entity] = {}
        self.tenants: dict[str, Entity] = {}
        self.preferences: dict[Ref, dict[str, PreferenceRow]] = {}
        self.channel_data: dict[Ref, dict[str, ChannelDataRow]] = {}
        self.subscriptions: dict[Ref, dict[Ref, SubscriptionRow]] = {}  # object -> recipient -> row
        self.schedules: dict[str, ScheduleRow] = {}
        self.messages: dict[str, MessageRow] = {}
        self.runs: dict[str, RunRow] = {}
        # (user id, guide key) -> step ref -> that user's message for the step
        self.guide_messages: dict[tuple[str, str], dict[str, StepMessage]] = {}
        for members in self.audiences.values():
            members.clear()

    def record_message_event(
        self, message: MessageRow, event_type: str, now: str, data: JSONDict | None = None
    ) -> None:
        """Append `event_type` (with its details, if any) to the message's events, then tell
        every listener."""
        event = EventRow(self.next_seq(), f"{message.id}-event-{self.next_seq()}", event_type, now, data)
        message.events.append(event)
        for listener in list(self.message_listeners):
            listener(message, event)

    def next_seq(self) -> int:
        return next(self._seq)

    # ---------------------------------------------------------------- declarations

    def channel(self, id_or_key: str) -> Channel | None:
        found = self.channels.get(id_or_key)
        return found or next((c for c in self.channels.values() if c.key == id_or_key), None)

    # ---------------------------------------------------------------- users, objects, tenants

    def entity(self, ref: Ref) -> Entity | None:
        collection, ident = ref
        return self.users.get(ident) if collection is None else self.objects.get(ref)

    def require_user(self, user_id: str) -> Entity:
        user = self.users.get(user_id)
        if user is None:
            raise not_found("user")
        return user

    def require_object(self, collection: str, object_id: str) -> Entity:
        found = self.objects.get((collection, object_id))
        if found is None:
            raise not_found("object")
        return found

    def upsert(self, ref: Ref, body: Mapping[str, Any], now: str, field: str = "") -> Entity:
        """Identify a user or set an object: merge properties, apply inline channel data/preferences."""
        shapes.recipient_properties(body, user=ref[0] is None, field=field)
        properties = {
            k: v for k, v in body.items() if k not in (*_INLINE_KEYS, "id", "collection", "__typename")
        }
        created_at = properties.pop("created_at", None)
        properties.pop("updated_at", None)
        entity = self.entity(ref)
        if entity is None:
            entity = Entity(self.next_seq(), ref[1], ref[0], {}, None, now)
            if ref[0] is None:
                self.users[ref[1]] = entity
            else:
                self.objects[ref] = entity
        entity.properties.update(properties)
        if created_at is not None:
            entity.created_at = created_at
        entity.updated_at = now
        self._apply_inline(ref, body)
        return entity

    def _apply_inline(self, ref: Ref, body: Mapping[str, Any]) -> None:
        channel_data = body.get("channel_data")
        if isinstance(channel_data, Mapping):
            for channel_id, entry in channel_data.items():
                # The document sends the data itself per channel; accept a {"data": ...} wrapper too.
                data = entry.get("data") if isinstance(entry, Mapping) and set(entry) == {"data"} else entry
                if isinstance(data, Mapping):
                    self.set_channel_data(ref, channel_id, normalize_channel_data(data))
        preferences = body.get("preferences")
        if isinstance(preferences, Mapping):
            for set_id, content in preferences.items():
                if isinstance(content, Mapping):
                    self.set_preferences(ref, set_id, content, default_strategy="merge")

    def inline_recipient(self, value: Any, now: str, field: str = "recipients") -> Ref:
        """A recipient of a request: a plain id is only named; a map is identified/set first."""
        ref = ref_of(value, field)
        if isinstance(value, Mapping):
            self.upsert(ref, value, now, field)  # checks the properties before storing any
        return ref

    def set_tenant(self, tenant_id: str, body: Mapping[str, Any], now: str, field: str = "") -> Entity:
        shapes.tenant(body, field)
        tenant = self.tenants.get(tenant_id)
        if tenant is None:
            tenant = self.tenants[tenant_id] = Entity(self.next_seq(), tenant_id, None, {}, now, now)
        ignored = (*_INLINE_KEYS, "id", "__typename", "created_at", "updated_at")  # Knock keeps the times
        properties = {k: v for k, v in body.items() if k not in ignored}
        settings = properties.pop("settings", None)
        tenant.properties.update(properties)
        if isinstance(settings, Mapping):
            merged = dict(tenant.properties.get("settings") or {})
            merged.update(settings)
            if isinstance(settings.get("preference_set"), Mapping):
                # Stored as the PreferenceSet responses show: the tenant's default set, with its id.
                content = _preference_content(settings["preference_set"])
                merged["preference_set"] = {**content, "__typename": "PreferenceSet", "id": "default"}
            tenant.properties["settings"] = merged
        elif "settings" in body:
            tenant.properties["settings"] = None
        tenant.updated_at = now
        return tenant

    def inline_tenant(self, value: Any, now: str) -> str | None:
        if value is None:
            return None
        if isinstance(value, str) and value:
            return value
        if isinstance(value, Mapping) and isinstance(value.get("id"), str) and value["id"]:
            return self.set_tenant(value["id"], value, now, "tenant").id
        raise field_error("tenant", "must be a tenant id or a tenant with an id")

    def delete_recipient(self, ref: Ref) -> None:
        """Remove a user or object and what hangs off it (preferences, channel data, subscriptions)."""
        if self.entity(ref) is None:
            raise not_found("user" if ref[0] is None else "object")
        if ref[0] is None:
            del self.users[ref[1]]
            for members in self.audiences.values():
                for slot in [slot for slot in members if slot[0] == ref[1]]:
                    del members[slot]
        else:
            del self.objects[ref]
            self.subscriptions.pop(ref, None)
        self.preferences.pop(ref, None)
        self.channel_data.pop(ref, None)
        for subscribers in self.subscriptions.values():
            subscribers.pop(ref, None)

    def merge_users(self, target_id: str, source_id: str, now: str) -> Entity:
        """Fold the source user into the target (the target's values win), then drop the source."""
        target = self.require_user(target_id)
        source = self.users.get(source_id)
        if source is None:
            raise field_error("from_user_id", "names no existing user")
        if source_id == target_id:
            raise field_error("from_user_id", "must differ from the user merged into")
        target.properties = {**source.properties, **target.properties}
        target.created_at = target.created_at or source.created_at
        target.updated_at = now
        src: Ref = (None, source_id)
        dst: Ref = (None, target_id)
        # The target's own preference sets and channel data win over the source's.
        self.preferences[dst] = {**self.preferences.pop(src, {}), **self.preferences.get(dst, {})}
        self.channel_data[dst] = {**self.channel_data.pop(src, {}), **self.channel_data.get(dst, {})}
        for subscribers in self.subscriptions.values():
            subscription = subscribers.pop(src, None)
            if subscription is not None and dst not in subscribers:
                subscription.recipient = dst
                subscribers[dst] = subscription
        for members in self.audiences.values():
            for slot in [slot for slot in members if slot[0] == source_id]:
                member = members.pop(slot)
                members.setdefault((target_id, slot[1]), member)
        for message in self.messages.values():
            if message.recipient == src:
                message.recipient = dst
        del self.users[source_id]
        return target

    # ---------------------------------------------------------------- preferences, channel data

    def set_preferences(
        self, ref: Ref, set_id: str, body: Mapping[str, Any], *, default_strategy: str = "replace"
    ) -> PreferenceRow:
        """Replace a preference set (Knock's default), or merge into it when asked to."""
        strategy = body.get("__persistence_strategy__", default_strategy)
        content = _preference_content(body)
        row = self._preference_row(ref, set_id)
        if strategy == "merge":
            for key, value in content.items():
                old = row.content.get(key)
                row.content[key] = (
                    {**old, **value} if isinstance(old, dict) and isinstance(value, dict) else value
                )
        else:
            row.content = dict(content)
        return row

    def set_preference_part(
        self, ref: Ref, set_id: str, part: str, value: Any, key: str | None = None
    ) -> PreferenceRow:
        """Replace one part of a preference set (`channel_types`, ...), or one entry of it; keep the rest."""
        row = self._preference_row(ref, set_id)
        row.content[part] = value if key is None else {**(row.content.get(part) or {}), key: value}
        return row

    def _preference_row(self, ref: Ref, set_id: str) -> PreferenceRow:
        sets = self.preferences.setdefault(ref, {})
        if set_id not in sets:
            sets[set_id] = PreferenceRow(self.next_seq(), set_id, {})
        return sets[set_id]

    def set_channel_data(self, ref: Ref, channel_id: str, data: JSONDict) -> ChannelDataRow:
        rows = self.channel_data.setdefault(ref, {})
        row = rows.get(channel_id)
        if row is None:
            row = rows[channel_id] = ChannelDataRow(self.next_seq(), channel_id, data)
        else:
            row.data = data
        return row

    def opted_out(self, ref: Ref, workflow: Workflow, channel_type: str, tenant: str | None) -> bool:
        """Whether the recipient's preferences turn this workflow step off (boolean settings only)."""
        sets = self.preferences.get(ref, {})
        chosen = (tenant and sets.get(tenant)) or sets.get("default")
        if chosen is None:
            return False
        content = chosen.content
        for setting in _settings_for(content, workflow):
            if setting is False:
                return True
            if (
                isinstance(setting, Mapping)
                and (setting.get("channel_types") or {}).get(channel_type) is False
            ):
                return True
        return (content.get("channel_types") or {}).get(channel_type) is False

    # ---------------------------------------------------------------- subscriptions, audiences

    def subscribe(self, obj: Ref, recipient: Ref, properties: JSONDict | None, now: str) -> SubscriptionRow:
        subscribers = self.subscriptions.setdefault(obj, {})
        row = subscribers.get(recipient)
        if row is None:
            row = subscribers[recipient] = SubscriptionRow(
                self.next_seq(), obj, recipient, properties, now, now
            )
        else:
            row.properties = properties if properties is not None else row.properties
            row.updated_at = now
        return row

    def subscribers(self, obj: Ref) -> Iterable[Ref]:
        return list(self.subscriptions.get(obj, {}))


def _preference_content(body: Mapping[str, Any]) -> JSONDict:
    """A preference set's settings, without the request's own keys."""
    return {k: v for k, v in body.items() if k not in ("__persistence_strategy__", "id", "__typename")}


def check_inline(value: Any, field: str) -> Ref:
    """The recipient a request names, its inline properties checked: to validate before acting."""
    ref = ref_of(value, field)
    if isinstance(value, Mapping):
        shapes.recipient_properties(value, user=ref[0] is None, field=field)
    return ref


def _settings_for(content: Mapping[str, Any], workflow: Workflow) -> Iterable[Any]:
    workflows = content.get("workflows") or {}
    yield workflows.get(workflow.key)
    categories = content.get("categories") or {}
    for category in workflow.categories:
        yield categories.get(category)
