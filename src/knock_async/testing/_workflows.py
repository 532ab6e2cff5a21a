"""What a test declares on the server: workflows made of channel steps, and channels.

Real Knock workflows are built in its dashboard; the test server only needs enough of one to
deliver messages: which channels it sends to, an optional delay first, and whether it is active.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Literal, get_args

import attrs

ChannelType = Literal["in_app_feed", "email", "sms", "push", "chat"]
CHANNEL_TYPES: tuple[ChannelType, ...] = ("in_app_feed", "email", "sms", "push", "chat")

# Stable ids derived from keys, so a test can predict a channel's id before the server runs.
_NAMESPACE = uuid.UUID("6f1c1d1e-4b7a-4c59-9a53-2f7d0c6a9b10")


def as_channel_type(value: str) -> ChannelType:
    for known in CHANNEL_TYPES:
        if value == known:
            return known
    raise ValueError(f"{value!r} is not a channel type ({', '.join(CHANNEL_TYPES)})")


def channel_id_for(key: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"channel:{key}"))


DeliveryFailure = Literal["undelivered", "bounced"]
_FAILURES: tuple[str, ...] = get_args(DeliveryFailure)


def _check_failure(_: Any, __: Any, value: Any) -> None:
    if value is not None and value not in _FAILURES:
        raise ValueError(f"fail must be one of {', '.join(map(repr, _FAILURES))} or None, not {value!r}")


def _to_steps(steps: Sequence[ChannelStep | str]) -> tuple[ChannelStep, ...]:
    return tuple(step if isinstance(step, ChannelStep) else ChannelStep(step) for step in steps)


@attrs.frozen
class ChannelStep:
    """One channel step: the channel's key and its type (in_app_feed, email, sms, push or chat).

    `ChannelStep("email")` uses the type as the key. `template` is the message text; it may
    name `{{ data.x }}`, `{{ recipient.x }}`, `{{ actor.x }}` and `{{ tenant.x }}` values.
    `fail="undelivered"` or `"bounced"` makes every delivery of the step fail that way (the
    message's status, and its message.undelivered or message.bounced event).
    """

    channel_key: str
    channel_type: ChannelType | None = None
    template: str | None = None
    ref: str | None = None  # the step's ref in the workflow; defaults to "<type>_<index>"
    fail: DeliveryFailure | None = attrs.field(default=None, validator=_check_failure)

    @property
    def type(self) -> ChannelType:
        return as_channel_type(self.channel_type or self.channel_key)


@attrs.frozen
class Workflow:
    """A workflow the server can run: `steps` deliver in order, after `delay` seconds if given."""

    key: str
    steps: tuple[ChannelStep, ...] = attrs.field(converter=_to_steps, default=())
    delay: float | None = None
    active: bool = True
    categories: tuple[str, ...] = attrs.field(converter=tuple, default=())
    name: str | None = None

    @property
    def version_id(self) -> str:
        return str(uuid.uuid5(_NAMESPACE, f"workflow:{self.key}"))

    def step_ref(self, index: int) -> str:
        step = self.steps[index]
        return step.ref or f"{step.type}_{index + 1}"


@attrs.frozen
class Channel:
    id: str
    key: str
    type: ChannelType

    @property
    def provider(self) -> str:
        return {
            "in_app_feed": "knock-in-app",
            "email": "test-email",
            "sms": "test-sms",
            "push": "test-push",
        }.get(self.type, "test-chat")


_PLACEHOLDER = re.compile(r"\{\{\s*(data|recipient|actor|tenant)\.([A-Za-z0-9_.]+)\s*\}\}")


def render(template: str, scope: Mapping[str, Any]) -> str:
    """Fill `{{ data.x.y }}`-style placeholders; a missing value renders as nothing."""

    def lookup(match: re.Match[str]) -> str:
        node: Any = scope.get(match.group(1))
        for part in match.group(2).split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        return "" if node is None else str(node)

    return _PLACEHOLDER.sub(lookup, template)
