"""The hot path's shortcuts in `_encode` give exactly the strings of the general path.

- a path value that is a plain str of RFC 3986 unreserved characters is returned as it is;
  the general path (`_quote_path_value`) must give the same string for it;
- a query's str and int values are formatted directly; `urlencode` over every pair (what
  encode_query was before the shortcut) must give the same string for any query;
- a body value that is already plain JSON skips the converter: the payload must equal, and
  encode to the same bytes as, the converter's unstructuring of every value, and hold copies;
- check_lists skips a nested path whose first object is absent: it must refuse exactly what
  the full walk of every path refuses.
Inputs are drawn at random (hypothesis) around the edges: dots, tildes, spaces, "+", "%",
non-ASCII, lone surrogates, bools beside ints, nested lists and dicts, non-str keys.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from knock_async import models
from knock_async._convert import converter
from knock_async._encode import (
    Plan,
    _encode_path_value,
    _query_pairs,
    _quote_path_value,
    _refuse_string,
    _TooDeep,
    as_refusal,
    build_payload,
    check_lists,
    encode_json,
    encode_query,
    plan_for,
    unencodable,
    values_at,
)
from knock_async._types import UNSET
from tests.helpers import generated_operations

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


BODY_SCALARS = st.one_of(
    st.text(max_size=5),
    st.integers(),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.none(),
    st.sampled_from(Color),
    st.datetimes(timezones=st.just(dt.timezone.utc)),
)
BODY_VALUES = st.recursive(
    BODY_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.text(max_size=3), inner, max_size=3),
        st.dictionaries(st.sampled_from(Color), inner, max_size=2),
        st.builds(models.InlineIdentifyUserRequest, id=st.text(min_size=1, max_size=3)),
    ),
    max_leaves=6,
)


def _containers(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [value, *(c for item in value for c in _containers(item))]
    if isinstance(value, dict):
        return [value, *(c for item in value.values() for c in _containers(item))]
    return []


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=4), BODY_VALUES, max_size=4))
def test_plain_json_body_values_give_the_converters_payload_and_bytes(body: dict[str, Any]) -> None:
    payload = build_payload(body, None)
    expected = {key: converter.unstructure(value) for key, value in body.items()}
    assert payload == expected
    assert encode_json(payload) == encode_json(expected)
    given_ids = {id(container) for value in body.values() for container in _containers(value)}
    assert not any(id(container) in given_ids for container in _containers(payload))


def test_a_changed_list_or_dict_after_the_payload_is_built_leaves_the_payload_alone() -> None:
    recipients, data = ["user-1", "user-2"], {"comment": "hi", "count": 2}
    payload = build_payload({"recipients": recipients}, {"data": data})
    recipients.append("user-3")
    data["comment"] = "changed"
    assert payload == {"recipients": ["user-1", "user-2"], "data": {"comment": "hi", "count": 2}}


def _all_lists_checked(plan: Plan, payload: dict[str, Any]) -> None:
    """check_lists as it was: every nested path walked."""
    for name in plan.top_lists.intersection(payload):
        _refuse_string(plan, name, payload[name])
    for steps in plan.nested_lists:
        for where, value in values_at(payload, steps):
            _refuse_string(plan, where, value)


def _operation(operation_id: str) -> Any:
    return generated_operations()[operation_id]


NESTED = st.recursive(
    st.one_of(st.sampled_from(["acme", "user-1", ""]), st.none(), st.integers()),
    lambda inner: st.one_of(
        st.lists(inner, max_size=2),
        st.dictionaries(
            st.sampled_from(["settings", "preference_set", "channel_types", "email", "conditions", "id"]),
            inner,
            max_size=3,
        ),
    ),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["workflows.trigger", "objects.bulk.add_subscriptions"]),
    st.dictionaries(st.sampled_from(["tenant", "subscriptions", "recipients", "data"]), NESTED, max_size=3),
)
def test_check_lists_refuses_what_the_full_walk_refuses(operation_id: str, payload: dict[str, Any]) -> None:
    plan = plan_for(_operation(operation_id))
    assert plan.nested_lists  # both operations have lists inside objects
    assert _outcome(check_lists, plan, None, payload) == _outcome(_all_lists_checked, plan, payload)


def test_a_string_deep_in_a_tenant_is_still_refused() -> None:
    plan = plan_for(_operation("workflows.trigger"))
    tenant = {"id": "acme", "settings": {"preference_set": {"channel_types": {"email": {"conditions": "x"}}}}}
    where = r"'tenant\.settings\.preference_set\.channel_types\.email\.conditions' takes a list"
    with pytest.raises(TypeError, match=where):
        check_lists(plan, None, {"tenant": tenant})


def test_an_unencodable_value_is_named_whatever_the_other_keys_are() -> None:
    # The keys of extra_query need not be str, nor comparable with each other.
    with pytest.raises(ValueError, match=r"^'b' holds a lone surrogate .*; nothing was sent$"):
        encode_query({1: "x", b"k": "y", "b": "\ud800"})
