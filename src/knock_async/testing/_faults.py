"""Fault injection, for testing a client's resilience against a misbehaving Knock.

A fault is an injected 500 ("error"), a connection closed without an answer ("drop") or a
slow answer ("delay"). It hits either BEFORE the request acts (nothing changed: a plain retry
is safe) or AFTER it acted (the change is made but the client never hears about it: only an
Idempotency-Key makes the retry safe). Random faults are drawn from a seedable generator;
`FaultInjector.inject()` queues exact ones for deterministic tests.
"""

from __future__ import annotations

import collections
import random
from collections.abc import Collection
from typing import Literal

import attrs

FaultKind = Literal["error", "drop", "delay"]
FaultTiming = Literal["before", "after"]


@attrs.frozen
class Faults:
    """Random faults: `rate` is the share of requests hit (0.0 = none, 1.0 = every one).

    `kinds` are drawn uniformly; `when` is "before" or "after" the request acts, or "either"
    (drawn uniformly too). `operations` restricts faults to those operationIds (None: all).
    """

    rate: float = 0.0
    kinds: tuple[FaultKind, ...] = ("error",)
    when: FaultTiming | Literal["either"] = "after"
    delay: float = 1.0  # seconds, for "delay" faults
    error_status: int = 500
    seed: int | None = None
    operations: frozenset[str] | None = None

    @classmethod
    def none(cls) -> Faults:
        return cls()


@attrs.frozen
class Fault:
    kind: FaultKind
    when: FaultTiming
    delay: float = 1.0
    status: int = 500


@attrs.define
class _Queued:
    fault: Fault
    operation: str | None
    remaining: int


class FaultInjector:
    def __init__(self, config: Faults) -> None:
        self.config = config
        self._random = random.Random(config.seed)
        self._queued: collections.deque[_Queued] = collections.deque()

    def configure(self, config: Faults) -> None:
        self.config = config
        self._random = random.Random(config.seed)

    def inject(
        self,
        kind: FaultKind = "error",
        *,
        when: FaultTiming = "after",
        operation: str | None = None,
        count: int = 1,
        delay: float = 1.0,
        status: int = 500,
    ) -> None:
        """Make the next `count` requests (to `operation`, if given) fail this way."""
        self._queued.append(_Queued(Fault(kind, when, delay, status), operation, count))

    def clear(self) -> None:
        self._queued.clear()

    def draw(self, operation_id: str) -> Fault | None:
        """The fault for this request, if any: queued faults first, then a random one."""
        for queued in self._queued:
            if queued.operation in (None, operation_id):
                queued.remaining -= 1
                if queued.remaining <= 0:
                    self._queued.remove(queued)
                return queued.fault
        config = self.config
        if config.rate <= 0 or not config.kinds or not _applies(config.operations, operation_id):
            return None
        if self._random.random() >= config.rate:
            return None
        kind = self._random.choice(config.kinds)
        when: FaultTiming = (
            config.when if config.when != "either" else self._random.choice(("before", "after"))
        )
        return Fault(kind, when, config.delay, config.error_status)


def _applies(operations: Collection[str] | None, operation_id: str) -> bool:
    return operations is None or operation_id in operations
