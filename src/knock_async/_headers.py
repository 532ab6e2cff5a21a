"""HTTP headers, in one place: checking them, merging them, finding one, showing them safely."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

# RFC 7230 token: what a header name may consist of.
_HEADER_NAME: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def check_headers(headers: Mapping[str, str], where: str) -> None:
    """Refuse header names that are not RFC 7230 tokens and values that could split the request."""
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise ValueError(f"{where}: {name!r} is not a valid header name (RFC 7230 token)")
        if not isinstance(value, str):
            raise TypeError(f"{where}: the value of header {name!r} must be a str")
        if "\r" in value or "\n" in value or "\0" in value:
            # The value itself is not shown: it may be a credential.
            raise ValueError(f"{where}: the value of header {name!r} contains CR, LF or NUL")


def merge_headers(base: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """`base` updated with `extra`, case-insensitively (else both spellings would be sent)."""
    merged = dict(base)
    names = {name.lower(): name for name in merged}
    for name, value in extra.items():
        previous = names.get(name.lower())
        if previous is not None:
            del merged[previous]
        merged[name] = value
        names[name.lower()] = name
    return merged


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by case-insensitive name, from a multidict or from a plain dict."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


def header_names(headers: Mapping[str, str]) -> str:
    """A repr of headers that names them only: their values carry credentials."""
    return f"<headers {sorted(headers)}>"
