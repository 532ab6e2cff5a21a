"""Request handlers by area; importing this package registers them all by operationId."""

from __future__ import annotations

from . import channels, guides, integrations, messages, preferences, recipients, workflows

__all__ = ["channels", "guides", "integrations", "messages", "preferences", "recipients", "workflows"]
