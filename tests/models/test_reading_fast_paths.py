"""`read_datetime` parses with fromisoformat directly (3.11+) and leaves every other text to
`parse_datetime`: both must give the same datetime (offset included), or the same misfit."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from knock_async._reading import Drift, Misfit, read_datetime
from knock_async._wire import parse_datetime

OFFSETS = st.sampled_from(["", "Z", "z", "+00:00", "-05:30", "+14:00", "+0200", "+00:00:30", " ", "Zulu"])
TEXTS = st.one_of(
    st.builds(
        lambda moment, offset, sep, cut: moment.isoformat(sep=sep)[:cut] + offset,
        st.datetimes(),
        OFFSETS,
        st.sampled_from(["T", " ", "t"]),
        st.integers(min_value=4, max_value=32),
    ),
    st.dates().map(lambda day: day.isoformat() + "Z"),
    st.text(alphabet="0123456789-:TZ+. ", max_size=30),
)


def _outcome(value: Any) -> tuple[str, Any]:
    try:
        parsed = parse_datetime(value)
    except ValueError:
        return ("misfit", None)
    return ("ok", (parsed, parsed.utcoffset()))


def _read(value: Any) -> tuple[str, Any]:
    try:
        parsed = read_datetime(value, Drift(strict=True), "", "Model", "at")
    except Misfit:
        return ("misfit", None)
    return ("ok", (parsed, parsed.utcoffset()))


@settings(max_examples=500, deadline=None)
@given(TEXTS)
def test_read_datetime_gives_parse_datetimes_result(text: str) -> None:
    assert _read(text) == _outcome(text)


@pytest.mark.parametrize(
    "text", ["2024-05-01T12:00:00Z", "2024-05-01T12:00:00", "2024-05-01T12:00:00+02:00", "2024-05-02Z"]
)
def test_aware_naive_and_z_dates(text: str) -> None:
    kind, (parsed, offset) = _read(text)
    assert kind == "ok" and parsed == parse_datetime(text) and offset is not None


def test_what_is_not_text_is_a_misfit() -> None:
    assert _read(20240501) == ("misfit", None)
    assert read_datetime(None, Drift(collect=True), "", "Model", "at") is None
