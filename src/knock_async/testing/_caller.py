"""Who sent a request, and what a verified user token lets it reach.

No PyJWT here: the rules need only what a token said, which `_enhanced_security` verifies.
What a token reaches, from Knock's "Security and authentication" page:

- its own user's resources, unless the token carries `explicit_grants: true`, which then
  denies whatever its `grants` do not grant;
- another user, an object or a tenant only through a grant of the needed permission on that
  resource's URI (a tenant by either URI form);
- tenant scoping: once a token grants a feed or preferences permission on some tenant, a
  request for a named tenant needs that permission on that tenant (a request naming no
  tenant follows the rule for the user).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

import attrs

from knock_async._grants import TENANTS_COLLECTION, Permission, object_uri, tenant_uris, user_uri

from ._records import MessageRow, Ref

KeyKind = Literal["secret", "publishable"]
# The permissions tenant grants scope (Knock's "Scoping a token to a tenant" table).
_TENANT_SCOPED = frozenset(
    {
        Permission.USER_FEED_READ,
        Permission.USER_FEED_WRITE,
        Permission.PREFERENCES_READ,
        Permission.PREFERENCES_WRITE,
    }
)


@attrs.frozen
class TokenUser:
    """Who a verified token speaks for, and what its grants allow."""

    user_id: str
    grants: Mapping[str, frozenset[str]] = attrs.field(factory=dict)  # resource URI -> permission values
    explicit: bool = False  # the explicit_grants claim

    def granted(self, permission: Permission, uris: Iterable[str]) -> bool:
        return any(permission.value in self.grants.get(uri, frozenset()) for uri in uris)

    def reaches(self, permission: Permission, ref: Ref, tenant: str | None = None) -> bool:
        """Whether the token may act with `permission` on a recipient (user or object), for a
        tenant or none."""
        collection, ident = ref
        if collection is not None:
            uris = (
                tenant_uris(ident) if collection == TENANTS_COLLECTION else (object_uri(collection, ident),)
            )
            return self.granted(permission, uris)
        if tenant is not None and ident == self.user_id and self._tenant_scoped(permission):
            return self.granted(permission, tenant_uris(tenant))
        if ident == self.user_id and not self.explicit:
            return True
        return self.granted(permission, (user_uri(ident),))

    def reaches_message(self, permission: Permission, message: MessageRow) -> bool:
        return self.reaches(permission, message.recipient, message.tenant)

    def _tenant_scoped(self, permission: Permission) -> bool:
        if permission not in _TENANT_SCOPED:
            return False
        tenant_prefixes = tenant_uris("")  # the URIs of every tenant start so, in either form
        return any(
            uri.startswith(tenant_prefixes) and permission.value in values
            for uri, values in self.grants.items()
        )


@attrs.frozen
class Caller:
    """Who sent a request: its API key, the key's kind and, in enhanced security mode with a
    publishable key, the user its token speaks for."""

    api_key: str = attrs.field(repr=False)
    kind: KeyKind
    user: TokenUser | None = None

    @property
    def scope(self) -> str:
        """What rate limits and idempotency keys are kept per: the key, and the signing user."""
        return self.api_key if self.user is None else f"{self.api_key}\0user:{self.user.user_id}"
