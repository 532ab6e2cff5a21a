"""Signed user tokens for Knock's enhanced security mode: `pip install 'knock-async[tokens]'`.

With enhanced security on, a browser calls Knock with the publishable (pk_) key plus an
`X-Knock-User-Token` header: a JWT your backend signs for the signed-in user. Knock lets it
reach that user's own feed, messages and preferences, plus the tenants and objects its grants
name, and scopes rate limits by the signing user.

    from knock_async.tokens import Grant, Permission, sign_user_token

    token = sign_user_token(
        "user-1",  # signing key from KNOCK_SIGNING_KEY
        grants=[Grant.for_tenant("acme", Permission.SLACK_CHANNELS_READ)],
    )

The format follows Knock's docs ("Security and authentication: authentication with enhanced
security enabled", and SlackKit's "Resource access grants using JWT") and the official Node
SDK (knocklabs/knock-node, src/lib/tokenSigner.ts and userTokens.ts):

- header `{"alg": "RS256", "typ": "JWT"}`, signed with the environment's RSA signing key;
- claims `sub` (the user id), `iat` and `exp` (NumericDate seconds; one hour by default),
  `grants` only when grants are given, `explicit_grants: true` only when asked (the token
  then denies what is not granted), and `jti` only when asked (the Node SDK's option);
- `grants` maps a resource URI to its permissions, each permission to a list (empty, as the
  Node SDK sends it): `{"https://api.knock.app/v1/objects/$tenants/acme":
  {"slack/channels_read": []}}`. Resource URIs are `https://api.knock.app/v1/users/{id}`,
  `.../v1/objects/{collection}/{id}`, and for a tenant either `.../v1/objects/$tenants/{id}`
  (the Node SDK) or `.../v1/tenants/{id}` (Knock's docs on tenant-scoped tokens);
- the permissions are the twelve of `Permission` (Knock's "Security and authentication"
  table and the Node SDK's `Grants`);
- the signing key is a PEM, or that PEM base64-encoded, which is how Knock's dashboard
  hands it out.

PyJWT (with `cryptography`) signs: the most widely used JWT library for Python, typed, and
`cryptography` is what parses and checks the key.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
import time
import uuid
from collections.abc import Iterable
from typing import Any

import attrs

from ._grants import (
    RESOURCE_BASE,
    TENANTS_COLLECTION,
    Permission,
    TenantForm,
    object_uri,
    tenant_uri,
    user_uri,
)

try:
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
except ImportError as error:  # the same hint the redis and progress extras give
    raise ImportError(
        f"signed user tokens need PyJWT and cryptography: pip install 'knock-async[tokens]' ({error})"
    ) from error

__all__ = [
    "RESOURCE_BASE",
    "TENANTS_COLLECTION",
    "Grant",
    "Permission",
    "SigningKeyError",
    "TenantForm",
    "grants_claim",
    "load_signing_key",
    "resource_uri",
    "sign_user_token",
]

SIGNING_KEY_ENV = "KNOCK_SIGNING_KEY"
DEFAULT_EXPIRES_IN = 3600  # seconds, as Knock's SDKs default
_PEM_START = "-----BEGIN"


def resource_uri(object_id: str, collection: str | None = None) -> str:
    """The URI a grant names: a user (no collection), a tenant ("$tenants") or an object."""
    return user_uri(object_id) if collection is None else object_uri(collection, object_id)


def _permissions(values: Iterable[Permission | str]) -> frozenset[Permission]:
    permissions = frozenset(Permission(value) for value in values)  # ValueError names an unknown one
    if not permissions:
        raise ValueError("a grant needs at least one permission")
    return permissions


def _identifier(value: str, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string")
    return value


@attrs.frozen
class Grant:
    """Permissions on one resource; build one with `for_user`, `for_tenant` or `for_object`."""

    resource: str
    permissions: frozenset[Permission] = attrs.field(converter=_permissions)

    @classmethod
    def for_user(cls, user_id: str, *permissions: Permission) -> Grant:
        """E.g. `Grant.for_user("team-lead", Permission.USER_FEED_READ)`: read another user's feed."""
        return cls(resource_uri(_identifier(user_id, "user_id")), permissions)

    @classmethod
    def for_tenant(cls, tenant_id: str, *permissions: Permission, form: TenantForm = "objects") -> Grant:
        """E.g. `Grant.for_tenant("acme", Permission.SLACK_CHANNELS_READ)`: list Acme's Slack channels.

        `form` picks the tenant's URI: "objects" (`/v1/objects/$tenants/acme`, as the Node SDK
        writes it) or "tenants" (`/v1/tenants/acme`, as Knock's docs scope feeds and
        preferences to a tenant). Knock reads both.
        """
        return cls(tenant_uri(_identifier(tenant_id, "tenant_id"), form), permissions)

    @classmethod
    def for_object(cls, collection: str, object_id: str, *permissions: Permission) -> Grant:
        """E.g. `Grant.for_object("projects", "p1", Permission.CHANNEL_DATA_WRITE)`."""
        return cls(
            resource_uri(_identifier(object_id, "object_id"), _identifier(collection, "collection")),
            permissions,
        )


