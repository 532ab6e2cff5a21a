"""Access rules: what a user token must grant for each endpoint a publishable key may call.

Each handler declares its rule where it is registered (`@handles(..., access=...)`); the
request path runs it for a publishable key with a verified user token (enhanced security
mode), after the payload limits and before the handler. A secret key passes every rule, as on
Knock. A publishable operation without a rule answers 403: nothing is reachable by accident.
Knock documents no error code for a refusal; the test server answers 403
`user_token_forbidden`. What a token reaches is `TokenUser.reaches` (see `_caller`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from knock_async._grants import Permission

from ._call import Call
from ._caller import TokenUser
from ._errors import KnockHTTPError
from ._records import Ref

Access = Callable[[TokenUser, Call], None]
TenantOf = Callable[[Call], "str | None"]


def no_tenant(call: Call) -> str | None:
    return None


def feed_tenant(call: Call) -> str | None:
    """The tenant a feed request is for: its `tenant` query parameter."""
    return call.text("tenant")


def preference_set_tenant(call: Call) -> str | None:
    """The tenant a preference set belongs to: its id, unless it is the "default" set."""
    set_id = call.path.get("id")
    return None if set_id in (None, "default") else set_id


def recipient(permission: Permission, tenant: TenantOf = no_tenant) -> Access:
    """The user (`user_id`) or object (`collection`, `object_id`) the path names."""

    def check(user: TokenUser, call: Call) -> None:
        ref = _path_recipient(call)
        if not user.reaches(permission, ref, tenant(call)):
            raise forbidden(f"the token grants no {permission.value} on {_name(ref)}")

    return check


def messages(permission: Permission) -> Access:
    """The messages the path (`message_id`) or the body (`message_ids`) names."""

    def check(user: TokenUser, call: Call) -> None:
        named = [call.path["message_id"]] if "message_id" in call.path else call.field("message_ids", list)
        _check_messages(user, call, named, permission)

    return check


def provider_object(permission: Permission, param: str) -> Access:
    """The tenant or object a Slack or Teams call names in its JSON query parameter `param`."""

    def check(user: TokenUser, call: Call) -> None:
        ref = call.token_object(param)
        if not user.reaches(permission, ref):
            raise forbidden(f"the token grants no {permission.value} on {_name(ref)}")

    return check


def bulk_recipients(permission: Permission) -> Access:
    """A channel bulk update: every user its body names (`user_ids`, as Knock's client sends
    it, or `recipient_ids`) must be reachable; the handler then acts only on messages the
    token reaches (`Call.caller`)."""

    def check(user: TokenUser, call: Call) -> None:
        if not user.reaches(permission, (None, user.user_id)):
            raise forbidden(f"the token grants no {permission.value} on its own user")
        for name in ("user_ids", "recipient_ids"):
            for user_id in call.json_body().get(name) or []:
                if isinstance(user_id, str) and not user.reaches(permission, (None, user_id)):
                    raise forbidden(f"the token grants no {permission.value} on user {user_id!r}")

    return check


def _check_messages(user: TokenUser, call: Call, named: Iterable[Any], permission: Permission) -> None:
    for message_id in named:
        message = call.backend.state.messages.get(message_id) if isinstance(message_id, str) else None
        if message is not None and not user.reaches_message(permission, message):  # unknown: the handler's
            raise forbidden(f"the token grants no {permission.value} on message {message_id!r}")


def _path_recipient(call: Call) -> Ref:
    if "user_id" in call.path:
        return (None, call.path["user_id"])
    return (call.path["collection"], call.path["object_id"])


def _name(ref: Ref) -> str:
    collection, ident = ref
    return f"user {ident!r}" if collection is None else f"{collection}/{ident}"


def forbidden(reason: str) -> KnockHTTPError:
    return KnockHTTPError(403, "user_token_forbidden", f"Not allowed: {reason}", "authentication_error")


def no_rule(operation_id: str) -> KnockHTTPError:
    return forbidden(f"the test server has no user-token access rule for {operation_id}")
