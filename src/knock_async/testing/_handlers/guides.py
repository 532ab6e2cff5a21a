"""In-app guides: what a user is shown on a guide channel, and their engagement with it."""

from __future__ import annotations

from knock_async._grants import Permission

from .._access import recipient
from .._call import Call
from .._errors import field_error, not_found
from .._guides import ENGAGEMENTS, NO_MESSAGE, Guide, StepMessage
from .._idempotency import Reply
from .._records import JSONDict
from .._routes import handles, ok
from .._state import State

OK = {"status": "ok"}


@handles("users.guides.get_channel", access=recipient(Permission.USER_GUIDE_READ))
def get_guides(call: Call) -> Reply:
    state, user_id, wanted_type = call.backend.state, call.path["user_id"], call.text("type")
    guides = [
        guide
        for guide in state.guides.values()
        if guide.channel_id == call.path["channel_id"] and wanted_type in (None, guide.type)
    ]
    entries, ineligible = [], []
    for guide in guides:
        messages = state.guide_messages.get((user_id, guide.key), {})
        if not guide.active:
            ineligible.append(_ineligible(guide, "guide_not_active", "The guide is not active."))
        elif any(message.archived_at for message in messages.values()):
            ineligible.append(_ineligible(guide, "marked_as_archived", "The user archived this guide."))
        else:
            entries.append(_guide_view(guide, messages, call.backend.now()))
    groups = [_default_group([guide.key for guide in guides], call.backend.now())] if guides else []
    return ok(
        {
            "entries": entries,
            "guide_groups": groups,
            "guide_group_display_logs": {},
            "ineligible_guides": ineligible,
        }
    )


def _guide_view(guide: Guide, messages: dict[str, StepMessage], now: str) -> JSONDict:
    return {
        "__typename": "Guide",
        "id": guide.id,
        "key": guide.key,
        "type": guide.type,
        "channel_id": guide.channel_id,
        "active": guide.active,
        "bypass_global_group_limit": False,
        "semver": "1.0.0",
        "activation_url_patterns": [],
        "activation_url_rules": [],
        "steps": [
            {
                "ref": step.ref,
                "schema_key": step.schema_key,
                "schema_semver": "1.0.0",
                "schema_variant_key": "default",
                "content": dict(step.content),
                "message": messages[step.ref].view() if step.ref in messages else dict(NO_MESSAGE),
            }
            for step in guide.steps
        ],
        "inserted_at": now,
        "updated_at": now,
    }


def _default_group(keys: list[str], now: str) -> JSONDict:
    return {
        "__typename": "GuideGroup",
        "key": "default",
        "display_interval": 0,
        "display_sequence": keys,
        "inserted_at": now,
        "updated_at": now,
    }


def _ineligible(guide: Guide, reason: str, message: str) -> JSONDict:
    return {"key": guide.key, "reason": reason, "message": message}


def _declared_guide(state: State, key: str) -> Guide:
    guide = state.guides.get(key)
    if guide is None:
        raise not_found("guide")
    return guide


def _engagement(call: Call) -> str:
    """seen, interacted or archived: the last segment of the operation's path."""
    engagement = call.operation.path.rsplit("/", 1)[-1]
    if engagement not in ENGAGEMENTS:
        raise RuntimeError(f"{call.operation.id} records no guide engagement")
    return engagement


@handles(
    "users.guides.mark_message_as_seen",
    "users.guides.mark_message_as_interacted",
    "users.guides.mark_message_as_archived",
    access=recipient(Permission.USER_GUIDE_WRITE),
)
def mark_step(call: Call) -> Reply:
    """Record engagement with the step the body names, creating the step's message if new."""
    state, user_id = call.backend.state, call.path["user_id"]
    for name in ("channel_id", "guide_id"):
        call.field(name, str)
    guide = _declared_guide(state, call.field("guide_key", str))
    ref = call.field("guide_step_ref", str)
    if guide.step(ref) is None:
        raise field_error("guide_step_ref", f"is not a step of guide {guide.key!r}")
    messages = state.guide_messages.setdefault((user_id, guide.key), {})
    if ref not in messages:
        messages[ref] = StepMessage(call.backend.engine.new_id(), guide.key, ref)
    messages[ref].record(_engagement(call), call.backend.now())
    return ok(OK)


@handles(
    "users.guides.mark_message_as_seen_by_id",
    "users.guides.mark_message_as_interacted_by_id",
    "users.guides.mark_message_as_archived_by_id",
    access=recipient(Permission.USER_GUIDE_WRITE),
)
def mark_message(call: Call) -> Reply:
    """Record engagement with a step whose message already exists, named by its id."""
    state, user_id, message_id = call.backend.state, call.path["user_id"], call.path["message_id"]
    for name in ("channel_id", "guide_id", "guide_key", "guide_step_ref"):
        call.field(name, str)
    found = [
        message
        for (owner, _), messages in state.guide_messages.items()
        if owner == user_id
        for message in messages.values()
        if message.id == message_id
    ]
    if not found:
        raise not_found("guide message")
    found[0].record(_engagement(call), call.backend.now())
    return ok(OK)


@handles("users.guides.unarchive_guide_message", access=recipient(Permission.USER_GUIDE_WRITE))
def unarchive_guide(call: Call) -> Reply:
    state = call.backend.state
    guide = _declared_guide(state, call.field("guide_key", str))
    for message in state.guide_messages.get((call.path["user_id"], guide.key), {}).values():
        message.archived_at = None
    return ok(OK)


@handles("users.guides.reset_guide_engagements", access=recipient(Permission.USER_GUIDE_WRITE))
def reset_guide(call: Call) -> Reply:
    state = call.backend.state
    guide = _declared_guide(state, call.field("guide_key", str))
    state.guide_messages.pop((call.path["user_id"], guide.key), None)
    return ok(OK)
