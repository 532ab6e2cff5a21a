"""Request handlers by area; importing a module registers its handlers by operationId."""

from __future__ import annotations


def load() -> None:
    from . import channels, messages, preferences, recipients, workflows  # noqa: F401
