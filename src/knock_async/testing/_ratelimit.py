"""Knock's rate-limit tiers, enforced per API key in a rolling window.

Rate limits are about how fast a client really sends, so the limiter uses a monotonic real
clock, never the server's injectable (possibly frozen) clock: a frozen clock would turn every
retry after Retry-After into another 429.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable, Mapping

import attrs

from .._ratelimit import DEFAULT_RATES
from ._errors import rate_limited

# Requests per second by the document's x-knock-tier (1 = 1/s ... 5 = 1000/s): Knock's tiers,
# one table for the client's pacing and the server's 429s, so the two never disagree.
KNOCK_TIER_RATES: Mapping[int, float] = DEFAULT_RATES


@attrs.frozen
class RateLimits:
    """How the server rate-limits: `enabled`, requests per `window` seconds by tier."""

    enabled: bool = True
    rates: Mapping[int, float] = attrs.field(factory=lambda: dict(KNOCK_TIER_RATES))
    window: float = 1.0

    @classmethod
    def off(cls) -> RateLimits:
        return cls(enabled=False)


class TierLimiter:
    """Counts requests per (key scope, tier) in a sliding window: the server's 429s. (Not the
    client's `knock_async.RateLimiter`, which paces what a client sends.)"""

    def __init__(self, limits: RateLimits, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._monotonic = monotonic
        self._sent: dict[tuple[str, int], collections.deque[float]] = collections.defaultdict(
            collections.deque
        )

    def acquire(self, api_key: str, tier: int) -> None:
        """Count one request against (key, tier); raise the 429 error when the window is full."""
        if not self.limits.enabled:
            return
        limit = self.limits.rates.get(tier)
        if limit is None:
            return
        now = self._monotonic()
        sent = self._sent[(api_key, tier)]
        while sent and sent[0] <= now - self.limits.window:
            sent.popleft()
        if len(sent) >= limit:
            raise rate_limited(sent[0] + self.limits.window - now)
        sent.append(now)

    def reset(self) -> None:
        self._sent.clear()