class SigningKeyError(ValueError):
    """The signing key is missing or is not an RSA private key. The message never shows the key."""


def sign_user_token(
    user_id: str,
    *,
    signing_key: str | None = None,
    expires_in: int = DEFAULT_EXPIRES_IN,
    grants: Iterable[Grant] | None = None,
    explicit_grants: bool = False,
    jti: bool | str = False,
) -> str:
    """A user token (RS256 JWT) for `user_id`, valid for `expires_in` seconds.

    `explicit_grants=True` makes the token deny whatever its `grants` do not grant, the user's
    own resources included (without it the token reaches all of its user's own resources).
    `jti=True` adds a random JWT ID (as the Node SDK's `shouldGenerateJti`); a string is used
    as the ID.

    `signing_key` is the environment's signing key as a PEM or base64-encoded PEM; it defaults
    to the KNOCK_SIGNING_KEY environment variable. Raises `SigningKeyError` for a missing or
    unusable key and `ValueError` for a bad argument, before signing anything.
    """
    _identifier(user_id, "user_id")
    if isinstance(expires_in, bool) or not isinstance(expires_in, int) or expires_in <= 0:
        raise ValueError("expires_in must be a positive number of seconds (an int)")
    claims: dict[str, Any] = {"sub": user_id}
    if grants is not None:
        claims["grants"] = grants_claim(grants)
    if not isinstance(explicit_grants, bool):
        raise ValueError("explicit_grants must be True or False")
    if explicit_grants:
        claims["explicit_grants"] = True
    if jti is not False:
        claims["jti"] = _jti(jti)
    key = load_signing_key(signing_key if signing_key is not None else os.environ.get(SIGNING_KEY_ENV, ""))
    issued_at = int(time.time())
    claims.update(iat=issued_at, exp=issued_at + expires_in)
    return jwt.encode(claims, key, algorithm="RS256", headers={"typ": "JWT"})


def _jti(value: bool | str) -> str:
    if value is True:
        return str(uuid.uuid4())
    if isinstance(value, str) and value:
        return value
    raise ValueError("jti must be True (a random ID), False, or a non-empty string")


def grants_claim(grants: Iterable[Grant]) -> dict[str, dict[str, list[Any]]]:
    """The `grants` claim: grants on the same resource merge."""
    if isinstance(grants, Grant):
        raise TypeError("grants takes a list of Grant, not a single Grant")
    claim: dict[str, dict[str, list[Any]]] = {}
    for grant in grants:
        if not isinstance(grant, Grant):
            raise TypeError(f"grants must be Grant instances (Grant.for_tenant(...) ...), not {type(grant)}")
        permissions = claim.setdefault(grant.resource, {})
        for permission in sorted(grant.permissions):
            permissions[permission.value] = []
    return claim


def load_signing_key(text: str) -> rsa.RSAPrivateKey:
    """The RSA private key in a PEM or base64-encoded PEM; `SigningKeyError` (never quoting the
    key) when it is empty or not one."""
    if not text.strip():
        raise SigningKeyError(f"no signing key: pass signing_key= or set {SIGNING_KEY_ENV}")
    return _load_private_key(text.strip())


@functools.lru_cache(maxsize=8)  # parsing and checking an RSA key costs far more than signing
def _load_private_key(text: str) -> rsa.RSAPrivateKey:
    pem = _pem_bytes(text)
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        key = None  # the library's error could quote the key: raise ours outside, with no chain
    if not isinstance(key, rsa.RSAPrivateKey):
        raise SigningKeyError("the signing key is not an unencrypted RSA private key")
    return key


def _pem_bytes(text: str) -> bytes:
    """A key as PEM bytes, from a PEM or a base64-encoded PEM (as Knock's dashboard gives it)."""
    if text.startswith(_PEM_START):
        return text.encode()
    try:
        decoded = base64.b64decode("".join(text.split()), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    if not decoded.startswith(_PEM_START):
        raise SigningKeyError("the signing key is neither a PEM nor a base64-encoded PEM")
    return decoded.encode()
