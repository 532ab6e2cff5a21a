"""What the transport asks of a rate limiter (`Limiter`), and the bucket a call counts in
(`scope_for`). The local limiter is in `_ratelimit.py`, the fleet's in `_redis_ratelimit.py`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
from typing import Protocol


class Limiter(Protocol):
    """The rate-limiter contract: a slot per attempt, and a pause when Knock answers 429."""

    def slot(
        self, tier: int, scope: str, timeout: float | None = None
    ) -> contextlib.AbstractAsyncContextManager[None]:
        """Wait for a token of `tier` for `scope` and an in-flight slot; hold the slot inside.

        `timeout` is the seconds the call has left (None: no limit); when the limiter knows its
        wait cannot end within it (e.g. a 429 pause longer than that), it raises the builtin
        TimeoutError at once. `scope` is an opaque hash: it never contains a secret.
        """
        ...

    async def pause(self, tier: int, scope: str, seconds: float) -> None:
        """A 429 arrived: no token of `tier` for `scope` for `seconds`, for every caller."""
        ...


def scope_for(api_key: str, user_token: str | None) -> str:
    """The limiter's name for the bucket of this key (and signed user): an opaque digest.

    Knock counts a signed user's requests per user, so two tokens of one user (a refreshed
    one, say) share a bucket: the scope follows the token's `sub`, or the token itself when
    it cannot be read.
    """
    user = _token_subject(user_token) if user_token else ""
    return hashlib.sha256(f"knock-async\0{api_key}\0{user}".encode()).hexdigest()[:32]


def _token_subject(token: str) -> str:
    # The JWT's payload segment, read without verifying it: Knock verifies, we only group.
    try:
        segment = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
        subject = claims.get("sub") if isinstance(claims, dict) else None
    except (IndexError, ValueError, binascii.Error, RecursionError):
        subject = None
    return f"sub\0{subject}" if isinstance(subject, str) else f"token\0{token}"
