"""What a user token's grants name: Knock's permissions and its resource URIs.

Kept apart from `knock_async.tokens` (which needs the tokens extra to sign) so that the
embedded server can declare which permission each endpoint needs without PyJWT installed.
Sources: Knock's "Security and authentication" page (the permission table, the
`explicit_grants` claim, tenants named `https://api.knock.app/v1/tenants/{id}`) and the
official Node SDK (knocklabs/knock-node src/lib/tokenSigner.ts: tenants named as objects in
the `$tenants` collection, `https://api.knock.app/v1/objects/$tenants/{id}`). Knock takes
both tenant forms, so both are offered, and the embedded server accepts either.
"""

from __future__ import annotations

import enum
from typing import Literal

# Grants name resources by their URI on Knock's API host, whichever host the client talks to.
RESOURCE_BASE = "https://api.knock.app/v1"
TENANTS_COLLECTION = "$tenants"  # tenants are objects in this reserved collection
TenantForm = Literal["objects", "tenants"]  # /v1/objects/$tenants/{id} or /v1/tenants/{id}


class Permission(str, enum.Enum):
    """The permissions Knock documents for user token grants."""

    USER_READ = "user/read"  # the user's profile
    USER_WRITE = "user/write"
    USER_FEED_READ = "user/feed_read"  # in-app feeds and their messages
    USER_FEED_WRITE = "user/feed_write"  # marking feed messages read, seen, archived...
    USER_GUIDE_READ = "user/guide_read"  # in-app guides
    USER_GUIDE_WRITE = "user/guide_write"
    PREFERENCES_READ = "preferences/read"
    PREFERENCES_WRITE = "preferences/write"
    CHANNEL_DATA_READ = "channel_data/read"
    CHANNEL_DATA_WRITE = "channel_data/write"
    SLACK_CHANNELS_READ = "slack/channels_read"
    MS_TEAMS_CHANNELS_READ = "ms_teams/channels_read"


def user_uri(user_id: str) -> str:
    return f"{RESOURCE_BASE}/users/{user_id}"


def object_uri(collection: str, object_id: str) -> str:
    return f"{RESOURCE_BASE}/objects/{collection}/{object_id}"


def tenant_uri(tenant_id: str, form: TenantForm = "objects") -> str:
    """A tenant's URI, as an object of `$tenants` (the Node SDK's form) or under /v1/tenants."""
    if form == "tenants":
        return f"{RESOURCE_BASE}/tenants/{tenant_id}"
    if form == "objects":
        return object_uri(TENANTS_COLLECTION, tenant_id)
    raise ValueError(f"a tenant URI form is 'objects' or 'tenants', not {form!r}")


def tenant_uris(tenant_id: str) -> tuple[str, str]:
    """Both URIs a grant may name a tenant by."""
    return tenant_uri(tenant_id, "objects"), tenant_uri(tenant_id, "tenants")
