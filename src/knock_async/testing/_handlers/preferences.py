"""Preference sets, the preference center, subscriptions and schedules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from knock_async._grants import Permission

from .. import _shapes as shapes
from .. import _views as views
from .._access import preference_set_tenant, recipient
from .._bulk import Row
from .._call import Call
from .._errors import field_error, not_found
from .._idempotency import Reply
from .._pagination import paginate
from .._records import JSONDict, Ref, ScheduleRow, ref_of
from .._routes import NO_CONTENT, handles, ok
from .._state import State, check_inline
from .common import recipient_ref

# ---------------------------------------------------------------------------- preference sets


def _owner(call: Call, *, must_exist: bool = True) -> Ref:
    ref = recipient_ref(call)
    if must_exist and call.backend.state.entity(ref) is None:
        raise not_found("user" if ref[0] is None else "object")
    return ref


@handles("users.list_preferences", "objects.list_preferences", access=recipient(Permission.PREFERENCES_READ))
def list_preferences(call: Call) -> Reply:
    sets = call.backend.state.preferences.get(_owner(call), {})
    return ok([views.preference_set(set_id, row) for set_id, row in sets.items()])


@handles(
    "users.get_preferences",
    "objects.get_preferences",
    access=recipient(Permission.PREFERENCES_READ, preference_set_tenant),
)
def get_preferences(call: Call) -> Reply:
    # Knock answers with an empty set when none was stored.
    set_id = call.path["id"]
    return ok(views.preference_set(set_id, call.backend.state.preferences.get(_owner(call), {}).get(set_id)))


@handles(
    "users.set_preferences",
    "objects.set_preferences",
    access=recipient(Permission.PREFERENCES_WRITE, preference_set_tenant),
)
def set_preferences(call: Call) -> Reply:
    body = call.json_body()
    shapes.preference_set(body)
    state, ref = call.backend.state, _created_owner(call)
    strategy = body.get("__persistence_strategy__", "replace")
    if strategy not in ("replace", "merge"):
        raise field_error("__persistence_strategy__", "must be merge or replace")
    row = state.set_preferences(ref, call.path["id"], body)
    return ok(views.preference_set(call.path["id"], row))


def _created_owner(call: Call) -> Ref:
    """Setting preferences creates the user or object when it does not exist yet."""
    state, ref = call.backend.state, _owner(call, must_exist=False)
    if state.entity(ref) is None:
        state.upsert(ref, {}, call.backend.now())
    return ref


@handles("users.unset_preferences", "objects.unset_preferences")
def delete_preferences(call: Call) -> Reply:
    call.backend.state.preferences.get(_owner(call), {}).pop(call.path["id"], None)
    return NO_CONTENT


# The per-part updates Knock deprecated: each changes one part of the set, or one entry of it.
_PARTS = {"channel_types", "categories", "workflows"}


@handles(
    "users.set_channel_types_preferences",
    "users.set_categories_preferences",
    "users.set_workflows_preferences",
    "objects.set_channel_types_preferences",
    "objects.set_categories_preferences",
    "objects.set_workflows_preferences",
    access=recipient(Permission.PREFERENCES_WRITE, preference_set_tenant),
)
def set_preference_part(call: Call) -> Reply:
    part = call.operation.path.rsplit("/", 1)[-1]
    return _updated_set(call, part, dict(call.json_body()))


@handles(
    "users.set_channel_type_preferences",
    "users.set_category_preferences",
    "users.set_workflow_preferences",
    "objects.set_channel_type_preferences",
    "objects.set_category_preferences",
    "objects.set_workflow_preferences",
    access=recipient(Permission.PREFERENCES_WRITE, preference_set_tenant),
)
def set_preference_entry(call: Call) -> Reply:
    part, placeholder = call.operation.path.rsplit("/", 2)[-2:]
    key = call.path[placeholder.strip("{}")]
    body = call.json_body()
    detail = {name: value for name, value in body.items() if name != "subscribed" and value is not None}
    if detail and part != "channel_types":  # a detailed setting: channel types, channels, conditions
        setting: Any = detail
    else:
        setting = call.field("subscribed", bool)
    return _updated_set(call, part, setting, key)


def _updated_set(call: Call, part: str, value: Any, key: str | None = None) -> Reply:
    if part not in _PARTS:
        raise RuntimeError(f"{call.operation.id} updates no preference part")
    # The part as it will be stored must be what a whole preference set may hold.
    shapes.preference_set({part: value if key is None else {key: value}})
    row = call.backend.state.set_preference_part(_created_owner(call), call.path["id"], part, value, key)
    return ok(views.preference_set(call.path["id"], row))


@handles("users.bulk.set_preferences")
def bulk_set_preferences(call: Call) -> Reply:
    user_ids = call.field("user_ids", list)
    preferences = call.field("preferences", dict)
    shapes.preference_set(preferences, "preferences")
    set_id = preferences.get("id") or "default"
    backend = call.backend

    def row(user_id: Any) -> Row:
        def apply() -> JSONDict | None:
            if not isinstance(user_id, str) or not user_id:
                return {"id": str(user_id), "collection": None}
            if backend.state.entity((None, user_id)) is None:
                backend.state.upsert((None, user_id), {}, backend.now())
            backend.state.set_preferences((None, user_id), set_id, preferences)
            return None

        return apply

    return ok(backend.bulk.start(call.operation.id, [row(user_id) for user_id in user_ids]).view())


@handles("users.preference_center.generate_signed_url")
def preference_center_url(call: Call) -> Reply:
    user_id = call.backend.state.require_user(call.path["user_id"]).id
    token = f"pct_{call.backend.engine.new_id().replace('-', '')}"
    return ok({"token": token, "url": f"https://preferences.knock.invalid/{user_id}?token={token}"})


@handles("users.preference_center.get_config")
def preference_center_config(call: Call) -> Reply:
    state = call.backend.state
    user = state.require_user(call.path["user_id"])
    rows = [
        {"name": workflow.name or workflow.key, "type": "workflow", "identifier": workflow.key}
        for workflow in state.workflows.values()
    ]
    return ok(
        {
            "account_name": "Knock test server",
            "branding": {
                "icon_url": None,
                "logo_url": None,
                "primary_color": None,
                "primary_color_contrast": None,
            },
            "config": {"title": "Notification preferences", "body": "Choose what we send you.", "rows": rows},
            "enabled": True,
            "user_email": user.properties.get("email"),
        }
    )


# ---------------------------------------------------------------------------- subscriptions


def _object(call: Call) -> Ref:
    ref = (call.path["collection"], call.path["object_id"])
    call.backend.state.require_object(*ref)
    return ref


@handles("objects.list_subscriptions")
def list_object_subscriptions(call: Call) -> Reply:
    state, ref = call.backend.state, _object(call)
    mode = call.text("mode") or "object"
    if mode == "object":  # the object's subscribers
        rows = list(state.subscriptions.get(ref, {}).values())
        wanted = {ref_of(value, "recipients[]") for value in call.references("recipients[]")}
        rows = [row for row in rows if not wanted or row.recipient in wanted]
    elif mode == "recipient":  # what the object itself is subscribed to
        rows = [row for subs in state.subscriptions.values() for row in subs.values() if row.recipient == ref]
        rows = _only_objects(rows, call.references("objects[]"))
    else:
        raise field_error("mode", "must be object or recipient")
    return _subscription_page(call, rows)


@handles("users.list_subscriptions")
def list_user_subscriptions(call: Call) -> Reply:
    state = call.backend.state
    ref = (None, state.require_user(call.path["user_id"]).id)
    rows = [row for subs in state.subscriptions.values() for row in subs.values() if row.recipient == ref]
    return _subscription_page(call, _only_objects(rows, call.references("objects[]")))


def _subscription_page(call: Call, rows: list[Any]) -> Reply:
    state = call.backend.state
    rows.sort(key=lambda row: row.seq, reverse=True)
    return ok(
        paginate(rows, call.query, position=lambda r: r.seq, render=lambda r: views.subscription(state, r))
    )


def _only_objects(rows: list[Any], objects: list[Any]) -> list[Any]:
    wanted = {ref_of(value, "objects[]") for value in objects}
    return [row for row in rows if not wanted or row.object in wanted]


@handles("objects.add_subscriptions")
def add_subscriptions(call: Call) -> Reply:
    state, now, ref = call.backend.state, call.backend.now(), _object(call)
    recipients = call.field("recipients", list)
    properties = call.field("properties", dict, required=False)
    for index, value in enumerate(recipients):  # validate all before identifying any
        check_inline(value, f"recipients[{index}]")
    rows = [state.subscribe(ref, state.inline_recipient(value, now), properties, now) for value in recipients]
    return ok([views.subscription(state, row) for row in rows])


@handles("objects.delete_subscriptions")
def delete_subscriptions(call: Call) -> Reply:
    state, ref = call.backend.state, _object(call)
    recipients = [ref_of(value, f"recipients[{i}]") for i, value in enumerate(call.field("recipients", list))]
    subscribers = state.subscriptions.get(ref, {})
    removed = [subscribers.pop(recipient) for recipient in recipients if recipient in subscribers]
    return ok([views.subscription(state, row) for row in removed])


@handles("objects.bulk.add_subscriptions")
def bulk_add_subscriptions(call: Call) -> Reply:
    backend, collection = call.backend, call.path["collection"]

    def row(entry: Any) -> Row:
        def apply() -> JSONDict | None:
            if not isinstance(entry, Mapping) or not isinstance(entry.get("id"), str) or not entry["id"]:
                return {"id": _entry_id(entry), "collection": collection}
            now = backend.now()
            ref = (collection, entry["id"])
            if backend.state.entity(ref) is None:
                backend.state.upsert(ref, {}, now)
            try:
                for value in entry.get("recipients") or []:
                    backend.state.subscribe(
                        ref, backend.state.inline_recipient(value, now), entry.get("properties"), now
                    )
            except Exception:  # an invalid recipient spoils its row, not the job
                return {"id": entry["id"], "collection": collection}
            return None

        return apply

    rows = [row(entry) for entry in call.field("subscriptions", list)]
    return ok(backend.bulk.start(call.operation.id, rows).view())


@handles("objects.bulk.delete_subscriptions")
def bulk_delete_subscriptions(call: Call) -> Reply:
    backend, collection = call.backend, call.path["collection"]

    def row(entry: Any) -> Row:
        def apply() -> JSONDict | None:
            if not isinstance(entry, Mapping) or not isinstance(entry.get("id"), str) or not entry["id"]:
                return {"id": _entry_id(entry), "collection": collection}
            subscribers = backend.state.subscriptions.get((collection, entry["id"]), {})
            try:
                for value in entry.get("recipients") or []:
                    subscribers.pop(ref_of(value), None)
            except Exception:
                return {"id": entry["id"], "collection": collection}
            return None

        return apply

    rows = [row(entry) for entry in call.field("subscriptions", list)]
    return ok(backend.bulk.start(call.operation.id, rows).view())


def _entry_id(entry: Any) -> str:
    ident = entry.get("id") if isinstance(entry, Mapping) else entry
    return ident if isinstance(ident, str) else ""


# ---------------------------------------------------------------------------- schedules


@handles("schedules.list", "users.list_schedules", "objects.list_schedules")
def list_schedules(call: Call) -> Reply:
    state = call.backend.state
    workflow, tenant = call.text("workflow"), call.text("tenant")
    if "user_id" in call.path or "collection" in call.path:
        wanted = {_owner(call, must_exist=False)}  # schedules may name recipients never identified
    else:
        if workflow is None:
            raise field_error("workflow", "is required", "required")
        wanted = {ref_of(value, "recipients[]") for value in call.references("recipients[]")}
    rows = [
        row
        for row in state.schedules.values()
        if (workflow is None or row.workflow == workflow)
        and (tenant is None or row.tenant == tenant)
        and (not wanted or row.recipient in wanted)
    ]
    rows.sort(key=lambda row: row.seq, reverse=True)
    return ok(paginate(rows, call.query, position=lambda r: r.seq, render=lambda r: views.schedule(state, r)))


def _schedule_fields(call: Call, body: Mapping[str, Any], state: State, now: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if "repeats" in body:
        repeats = shapes.repeat_rules(body["repeats"])
        fields["repeats"] = [{k: v for k, v in rule.items() if k != "__typename"} for rule in repeats]
    if body.get("data") is not None:
        shapes.mapping(body["data"], "data")
    for name in ("scheduled_at", "ending_at"):
        shapes.optional_time(body.get(name), name)
    for name in ("data", "scheduled_at", "ending_at"):
        if name in body:
            fields[name] = body[name]
    if "tenant" in body:
        fields["tenant"] = state.inline_tenant(body["tenant"], now)
    if "actor" in body:
        fields["actor"] = (
            state.inline_recipient(body["actor"], now, "actor") if body["actor"] is not None else None
        )
    return fields


def _new_schedule(
    call: Call, workflow: Any, recipient: Ref, fields: Mapping[str, Any], now: str
) -> ScheduleRow:
    state = call.backend.state
    row = ScheduleRow(
        state.next_seq(),
        call.backend.engine.new_id(),
        workflow,
        recipient,
        fields.get("actor"),
        fields.get("data"),
        list(fields.get("repeats") or []),
        fields.get("tenant"),
        fields.get("scheduled_at"),
        fields.get("ending_at"),
        now,
        now,
    )
    state.schedules[row.id] = row
    return row


@handles("schedules.create")
def create_schedules(call: Call) -> Reply:
    state, now = call.backend.state, call.backend.now()
    body = call.json_body()
    workflow = call.field("workflow", str)
    recipients = call.field("recipients", list)
    for index, value in enumerate(recipients):
        check_inline(value, f"recipients[{index}]")
    fields = _schedule_fields(call, body, state, now)
    rows = [
        _new_schedule(call, workflow, state.inline_recipient(value, now), fields, now) for value in recipients
    ]
    return ok([views.schedule(state, row) for row in rows])


@handles("schedules.update")
def update_schedules(call: Call) -> Reply:
    state, now = call.backend.state, call.backend.now()
    ids = shapes.text_list(call.field("schedule_ids", list), "schedule_ids")
    fields = _schedule_fields(call, call.json_body(), state, now)
    updated = []
    for schedule_id in dict.fromkeys(ids):
        row = state.schedules.get(schedule_id)
        if row is None:
            continue
        for name, value in fields.items():
            setattr(row, name, value)
        row.updated_at = now
        updated.append(views.schedule(state, row))
    return ok(updated)


@handles("schedules.delete")
def delete_schedules(call: Call) -> Reply:
    state = call.backend.state
    ids = shapes.text_list(call.field("schedule_ids", list), "schedule_ids")
    removed = [state.schedules.pop(i) for i in dict.fromkeys(ids) if i in state.schedules]
    return ok([views.schedule(state, row) for row in removed])


@handles("schedules.bulk.create")
def bulk_create_schedules(call: Call) -> Reply:
    backend = call.backend

    def row(index: int, entry: Any) -> Row:
        def apply() -> JSONDict | None:
            recipient = entry.get("recipient") if isinstance(entry, Mapping) else None
            workflow = entry.get("workflow") if isinstance(entry, Mapping) else None
            if not isinstance(workflow, str) or recipient is None:
                return {"id": f"schedules[{index}]", "collection": None}
            now = backend.now()
            try:
                fields = _schedule_fields(call, entry, backend.state, now)
                _new_schedule(call, workflow, backend.state.inline_recipient(recipient, now), fields, now)
            except Exception:  # an invalid recipient or rule spoils its row, not the job
                return {"id": f"schedules[{index}]", "collection": None}
            return None

        return apply

    rows = [row(i, entry) for i, entry in enumerate(call.field("schedules", list))]
    return ok(backend.bulk.start(call.operation.id, rows).view())
