"""Enhanced security mode: publishable keys need a signed user token, and reach only its user.

Imported only when a server runs with `enhanced_security=True`, since it needs the
`knock-async[tokens]` extra (PyJWT with cryptography). Tokens are the ones
`knock_async.tokens.sign_user_token` makes (see there for the format and its sources). With
a publishable (pk_) key:

- no `X-Knock-User-Token`: 401 `missing_user_token`; a token that is malformed, not RS256,
  signed with another key, expired, or without a `sub`: 401 `invalid_user_token`;
- the token reaches its own user (a `user_id` in the path equal to `sub`) and that user's
  messages; another user's feed only with a `user/feed_read` grant on that user; a tenant's
  or object's Slack or Teams connection only with `slack/channels_read` or
  `ms_teams/channels_read` on it; an object's channel data only with `channel_data/read`
  (GET) or `channel_data/write` on it. Anything else is 403 (Knock documents no code for
  this case; the test server answers `user_token_forbidden`);
- rate limits and Idempotency-Key replay are kept per signing user.

A secret (sk_) key needs no token, as on Knock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from knock_async.tokens import Permission, load_signing_key, resource_uri

from ._errors import KnockHTTPError
from ._handlers.channels import token_object_ref
from ._records import Ref
from ._routes import Call

USER_TOKEN_HEADER = "X-Knock-User-Token"
_FEED_READS = frozenset({"users.feeds.list_items", "users.feeds.get_settings"})
_PROVIDER_OBJECT = {  # operationId prefix -> (query parameter naming the object, permission)
    "providers.slack.": ("access_token_object", Permission.SLACK_CHANNELS_READ),
    "providers.ms_teams.": ("ms_teams_tenant_object", Permission.MS_TEAMS_CHANNELS_READ),
}


@attrs.frozen
class TokenUser:
    """Who a verified token speaks for, and what its grants allow beyond that user."""

    user_id: str
    grants: Mapping[str, frozenset[str]]  # resource URI -> permission values

    def may(self, permission: Permission, resource: str) -> bool:
        return permission.value in self.grants.get(resource, frozenset())


class EnhancedSecurity:
    """Verifies user tokens against the environment's signing key and checks what they reach."""

    def __init__(self, signing_key: str | None = None) -> None:
        if signing_key is None:
            self._private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            self._private_key = load_signing_key(signing_key)  # as the signing side reads it
        self._public_key = self._private_key.public_key()

    def __repr__(self) -> str:
        return "EnhancedSecurity(signing_key=<hidden>)"

    @property
    def signing_key(self) -> str:
        """The private signing key as a PEM, for the app under test to sign tokens with."""
        return self._private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    def verify(self, token: str | None) -> TokenUser:
        """The user a request's token speaks for; 401 when it has none or a bad one."""
        if not token:
            raise missing_user_token()
        try:
            claims = jwt.decode(
                token, self._public_key, algorithms=["RS256"], options={"require": ["sub", "exp"]}
            )
        except jwt.PyJWTError as error:
            # The library's text names the failed check, never the token; keep no chain anyway.
            raise invalid_user_token(f"{type(error).__name__}: {error}") from None
        return TokenUser(_subject(claims.get("sub")), _grants(claims.get("grants")))

    def check_access(self, user: TokenUser, call: Call) -> None:
        """403 unless the token's user (or its grants) may reach what the request names."""
        operation_id, path = call.operation.id, call.path
        if "user_id" in path:
            self._check_user(user, path["user_id"], operation_id)
        elif "message_id" in path:
            _check_own_messages(user, call, [path["message_id"]])
        elif operation_id.startswith("messages.batch."):
            _check_own_messages(user, call, call.field("message_ids", list))
        elif "object_id" in path and "channel_data" in operation_id:
            write = call.operation.method != "GET"
            permission = Permission.CHANNEL_DATA_WRITE if write else Permission.CHANNEL_DATA_READ
            _check_grant(user, permission, (path["collection"], path["object_id"]))
        else:
            self._check_provider(user, call)

    def _check_user(self, user: TokenUser, user_id: str, operation_id: str) -> None:
        if user_id == user.user_id:
            return
        if operation_id in _FEED_READS and user.may(Permission.USER_FEED_READ, resource_uri(user_id)):
            return
        raise forbidden(f"user {user.user_id!r} may not reach user {user_id!r}'s resources")

    def _check_provider(self, user: TokenUser, call: Call) -> None:
        for prefix, (param, permission) in _PROVIDER_OBJECT.items():
            if call.operation.id.startswith(prefix):
                _check_grant(user, permission, token_object_ref(call, param))
                return
        raise forbidden(f"the test server has no user-token access rule for {call.operation.id}")


def _check_grant(user: TokenUser, permission: Permission, ref: Ref) -> None:
    collection, object_id = ref
    if not user.may(permission, resource_uri(object_id, collection)):
        raise forbidden(f"the token grants no {permission.value} on {collection}/{object_id}")


def _check_own_messages(user: TokenUser, call: Call, message_ids: Iterable[Any]) -> None:
    own: Ref = (None, user.user_id)
    for message_id in message_ids:
        message = call.backend.state.messages.get(message_id) if isinstance(message_id, str) else None
        if message is not None and message.recipient != own:  # unknown ids: the handler's answer
            raise forbidden(f"message {message_id!r} belongs to another recipient")


def _subject(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise invalid_user_token("the sub claim must be the user id")
    return value


def _grants(value: Any) -> Mapping[str, frozenset[str]]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(p, Mapping) for p in value.values()):
        raise invalid_user_token("the grants claim must map resource URIs to permissions")
    return {str(resource): frozenset(map(str, permissions)) for resource, permissions in value.items()}


def missing_user_token() -> KnockHTTPError:
    return KnockHTTPError(
        401,
        "missing_user_token",
        f"This environment requires a {USER_TOKEN_HEADER} header with a publishable API key",
        "authentication_error",
    )


def invalid_user_token(reason: str) -> KnockHTTPError:
    return KnockHTTPError(
        401, "invalid_user_token", f"The user token is not valid ({reason})", "authentication_error"
    )


def forbidden(reason: str) -> KnockHTTPError:
    return KnockHTTPError(403, "user_token_forbidden", f"Not allowed: {reason}", "authentication_error")
