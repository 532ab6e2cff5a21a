"""The generated readers give exactly what plain cattrs gives, and tolerate what it refuses.

`make_converter(readers=False)` is the same converter with every model left to the
cattrs-made functions: the oracle. Both structure the document's response examples, every
example with each of its values replaced or removed (invalid payloads, deterministic), and
examples mutated at random (hypothesis); the results must be the same values of the same
types, and the errors the same exceptions (type, message, notes, sub-exceptions).

The tolerant read (the default for responses) is held to the oracle on the same cases:
- it never raises;
- when it meets no misfit, its result is exactly cattrs' (and cattrs succeeds);
- when cattrs refuses the payload, it reports at least one misfit, and the strict read raises.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import attrs
import cattrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from knock_async import models
from knock_async._convert import converter, loads, make_converter
from knock_async._reading import Drift, Misfit, read, reader_for
from knock_async._types import Unset
from tests.helpers import generated_operations, spec_operations, success_content

EXACT = make_converter(readers=False)

EXAMPLES: list[tuple[str, Any, Any]] = [
    (operation["operationId"], generated_operations()[operation["operationId"]].response, content["example"])
    for _, _, operation in spec_operations()
    if (content := success_content(operation)) is not None
]
MODEL_CLASSES = [cls for name in models.__all__ if attrs.has(cls := getattr(models, name))]


# --- comparing outcomes -----------------------------------------------------------------


def _typed(value: Any) -> Any:
    """`value` as nested tuples that tell apart what `==` does not (1, 1.0 and True; a
    datetime's offset; a model and a dict with the same contents)."""
    if attrs.has(type(value)):
        fields = attrs.fields(type(value))
        return (type(value), tuple((f.name, _typed(getattr(value, f.name))) for f in fields))
    if isinstance(value, list):
        return (list, tuple(_typed(item) for item in value))
    if isinstance(value, dict):
        return (dict, tuple((_typed(k), _typed(v)) for k, v in value.items()))
    return (type(value), repr(value))


def _error(exc: BaseException) -> Any:
    """An exception as what a caller can see of it: type, message, notes, sub-exceptions."""
    subs = getattr(exc, "exceptions", ())
    return (type(exc), str(exc), tuple(getattr(exc, "__notes__", ())), tuple(_error(e) for e in subs))


def _outcome(conv: cattrs.Converter, payload: Any, tp: Any) -> Any:
    try:
        return ("value", _typed(conv.structure(copy.deepcopy(payload), tp)))
    except Exception as exc:
        return ("error", _error(exc))


def _check_tolerant(payload: Any, tp: Any, exact: Any) -> list[str]:
    drift = Drift(collect=True)
    tolerant = read(copy.deepcopy(payload), tp, drift)  # never raises
    found = drift.found or []
    if not found:
        assert exact == ("value", _typed(tolerant)), f"no misfit, not cattrs' result: {tp} on {payload!r}"
    if exact[0] == "error":
        assert found, f"cattrs refuses {payload!r} as {tp}, the tolerant read reported nothing"
        with pytest.raises(Misfit):
            read(copy.deepcopy(payload), tp, Drift(strict=True))
    return found


def assert_same(payload: Any, tp: Any) -> Any:
    fast, exact = _outcome(converter, payload, tp), _outcome(EXACT, payload, tp)
    assert fast == exact, f"the readers differ from cattrs for {tp} on {payload!r}"
    return fast[0], _check_tolerant(payload, tp, exact)


# --- every model has its reader ---------------------------------------------------------


def _plain_init(cls: Any) -> bool:
    """Whether `cls(**values)` only makes the object and stores the values (no validator,
    converter, __setattr__ hook, pre- or post-init or custom __new__): what the readers,
    which set the fields of `object.__new__(cls)`, rely on."""
    return (
        type(cls).__call__ is type.__call__
        and cls.__new__ is object.__new__
        and cls.__setattr__ is object.__setattr__
        and not hasattr(cls, "__attrs_pre_init__")
        and not hasattr(cls, "__attrs_post_init__")
        and all(f.init and f.validator is None and f.converter is None for f in attrs.fields(cls))
    )


def test_every_model_has_a_generated_reader_it_can_skip_init_for() -> None:
    assert [cls.__name__ for cls in MODEL_CLASSES if reader_for(cls) is None] == []
    assert [cls.__name__ for cls in MODEL_CLASSES if not _plain_init(cls)] == []
    assert all(reader_for(tp) is None for tp in (Unset, dict, int, list[models.User]))


def test_a_reader_sets_every_field_as_init_would() -> None:
    checked = 0
    for _, tp, example in EXAMPLES:
        if attrs.has(tp):
            made = read(example, tp, Drift(strict=True))
            assert made == attrs.evolve(made)  # every field set (evolve goes through __init__)
            checked += 1
    assert checked >= 40


# --- the cases --------------------------------------------------------------------------


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON value, parents before children."""
    if path:
        yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))


_REMOVE = object()


def _replaced(payload: Any, path: tuple[Any, ...], new: Any) -> Any:
    """A copy of `payload` with the value at `path` replaced by `new` (or removed: _REMOVE)."""
    copied = copy.deepcopy(payload)
    parent = copied
    for step in path[:-1]:
        parent = parent[step]
    if new is _REMOVE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return copied


# A value of each JSON kind (a string that is also a date; a bool, which Python counts as
# an int; an object without any required field). Random values: see `mutated`.
WRONG_VALUES: list[Any] = [None, True, -1.5, "2024-05-02", [], {}]


def invalid_cases() -> Iterator[tuple[Any, Any]]:
    for _, tp, example in EXAMPLES:
        for path in _paths(example):
            yield tp, _replaced(example, path, _REMOVE)
            for wrong in WRONG_VALUES:
                yield tp, _replaced(example, path, wrong)
        for wrong in WRONG_VALUES:
            yield tp, wrong


def test_document_examples_structure_alike() -> None:
    outcomes = [assert_same(example, tp) for _, tp, example in EXAMPLES]
    assert all(kind == "value" and not misfits for kind, misfits in outcomes)
    assert len(outcomes) >= 50


def test_every_value_of_every_example_replaced_or_removed_structures_alike() -> None:
    outcomes = [assert_same(payload, tp) for tp, payload in invalid_cases()]
    # Both kinds occur in numbers: the cases exercise the readers and the fallback to cattrs.
    kinds = [kind for kind, _ in outcomes]
    assert kinds.count("value") > 1000
    assert kinds.count("error") > 1000
    # Where cattrs refuses, the tolerant read still returned data, naming what did not fit.
    assert all(misfits for kind, misfits in outcomes if kind == "error")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


# Every string of the examples: type names, enum values, timestamps, ids, keys.
KNOWN_STRINGS = sorted({s for _, _, example in EXAMPLES for s in _strings(example)})
DATETIMES = [
    "2024-05-02T15:04:05Z",
    "2024-05-02T15:04:05.123456Z",
    "2024-05-02T17:04:05+02:00",
    "2024-05-02T15:04:05",
    "2024-05-02Z",
    "2024-13-02T15:04:05Z",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.text(max_size=8),
    st.sampled_from(KNOWN_STRINGS),
    st.sampled_from(DATETIMES),
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KNOWN_STRINGS), inner, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[Any, Any]:
    """An example with 1-3 values replaced (by any JSON value, or a value from elsewhere in
    the examples), removed, or joined by an unknown key."""
    _, tp, payload = draw(st.sampled_from(EXAMPLES))
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(payload))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "remove", "add"]))
        if action == "replace":
            payload = _replaced(payload, path, draw(JSON_VALUES))
        elif action == "remove":
            payload = _replaced(payload, path, _REMOVE)
        else:
            target = path[:-1]
            parent = payload
            for step in target:
                parent = parent[step]
            if isinstance(parent, dict):
                key = draw(st.text(min_size=1, max_size=6))
                payload = _replaced(payload, (*target, key), draw(JSON_VALUES))
    return tp, payload


@settings(
    max_examples=600,
    deadline=None,  # the machine is shared: time is not what this checks
    derandomize=True,  # the same cases on every run
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutated())
def test_mutated_examples_structure_alike(case: tuple[Any, Any]) -> None:
    assert_same(case[1], case[0])


# --- JSON text --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": [1, 2.5, -0, 1e400, 18446744073709551616, "\\u00e9", null, true]}',
        b"[-9223372036854775809, 9223372036854775808, 1234567890123456789012.5]",
        b'{"id": "1234567890123456789012", "n": 123456789012345678}',
        b'{"a": 1, "a": 2}',
        b'{"a": NaN, "b": -Infinity}',
        b'"\\ud800"',
        b"\xef\xbb\xbf{}",
        '{"a": "é"}'.encode("utf-16"),
        b"  [] ",
        b"[1,]",
        b'{"a": "\x01"}',
        b"",
        b"nul",
    ],
)
def test_json_reader_gives_what_json_gives(raw: bytes) -> None:
    def outcome(read: Any) -> Any:
        try:
            return ("value", repr(read(raw)))
        except ValueError as exc:
            return ("error", type(exc), str(exc))

    assert outcome(loads) == outcome(json.loads)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(JSON_VALUES)
def test_json_reader_reads_what_json_writes(value: Any) -> None:
    raw = json.dumps(value).encode()
    assert repr(loads(raw)) == repr(json.loads(raw))
