"""In-app guides a test declares, and each user's engagement with their steps.

Knock's guides are authored in its dashboard; here a test declares them with
`server.add_guide()`. Engagement (seen, interacted, archived) is kept per user and step, as the
step's message, which is what `users.guides.get_channel` shows back.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ._records import JSONDict
from ._workflows import channel_id_for

_NAMESPACE = uuid.UUID("0c7e4f3a-5d2b-4e8a-9f61-3b2a1c0d9e87")
ENGAGEMENTS = ("seen", "interacted", "archived")  # the states a step's message records


def _to_steps(steps: Sequence[GuideStep | str | Mapping[str, Any]]) -> tuple[GuideStep, ...]:
    def one(step: GuideStep | str | Mapping[str, Any]) -> GuideStep:
        if isinstance(step, GuideStep):
            return step
        return GuideStep(step) if isinstance(step, str) else GuideStep(**step)

    converted = tuple(one(step) for step in steps)
    if not converted:
        raise ValueError("a guide needs at least one step")
    return converted


@attrs.frozen
class GuideStep:
    """One step of a guide: its ref and the content your components render."""

    ref: str
    content: Mapping[str, Any] = attrs.field(factory=dict)
    schema_key: str = "banner"


@attrs.frozen
class Guide:
    """A guide on an in-app guide channel (`channel` is the channel's key)."""

    key: str
    steps: tuple[GuideStep, ...] = attrs.field(converter=_to_steps)
    channel: str = "guides"
    type: str = "banner"
    active: bool = True

    @property
    def id(self) -> str:
        return str(uuid.uuid5(_NAMESPACE, f"guide:{self.key}"))

    @property
    def channel_id(self) -> str:
        return channel_id_for(self.channel)

    def step(self, ref: str) -> GuideStep | None:
        return next((step for step in self.steps if step.ref == ref), None)


@attrs.define
class StepMessage:
    """A user's engagement with one guide step."""

    id: str
    guide_key: str
    step_ref: str
    seen_at: str | None = None
    read_at: str | None = None
    interacted_at: str | None = None
    archived_at: str | None = None

    def record(self, engagement: str, now: str) -> None:
        if engagement == "interacted":
            self.read_at = self.read_at or now  # interacting with a step means it was read
        setattr(self, f"{engagement}_at", getattr(self, f"{engagement}_at") or now)

    def view(self) -> JSONDict:
        return {
            "id": self.id,
            "seen_at": self.seen_at,
            "read_at": self.read_at,
            "interacted_at": self.interacted_at,
            "link_clicked_at": None,
            "archived_at": self.archived_at,
        }


NO_MESSAGE: JSONDict = {
    "id": None,
    "seen_at": None,
    "read_at": None,
    "interacted_at": None,
    "link_clicked_at": None,
    "archived_at": None,
}
