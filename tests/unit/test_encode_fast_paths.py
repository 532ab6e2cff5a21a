"""The hot path's shortcuts in `_encode` give exactly the strings of the general path.

- a path value that is a plain str of RFC 3986 unreserved characters is returned as it is;
  the general path (`_quote_path_value`) must give the same string for it;
- a query's str and int values are formatted directly; `urlencode` over every pair (what
  encode_query was before the shortcut) must give the same string for any query.
Inputs are drawn at random (hypothesis) around the edges: dots, tildes, spaces, "+", "%",
non-ASCII, lone surrogates, bools beside ints, nested lists and dicts, non-str keys.
"""

from __future__ import annotations

import enum
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from knock_async._encode import (
    _encode_path_value,
    _query_pairs,
    _quote_path_value,
    _TooDeep,
    as_refusal,
    encode_query,
    unencodable,
)
from knock_async._types import UNSET

EDGY = st.sampled_from([*"aZ09_.~-+ %/?#&=[]é\u00a0\u2603", "\ud800", "..", ".", "\n"])
TEXT = st.one_of(st.text(), st.lists(EDGY).map("".join), st.text(alphabet="abc.~-_XYZ019"))


class Color(enum.Enum):
    RED = "red"
    ONE = 1


def _outcome(function: Any, *args: Any) -> tuple[str, str]:
    try:
        return ("ok", function(*args))
    except (TypeError, ValueError) as exc:
        return (type(exc).__name__, str(exc))


@settings(max_examples=400, deadline=None)
@given(st.one_of(TEXT, st.integers(), st.booleans(), st.none(), st.just(UNSET), st.sampled_from(Color)))
def test_path_shortcut_gives_the_general_paths_string(value: Any) -> None:
    assert _outcome(_encode_path_value, "user_id", value) == _outcome(_quote_path_value, "user_id", value)


@pytest.mark.parametrize("value", ["user-1", "a.b~c_d", "...", ".a", "a.", "~"])
def test_unreserved_ids_pass_unchanged(value: str) -> None:
    assert _encode_path_value("user_id", value) == value


@pytest.mark.parametrize(("value", "encoded"), [(".", "%2E"), ("..", "%2E%2E"), ("a\n", "a%0A")])
def test_dot_segments_and_a_trailing_newline_are_still_encoded(value: str, encoded: str) -> None:
    assert _encode_path_value("user_id", value) == encoded


SCALARS = st.one_of(
    TEXT, st.integers(), st.booleans(), st.floats(), st.none(), st.just(UNSET), st.sampled_from(Color)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)),
    max_leaves=8,
)
KEYS = st.one_of(TEXT, st.integers(), st.binary(max_size=4))


def _general(query: dict[Any, Any]) -> str:
    """encode_query as it was before the shortcut."""
    try:
        return urlencode([pair for key, value in query.items() for pair in _query_pairs(key, value)])
    except (RecursionError, UnicodeEncodeError, _TooDeep) as exc:
        failure: Exception = exc
    raise unencodable("", query.items()) or as_refusal(failure)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(KEYS, VALUES, max_size=5))
def test_query_shortcut_gives_urlencodes_string(query: dict[Any, Any]) -> None:
    assert _outcome(encode_query, query) == _outcome(_general, query)
