"""Wire formats: reading JSON text, and date-time text (the one parser and the one writer).

JSON text is read by orjson when the `fast` extra is installed, else by `json`; both give
the same values and the same errors.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from typing import Any, Final

# The Python types that are JSON values as they are: sent without the converter's help.
JSON_SCALARS: Final = frozenset({str, int, float, bool, type(None)})


def _json_loads() -> tuple[str, Callable[[bytes], Any]]:
    try:
        import orjson
    except ImportError:  # without the `fast` extra
        return "json", json.loads

    # orjson reads an integer past 64 bits as a float where json keeps it exact: a text with
    # 19 digits in a row (rare: a long numeric id, say) is left to json. Checked in C, in a
    # fraction of what orjson saves.
    digits_as_zeros = bytes.maketrans(b"123456789", b"000000000")
    long_number = b"0" * 19

    def loads(raw: bytes) -> Any:
        if long_number in raw.translate(digits_as_zeros):
            return json.loads(raw)
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            # What orjson refuses but json reads (NaN, UTF-16, a BOM...): json decides, so
            # that both give the same values and the same errors.
            return json.loads(raw)

    return "orjson", loads


JSON_LIBRARY, loads = _json_loads()


def _fromisoformat_z(text: str) -> dt.datetime:
    # Before 3.11, fromisoformat does not read a trailing "Z".
    return dt.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)


# 3.11+ reads "Z" itself, without the string copy: worth it on the hot path of every response.
_fromisoformat = dt.datetime.fromisoformat if sys.version_info >= (3, 11) else _fromisoformat_z


def parse_datetime(text: str) -> dt.datetime:
    """A timezone-aware datetime from ISO 8601 text (no offset: UTC); ValueError or
    TypeError when it is not one. It runs for every timestamp of every response."""
    try:
        parsed = _fromisoformat(text)
    except ValueError:
        # What 3.11+ still rejects with the "Z" ("2024-05-02Z"), or a failure exactly as before.
        parsed = _fromisoformat_z(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def format_datetime(value: dt.datetime) -> str:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: give it a timezone (Knock times are UTC)")
    text = value.astimezone(dt.timezone.utc).isoformat()
    return text[:-6] + "Z"
