"""Users, objects, tenants, audiences and bulk operations."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from knock_async._grants import Permission

from .. import _shapes as shapes
from .. import _views as views
from .._access import recipient
from .._bulk import Row
from .._call import Call
from .._errors import field_error, not_found
from .._idempotency import Reply
from .._pagination import paginate
from .._records import Entity, JSONDict, MemberRow, Ref
from .._routes import NO_CONTENT, handles, ok
from .common import message_filter, newest_first


def _with_preferences(call: Call, entity: Entity, render: Callable[[Entity], JSONDict]) -> JSONDict:
    view = render(entity)
    if "preferences" in call.texts("include[]"):
        sets = call.backend.state.preferences.get(entity.ref, {})
        view["preferences"] = {set_id: views.preference_set(set_id, row) for set_id, row in sets.items()}
    return view


def _recipient_messages(call: Call, ref: Ref) -> Reply:
    keep = message_filter(call)
    found = [m for m in call.backend.state.messages.values() if m.recipient == ref and keep(m)]
    return ok(
        paginate(newest_first(found), call.query, position=lambda m: m.seq, render=views.message, key="items")
    )


# ---------------------------------------------------------------------------- users


@handles("users.list")
def list_users(call: Call) -> Reply:
    users = list(call.backend.state.users.values())
    render = lambda u: _with_preferences(call, u, views.user)  # noqa: E731
    return ok(paginate(users, call.query, position=lambda u: u.seq, render=render))


@handles("users.get", access=recipient(Permission.USER_READ))
def get_user(call: Call) -> Reply:
    return ok(views.user(call.backend.state.require_user(call.path["user_id"])))


@handles("users.update", access=recipient(Permission.USER_WRITE))
def identify_user(call: Call) -> Reply:
    entity = call.backend.state.upsert((None, call.path["user_id"]), call.json_body(), call.backend.now())
    return ok(views.user(entity))


@handles("users.delete")
def delete_user(call: Call) -> Reply:
    call.backend.state.delete_recipient((None, call.path["user_id"]))
    return NO_CONTENT


@handles("users.list_messages")
def list_user_messages(call: Call) -> Reply:
    # Not a 404 for an unknown user: a workflow may have messaged an id never identified.
    return _recipient_messages(call, (None, call.path["user_id"]))


@handles("users.merge")
def merge_users(call: Call) -> Reply:
    source = call.field("from_user_id", str)
    return ok(views.user(call.backend.state.merge_users(call.path["user_id"], source, call.backend.now())))


@handles("users.bulk.identify")
def bulk_identify_users(call: Call) -> Reply:
    backend = call.backend

    def row(index: int, entry: Any) -> Row:
        def apply() -> JSONDict | None:
            if not isinstance(entry, Mapping) or not isinstance(entry.get("id"), str) or not entry["id"]:
                return {"id": _entry_id(entry, f"users[{index}]"), "collection": None}
            backend.state.upsert((None, entry["id"]), entry, backend.now())
            return None

        return apply

    entries = call.field("users", list)
    return _bulk(call, [row(i, entry) for i, entry in enumerate(entries)])


@handles("users.bulk.delete")
def bulk_delete_users(call: Call) -> Reply:
    state = call.backend.state
    return _bulk(
        call,
        [_delete_row(state.users, (None, uid), state.delete_recipient) for uid in _ids(call, "user_ids")],
    )


# ---------------------------------------------------------------------------- objects


@handles("objects.list")
def list_objects(call: Call) -> Reply:
    collection = call.path["collection"]
    found = [o for (c, _), o in call.backend.state.objects.items() if c == collection]
    render = lambda o: _with_preferences(call, o, views.obj)  # noqa: E731
    return ok(paginate(found, call.query, position=lambda o: o.seq, render=render))


@handles("objects.get")
def get_object(call: Call) -> Reply:
    return ok(views.obj(call.backend.state.require_object(call.path["collection"], call.path["id"])))


@handles("objects.set")
def set_object(call: Call) -> Reply:
    ref = (call.path["collection"], call.path["id"])
    return ok(views.obj(call.backend.state.upsert(ref, call.json_body(), call.backend.now())))


@handles("objects.delete")
def delete_object(call: Call) -> Reply:
    call.backend.state.delete_recipient((call.path["collection"], call.path["id"]))
    return NO_CONTENT


@handles("objects.list_messages")
def list_object_messages(call: Call) -> Reply:
    # Like a user's, an object's messages are listed even if it was only ever named by id.
    return _recipient_messages(call, (call.path["collection"], call.path["id"]))


@handles("objects.bulk.set")
def bulk_set_objects(call: Call) -> Reply:
    backend, collection = call.backend, call.path["collection"]

    def row(index: int, entry: Any) -> Row:
        def apply() -> JSONDict | None:
            if not isinstance(entry, Mapping) or not isinstance(entry.get("id"), str) or not entry["id"]:
                return {"id": _entry_id(entry, f"objects[{index}]"), "collection": collection}
            backend.state.upsert((collection, entry["id"]), entry, backend.now())
            return None

        return apply

    return _bulk(call, [row(i, entry) for i, entry in enumerate(call.field("objects", list))])


@handles("objects.bulk.delete")
def bulk_delete_objects(call: Call) -> Reply:
    state, collection = call.backend.state, call.path["collection"]
    rows = [
        _delete_row(state.objects, (collection, oid), state.delete_recipient)
        for oid in _ids(call, "object_ids")
    ]
    return _bulk(call, rows)


# ---------------------------------------------------------------------------- tenants


@handles("tenants.list")
def list_tenants(call: Call) -> Reply:
    name, tenant_id = call.text("name"), call.text("tenant_id")
    found = [
        t
        for t in call.backend.state.tenants.values()
        if (name is None or t.properties.get("name") == name) and (tenant_id is None or t.id == tenant_id)
    ]
    return ok(paginate(found, call.query, position=lambda t: t.seq, render=views.tenant))


@handles("tenants.get")
def get_tenant(call: Call) -> Reply:
    found = call.backend.state.tenants.get(call.path["id"])
    if found is None:
        raise not_found("tenant")
    return ok(views.tenant(found))


@handles("tenants.set")
def set_tenant(call: Call) -> Reply:
    return ok(
        views.tenant(call.backend.state.set_tenant(call.path["id"], call.json_body(), call.backend.now()))
    )


@handles("tenants.delete")
def delete_tenant(call: Call) -> Reply:
    if call.backend.state.tenants.pop(call.path["id"], None) is None:
        raise not_found("tenant")
    return NO_CONTENT


@handles("tenants.bulk.set")
def bulk_set_tenants(call: Call) -> Reply:
    backend = call.backend

    def row(index: int, entry: Any) -> Row:
        def apply() -> JSONDict | None:
            if isinstance(entry, str) and entry:
                backend.state.set_tenant(entry, {}, backend.now())
            elif isinstance(entry, Mapping) and isinstance(entry.get("id"), str) and entry["id"]:
                backend.state.set_tenant(entry["id"], entry, backend.now())
            else:
                return {"id": _entry_id(entry, f"tenants[{index}]"), "collection": None}
            return None

        return apply

    return _bulk(call, [row(i, entry) for i, entry in enumerate(call.field("tenants", list))])


@handles("tenants.bulk.delete")
def bulk_delete_tenants(call: Call) -> Reply:
    tenants = call.backend.state.tenants

    def row(tenant_id: str) -> Row:
        def apply() -> JSONDict | None:
            return None if tenants.pop(tenant_id, None) is not None else {"id": tenant_id, "collection": None}

        return apply

    tenant_ids = call.texts("tenant_ids[]")
    if not tenant_ids:
        raise field_error("tenant_ids[]", "is required", "required")
    return _bulk(call, [row(tenant_id) for tenant_id in tenant_ids])


# ---------------------------------------------------------------------------- bulk operations


@handles("bulk_operations.get")
def get_bulk_operation(call: Call) -> Reply:
    operation = call.backend.bulk.operations.get(call.path["id"])
    if operation is None:
        raise not_found("bulk operation")
    call.backend.bulk.polled(operation)
    return ok(operation.view())


def _bulk(call: Call, rows: list[Row]) -> Reply:
    return ok(call.backend.bulk.start(call.operation.id, rows).view())


def _ids(call: Call, field: str) -> list[str]:
    return shapes.text_list(call.field(field, list), field)


def _entry_id(entry: Any, fallback: str) -> str:
    """An invalid bulk row's id for `error_items`: its own id if it has one, else its position."""
    ident = entry.get("id") if isinstance(entry, Mapping) else entry
    return ident if isinstance(ident, str) and ident else fallback


