"""Caller input -> what goes on the wire: path, query string, JSON body, checked first.

Everything here runs before anything is sent, and every refusal is a clear ValueError or
TypeError (or PayloadLimitError). Work that depends only on the `Operation` is done once per
operation (`plan_for`).
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any, Final, cast
from urllib.parse import quote, urlencode

import attrs

from ._errors import PayloadLimitError
from ._types import UNSET, Limit, Operation
from ._wire import format_datetime

_JSON_SCALARS: Final = frozenset({str, int, float, bool, type(None)})
# One encoder for every call: json.dumps with options builds a new encoder each time.
encode_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


# --- per-operation plan -----------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_PATH_STEP = re.compile(r"^([^\[\]]+)(\[\])?$")

Steps = tuple[tuple[str, bool], ...]  # a parsed `Limit.field` path: (key, each element of a list?)


class Plan:
    """What one Operation needs on every call, worked out once."""

    __slots__ = ("limits", "method", "nested_lists", "op", "pieces", "top_lists", "writes")

    def __init__(self, op: Operation[Any]) -> None:
        self.op = op
        self.method = op.method.upper()
        # Literal text at even indices, parameter names at odd ones.
        self.pieces: tuple[str, ...] = tuple(_PLACEHOLDER.split(op.path))
        self.writes = self.method != "GET"  # every non-GET call carries an Idempotency-Key
        self.limits = tuple((limit, path_steps(limit.field)) for limit in op.limits)
        # A plain entry is a parameter's wire name, "[]" included ("workflow_categories[]");
        # an entry with a "." is a path into the body ("subscriptions[].recipients").
        self.top_lists = frozenset(name for name in op.lists if "." not in name)
        self.nested_lists = tuple(path_steps(name) for name in op.lists if "." in name)

    def render_path(self, params: Mapping[str, Any] | None) -> str:
        pieces = self.pieces
        if len(pieces) == 1:
            return pieces[0]
        parts = list(pieces)
        for i in range(1, len(parts), 2):
            parts[i] = _encode_path_value(parts[i], params.get(parts[i]) if params else None)
        return "".join(parts)


_PLANS: dict[int, Plan] = {}
_MAX_PLANS: Final = 4096  # operations are module constants; the bound only guards against misuse


def plan_for(op: Operation[Any]) -> Plan:
    # Keyed by identity: hashing a frozen attrs Operation walks all its fields on every call.
    plan = _PLANS.get(id(op))
    if plan is None or plan.op is not op:
        if len(_PLANS) >= _MAX_PLANS:
            _PLANS.clear()
        plan = _PLANS[id(op)] = Plan(op)
    return plan


def path_steps(field: str) -> Steps:
    steps = []
    for part in field.split("."):
        match = _PATH_STEP.match(part)
        if match is None:
            raise ValueError(
                f"bad path {field!r}: expected names joined by '.', each optionally ending in []"
            )
        steps.append((match.group(1), match.group(2) is not None))
    return tuple(steps)


# --- path and query -----------------------------------------------------------------------


def _encode_path_value(name: str, value: Any) -> str:
    if value is None or value is UNSET:
        raise ValueError(f"path parameter {name!r} is required")
    if isinstance(value, enum.Enum):
        value = value.value
    kind = type(value)
    if kind is str or isinstance(value, str):
        text = str.__str__(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        text = int.__repr__(value)
    else:
        # bytes would go out as "b'abc'", an object as its repr, True and nan as words.
        raise TypeError(f"path parameter {name!r} must be a str or an int, got {kind.__name__}")
    if not text:
        raise ValueError(f"path parameter {name!r} must not be empty")
    # Nothing is safe: a "/" in an id must never reach another path.
    encoded = quote(text, safe="")
    if encoded in (".", ".."):  # unreserved, yet a dot segment would be resolved away by servers
        encoded = encoded.replace(".", "%2E")
    return encoded


def _query_value(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return cast(str, value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int or kind is float:
        return str(value)
    if isinstance(value, enum.Enum):
        return _query_value(value.value)
    if isinstance(value, dt.datetime):
        return format_datetime(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _query_pairs(key: str, value: Any) -> Iterator[tuple[str, str]]:
    if value is None or value is UNSET:
        return
    if isinstance(value, (list, tuple, set, frozenset)):
        # Repeated keys; the wire name already carries "[]" where Knock wants it.
        for item in value:
            yield from _query_pairs(key, item)
    elif isinstance(value, Mapping) or attrs.has(type(value)):
        # Objects travel as key[field]=value (deepObject), the way Knock parses them;
        # in a list that gives key[][field]=value.
        for field, item in _unstructure(value).items():
            yield from _query_pairs(f"{key}[{field}]", item)
    else:
        yield key, _query_value(value)


def encode_query(query: Mapping[str, Any]) -> str:
    return urlencode([pair for key, value in query.items() for pair in _query_pairs(key, value)])


# --- body ---------------------------------------------------------------------------------


def _unstructure(value: Any) -> Any:
    # Imported on first use: cattrs is not needed until a model or a datetime is sent.
    from ._convert import converter

    return converter.unstructure(value)


def _json_value(value: Any) -> Any:
    return value if type(value) in _JSON_SCALARS else _unstructure(value)


def build_payload(body: Mapping[str, Any] | None, extra_body: Mapping[str, Any] | None) -> dict[str, Any]:
    payload = {key: _json_value(value) for key, value in body.items() if value is not UNSET} if body else {}
    if extra_body:
        for key, value in extra_body.items():
            if value is UNSET:
                continue
            if key in payload:
                raise ValueError(f"{key!r} is given both as a parameter and in extra_body; give it once")
            payload[key] = _json_value(value)
    return payload


def values_at(node: Any, steps: Steps, index: int = 0, where: str = "") -> Iterator[tuple[str, Any]]:
    """The values at a parsed path in a JSON-like value, each with where it was found."""
    if index == len(steps):
        yield where, node
        return
    key, each = steps[index]
    if not isinstance(node, Mapping) or key not in node:
        return
    child = node[key]
    where = f"{where}.{key}" if where else key
    if not each:
        yield from values_at(child, steps, index + 1, where)
    elif isinstance(child, list):
        for position, item in enumerate(child):
            yield from values_at(item, steps, index + 1, f"{where}[{position}]")


def check_lists(plan: Plan, query: Mapping[str, Any] | None, payload: Mapping[str, Any] | None) -> None:
    """Refuse a lone string where the operation takes a list."""
    for given in (query, payload):
        if not given:
            continue
        for name in plan.top_lists.intersection(given):
            _refuse_string(plan, name, given[name])
        for steps in plan.nested_lists:
            for where, value in values_at(given, steps):
                _refuse_string(plan, where, value)


def _refuse_string(plan: Plan, where: str, value: Any) -> None:
    if isinstance(value, str):
        raise TypeError(f"{plan.op.id}: {where!r} takes a list, got the string {value!r}")


def check_limits(plan: Plan, payload: Mapping[str, Any], body_size: int) -> None:
    for limit, steps in plan.limits:
        # A part's JSON is a substring of the whole: a body within max_bytes needs no measuring.
        check_bytes = limit.max_bytes is not None and body_size > limit.max_bytes
        if limit.max_items is None and not check_bytes:
            continue
        for where, value in values_at(payload, steps):
            _check_limit(limit, where, value, check_bytes)


def _check_limit(limit: Limit, where: str, value: Any, check_bytes: bool) -> None:
    if limit.max_items is not None and isinstance(value, list) and len(value) > limit.max_items:
        raise PayloadLimitError(where, "max_items", limit.max_items, len(value))
    if check_bytes and limit.max_bytes is not None:
        size = len(encode_json(value).encode())
        if size > limit.max_bytes:
            raise PayloadLimitError(where, "max_bytes", limit.max_bytes, size)


def secret_values(node: Any, fields: frozenset[str]) -> Iterator[str]:
    """Every string at a key in `fields`, at any depth (in lists there too), to be redacted."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key in fields:
                yield from _strings(value)
            else:
                yield from secret_values(value, fields)
    elif isinstance(node, list):
        for item in node:
            yield from secret_values(item, fields)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, (list, Mapping)):
        for item in value.values() if isinstance(value, Mapping) else value:
            yield from _strings(item)


# --- headers ------------------------------------------------------------------------------


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
