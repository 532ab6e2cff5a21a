"""Keeping secrets out of error text: every credential a call sent is replaced by a marker."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

REDACTED: Final = "[REDACTED]"
_MIN_SECRET_LENGTH: Final = 6  # shorter "secrets" would mangle ordinary words when redacted


def redact(text: str, secrets: Iterable[str | None]) -> str:
    for secret in secrets:
        if secret and len(secret) >= _MIN_SECRET_LENGTH and secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact_json(value: Any, secrets: tuple[str | None, ...]) -> Any:
    """A decoded JSON value with every secret redacted from its strings (keys included).

    Redacting the decoded form catches the escaped spellings (`\\u0073k_...`) that the raw
    text hides.
    """
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, list):
        return [redact_json(item, secrets) for item in value]
    if isinstance(value, dict):
        return {redact(key, secrets): redact_json(item, secrets) for key, item in value.items()}
    return value