def _delete_row(store: Mapping[Any, Entity], ref: Ref, delete: Callable[[Ref], None]) -> Row:
    def apply() -> JSONDict | None:
        key: Any = ref[1] if ref[0] is None else ref
        if not isinstance(ref[1], str) or key not in store:
            return {"id": str(ref[1]), "collection": ref[0]}
        delete(ref)
        return None

    return apply


# ---------------------------------------------------------------------------- audiences


def _audience(call: Call, *, create: bool = False) -> dict[tuple[str, str | None], MemberRow]:
    audiences = call.backend.state.audiences
    key = call.path["key"]
    if key not in audiences:
        if not create:
            raise not_found("audience")
        audiences[key] = {}
    return audiences[key]


def _members(call: Call) -> list[tuple[Any, str | None]]:
    members = call.field("members", list)
    parsed = []
    for index, member in enumerate(members):
        user = member.get("user") if isinstance(member, Mapping) else None
        if not isinstance(user, Mapping) or not isinstance(user.get("id"), str) or not user["id"]:
            raise field_error(f"members[{index}].user", "must be a user with an id")
        tenant = member.get("tenant")
        parsed.append((user, tenant if isinstance(tenant, str) else None))
    return parsed


@handles("audiences.list_members")
def list_audience_members(call: Call) -> Reply:
    state = call.backend.state
    rows = list(_audience(call).values())
    return ok(
        paginate(rows, call.query, position=lambda r: r.seq, render=lambda r: views.audience_member(state, r))
    )


@handles("audiences.add_members")
def add_audience_members(call: Call) -> Reply:
    audience = _audience(call, create=bool(call.flag("create_audience")))
    state, now = call.backend.state, call.backend.now()
    for user, tenant in _members(call):
        state.upsert((None, user["id"]), user, now)
        audience.setdefault((user["id"], tenant), MemberRow(state.next_seq(), user["id"], tenant, now))
    return NO_CONTENT


@handles("audiences.remove_members")
def remove_audience_members(call: Call) -> Reply:
    audience = _audience(call)
    for user, tenant in _members(call):
        audience.pop((user["id"], tenant), None)
    return NO_CONTENT
