"""Caller input -> what goes on the wire: path, query string, JSON body, checked first.

Everything here runs before anything is sent, and every refusal is a clear ValueError or
TypeError (or PayloadLimitError). Work that depends only on the `Operation` is done once per
operation (`plan_for`).
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Final, cast
from urllib.parse import quote, quote_plus, urlencode

import attrs

from ._errors import PayloadLimitError
from ._types import UNSET, Limit, Operation, RequestOptions
from ._wire import JSON_SCALARS, format_datetime

_UNRESERVED: Final = re.compile(r"[A-Za-z0-9_.~-]+").fullmatch  # RFC 3986's unreserved characters
# One encoder for every call: json.dumps with options builds a new encoder each time.
encode_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


# --- per-operation plan -----------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_PATH_STEP = re.compile(r"^([^\[\]]+)(\[\])?$")

Steps = tuple[tuple[str, bool], ...]  # a parsed `Limit.field` path: (key, each element of a list?)


class Plan:
    """What one Operation needs on every call, worked out once."""

    __slots__ = (
        "body_checks",
        "body_names",
        "limits",
        "method",
        "nested_lists",
        "op",
        "pieces",
        "query_checks",
        "query_names",
        "top_lists",
        "writes",
    )

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
        self.query_checks = kind_checks(op.query_kinds)
        self.body_checks = kind_checks(op.body_kinds)
        # The declared names, "[]" or not: an extra parameter by one of them is refused.
        self.query_names = _names(op.query_kinds)
        self.body_names = _names(op.body_kinds)

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
    if type(value) is str and _UNRESERVED(value) and value not in (".", ".."):
        return value  # the common id: what the general path leaves as it is, in a third of its time
    return _quote_path_value(name, value)


def _quote_path_value(name: str, value: Any) -> str:
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
    try:
        encoded = quote(text, safe="")
    except UnicodeEncodeError:
        encoded = None
    if encoded is None:  # raised here: the UnicodeEncodeError holds the whole value
        raise ValueError(f"path parameter {name!r} {_why_unencodable(text)[0]}")
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


def _query_pairs(key: str, value: Any, depth: int = 2) -> Iterator[tuple[str, str]]:
    if value is None or value is UNSET:
        return
    if isinstance(value, (list, tuple, set, frozenset)):
        if depth > MAX_JSON_DEPTH:  # `depth`: the level of a list or object here, the query's is 1
            raise _TooDeep
        # Repeated keys; the wire name already carries "[]" where Knock wants it.
        for item in value:
            yield from _query_pairs(key, item, depth + 1)
    elif isinstance(value, Mapping) or attrs.has(type(value)):
        if depth > MAX_JSON_DEPTH:
            raise _TooDeep
        # Objects travel as key[field]=value (deepObject), the way Knock parses them;
        # in a list that gives key[][field]=value.
        for field, item in _unstructure(value).items():
            yield from _query_pairs(f"{key}[{field}]", item, depth + 1)
    else:
        yield key, _query_value(value)


def encode_query(query: Mapping[str, Any], operation_id: str = "") -> str:
    try:
        return "&".join(_query_items(query))
    except (RecursionError, UnicodeEncodeError, _TooDeep) as exc:
        failure: Exception = exc
    # Raised outside the `except`: a UnicodeEncodeError holds the whole value, maybe a secret.
    raise unencodable(operation_id, query.items()) or as_refusal(failure)


def _query_items(query: Mapping[str, Any]) -> list[str]:
    # What urlencode over all the pairs makes, item by item: the common str and int values
    # (page_size, cursors) quoted as urlencode quotes them (quote_plus, safe=""), without its
    # generic machinery; any other value goes through urlencode itself.
    items = []
    for key, value in query.items():
        kind = type(value)
        if type(key) is str and (kind is str or kind is int):
            items.append(f"{quote_plus(key)}={quote_plus(value if kind is str else str(value))}")
        else:
            general = urlencode(list(_query_pairs(key, value)))
            if general:  # None, UNSET and empty lists give no pair
                items.append(general)
    return items


# --- body ---------------------------------------------------------------------------------


def _unstructure(value: Any) -> Any:
    # Imported on first use: cattrs is not needed until a model or a datetime is sent.
    from ._convert import converter

    return converter.unstructure(value)


def _json_value(value: Any) -> Any:
    kind = type(value)
    if kind in JSON_SCALARS:
        return value
    # A list or a str-keyed dict of scalars (ids, `recipients`, a flat `data`) is JSON as it
    # is: copied, as unstructuring would (the caller may change theirs while the call runs,
    # and the payload is what an error's secrets are found in), without the converter's walk.
    if kind is list and all(type(item) in JSON_SCALARS for item in value):
        return value.copy()
    if kind is dict and all(type(key) is str and type(item) in JSON_SCALARS for key, item in value.items()):
        return value.copy()
    return _unstructure(value)


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


def encode_body(
    operation_id: str, body: Mapping[str, Any] | None, extra_body: Mapping[str, Any] | None
) -> tuple[dict[str, Any], bytes]:
    """The JSON payload and its bytes; a value JSON cannot carry is refused, by its name."""
    try:
        payload = build_payload(body, extra_body)
        data = encode_json(payload).encode()
        if not nests_deeper(data, MAX_JSON_DEPTH):
            return payload, data
        raise _TooDeep
    except (RecursionError, UnicodeEncodeError, ValueError, _TooDeep) as exc:
        # ValueError: json's "Circular reference detected" and "Out of range float values".
        failure: Exception = exc
    given = [*(body.items() if body else ()), *(extra_body.items() if extra_body else ())]
    # Raised outside the `except`: a UnicodeEncodeError holds the whole body, maybe a secret.
    # No value to blame: the failure is not about encoding (a name given twice, say).
    raise unencodable(operation_id, given) or as_refusal(failure)


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
            key, each = steps[0]
            # What values_at would look into first: most calls give no such object (a
            # trigger's `tenant` is an id), and then the walk is skipped.
            if isinstance(given.get(key), list if each else Mapping):
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


# --- declared kinds -----------------------------------------------------------------------

# The Python types that are, without a doubt, of each JSON kind (the fast path: `type(v) in`).
_KIND_TYPES: Final[dict[str, frozenset[type]]] = {
    "string": frozenset({str}),
    "integer": frozenset({int}),
    "number": frozenset({int, float}),
    "boolean": frozenset({bool}),
    "object": frozenset({dict}),
    "array": frozenset({list, tuple}),
    "null": frozenset({type(None)}),
}
# Types whose name says their kind: an error names them alone ("got int", not "got int (integer)").
_PLAIN_TYPES: Final = frozenset({str, int, float, bool, dict, list, tuple})
_KIND_TOKEN = re.compile(r"(\w+)(?:\[([\w|]*)\])?")


class KindCheck:
    """The JSON kinds one parameter takes, from its kind spec (see `Operation.query_kinds`)."""

    __slots__ = ("declared", "item_declared", "item_kinds", "item_types", "kinds", "types")

    def __init__(self, declared: str) -> None:
        self.declared = declared
        kinds, items = _parse_kinds(declared)
        self.item_declared = "|".join(sorted(items, key=list(_KIND_TYPES).index))
        self.kinds = _with_integers(kinds)
        self.types = frozenset(t for kind in kinds for t in _KIND_TYPES[kind])
        self.item_kinds = _with_integers(items) if items else None
        self.item_types = frozenset(t for kind in items for t in _KIND_TYPES[kind]) if items else None


def _parse_kinds(declared: str) -> tuple[frozenset[str], frozenset[str]]:
    kinds: set[str] = set()
    items: set[str] = set()
    for match in _KIND_TOKEN.finditer(declared):
        kind, inner = match.groups()
        if kind not in _KIND_TYPES:
            raise ValueError(f"unknown JSON kind {kind!r} in the kind spec {declared!r}")
        kinds.add(kind)
        if inner:
            items.update(inner.split("|"))
    unknown = items - _KIND_TYPES.keys()
    if unknown:
        raise ValueError(f"unknown JSON kinds {sorted(unknown)} in the kind spec {declared!r}")
    return frozenset(kinds), frozenset(items)


def _with_integers(kinds: frozenset[str]) -> frozenset[str]:
    return kinds | {"integer"} if "number" in kinds else kinds


def kind_checks(declared: tuple[tuple[str, str], ...]) -> dict[str, KindCheck]:
    return {name: KindCheck(spec) for name, spec in declared if spec != "any"}


def _names(declared: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """Each declared wire name by itself without "[]"."""
    return {name.removesuffix("[]"): name for name, _ in declared}


def json_kind(value: Any) -> str | None:
    """The JSON kind `value` is sent as; None for a value of no JSON kind (bytes, say),
    which a parameter of declared kinds refuses."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    if isinstance(value, enum.Enum):
        return json_kind(value.value)
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if value is None:
        return "null"
    if isinstance(value, dt.date):  # datetimes too
        return "string"
    if isinstance(value, Mapping) or attrs.has(type(value)):
        return "object"
    if isinstance(value, (Sequence, set, frozenset)) and not isinstance(value, (bytes, bytearray)):
        return "array"
    return None


def check_kinds(plan: Plan, query: Mapping[str, Any] | None, body: Mapping[str, Any] | None) -> None:
    """Refuse a value whose JSON kind the document does not allow for its parameter, at the
    top level and one level into lists (None in the query means "not given")."""
    if query and plan.query_checks:
        _check_kinds(plan, query, plan.query_checks, skip_none=True)
    if body and plan.body_checks:
        _check_kinds(plan, body, plan.body_checks, skip_none=False)


def _check_kinds(plan: Plan, given: Mapping[str, Any], checks: dict[str, KindCheck], skip_none: bool) -> None:
    for name, value in given.items():
        if value is UNSET or (skip_none and value is None):
            continue
        check = checks.get(name)
        if check is None:
            continue
        kind = type(value)
        if kind in check.types:  # the fast path: a plain value of a declared kind
            if check.item_types is None or (kind is not list and kind is not tuple):
                continue
        elif json_kind(value) not in check.kinds:
            _refuse_kind(plan, name, check.declared, value)
        elif check.item_types is None or json_kind(value) != "array":
            continue
        _check_items(plan, name, value, check)


def _check_items(plan: Plan, name: str, value: Any, check: KindCheck) -> None:
    item_types, item_kinds = check.item_types, check.item_kinds
    assert item_types is not None and item_kinds is not None  # checked by the caller
    for position, item in enumerate(value):
        if type(item) not in item_types and json_kind(item) not in item_kinds:
            declared = f"{check.item_declared} (the items of {name!r}: {check.declared})"
            _refuse_kind(plan, f"{name}[{position}]", declared, item)


def _refuse_kind(plan: Plan, where: str, declared: str, value: Any) -> None:
    # The value itself is not shown: it may be a credential given in the wrong place.
    raise TypeError(f"{plan.op.id}: {where!r} takes {declared}, got {_kind_name(value)}")


def _kind_name(value: Any) -> str:
    if value is None:
        return "None"
    kind = json_kind(value)
    name = type(value).__name__
    return name if kind is None or type(value) in _PLAIN_TYPES else f"{name} ({kind})"


# --- extra parameters ---------------------------------------------------------------------


def add_extras(
    plan: Plan,
    query: Mapping[str, Any] | None,
    extra_body: Mapping[str, Any] | None,
    options: RequestOptions,
) -> tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]:
    """`query` and `extra_body` with the options' `extra_query` and `extra_body` added.

    An extra parameter is for what the document lacks: one by the name of a declared
    parameter ("[]" or not), or of a key the call already gives, is refused, naming both.
    """
    if options.extra_query:
        _check_extras(plan, "extra_query", options.extra_query, plan.query_names, query, "query parameter")
        query = {**query, **options.extra_query} if query else options.extra_query
    if options.extra_body:
        if not plan.writes:
            raise ValueError(
                f"{plan.op.id}: a GET request carries no body, so extra_body cannot be sent; use extra_query"
            )
        _check_extras(plan, "extra_body", options.extra_body, plan.body_names, extra_body, "body property")
        extra_body = {**extra_body, **options.extra_body} if extra_body else options.extra_body
    return query, extra_body


def _check_extras(
    plan: Plan,
    label: str,
    extras: Mapping[str, Any],
    declared: Mapping[str, str],
    given: Mapping[str, Any] | None,
    what: str,
) -> None:
    for key in extras:
        name = declared.get(key.removesuffix("[]")) if isinstance(key, str) else None
        if name is not None:
            raise ValueError(
                f"{plan.op.id}: {label}[{key!r}] is the declared {what} {name!r}; "
                f"pass it as that argument ({label} is for parameters the document lacks)"
            )
        if given and key in given:
            raise ValueError(f"{plan.op.id}: {label}[{key!r}] is also given by the call itself; give it once")


# --- values JSON (or a URL) cannot carry --------------------------------------------------

# Levels of arrays and objects in a request body or query, the body itself counted as one.
# Far more than any Knock payload needs; and a fixed limit, so that what is refused does not
# depend on Python's recursion limit (which the converter would meet a few hundred levels down).
MAX_JSON_DEPTH: Final = 128


class _TooDeep(Exception):
    """Raised while encoding, caught in this module: a value nests beyond MAX_JSON_DEPTH."""


_BRACKETS_AS_BRACES: Final = bytes.maketrans(b"[]", b"{}")
_NOT_STRUCTURE: Final = bytes(byte for byte in range(256) if byte not in b'[]{}"')
_STRING_WITH_BRACKETS: Final = re.compile(rb'"[^"]*"')


def nests_deeper(data: bytes, limit: int) -> bool:
    """Whether the JSON `data` nests arrays and objects deeper than `limit`: a few C-speed
    passes over its bytes, none at all when it has too few brackets to be that deep."""
    if data.count(b"{") + data.count(b"[") <= limit:
        return False
    if b"\\" in data:  # drop escaped backslashes, then escaped quotes: the quotes left delimit strings
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    # Only brackets and quotes are kept, brackets as braces (the kind does not change the depth).
    # Adjacent quotes go at once: an empty string, or two strings joined into one, so what was
    # inside a string stays inside one; the strings left hold brackets, and go by the expression.
    skeleton = data.translate(_BRACKETS_AS_BRACES, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in skeleton:
        skeleton = _STRING_WITH_BRACKETS.sub(b"", skeleton)
    for _ in range(limit):  # each pass removes the innermost level everywhere
        if not skeleton:
            return False
        skeleton = skeleton.replace(b"{}", b"")
    return bool(skeleton)


def unencodable(operation_id: str, given: Iterable[tuple[str, Any]]) -> ValueError | None:
    """The refusal of a value that failed to encode, naming the parameter that holds it;
    None when no value explains the failure. Worked out only after one: the walk costs what
    the encoding did."""
    prefix = f"{operation_id}: " if operation_id else ""
    deepest: tuple[int, str] = (0, "")
    for name, value in given:
        if value is UNSET:
            continue
        problem = _surrogate(name) if isinstance(name, str) else None
        if problem:
            return ValueError(f"{prefix}the name {name!r} {problem}; nothing was sent")
        problem, depth = _why_unencodable(value)
        if problem:
            return ValueError(f"{prefix}{name!r} {problem}; nothing was sent")
        if depth > deepest[0]:  # by depth alone: names need not be comparable (extra_query's keys)
            deepest = (depth, name)
    depth, name = deepest
    if depth >= MAX_JSON_DEPTH:  # the body (or the query) itself is a level too
        return ValueError(
            f"{prefix}{name!r} is nested {depth} levels deep, more than the {MAX_JSON_DEPTH - 1} "
            "a parameter may nest; nothing was sent"
        )
    if depth > 1:  # within the limit, yet beyond Python's recursion limit from where it was called
        return ValueError(
            f"{prefix}{name!r} is nested {depth} levels deep, too deep to encode; nothing was sent"
        )
    return None


def as_refusal(failure: Exception) -> Exception:
    """A failure no value explains, as it may be raised: a UnicodeEncodeError holds the whole
    text it failed on (a body with a credential, say), so only its reason is kept."""
    if isinstance(failure, UnicodeEncodeError):
        return ValueError(
            f"a value holds a character UTF-8 cannot encode ({failure.reason}); nothing was sent"
        )
    return failure


def _why_unencodable(value: Any) -> tuple[str | None, int]:
    """Why `value` cannot be encoded (a cycle, a lone surrogate, nan or infinity), if it
    cannot, and how deep it is nested. Iterative: the value may be nested beyond recursion."""
    ancestors: set[int] = set()  # the containers on the path to the current one
    stack: list[Any] = [(value, 1)]
    deepest = 0
    while stack:
        entry = stack.pop()
        if type(entry) is int:  # leaving the container with this id
            ancestors.discard(entry)
            continue
        node, depth = entry
        if isinstance(node, str):
            problem = _surrogate(node)
            if problem:
                return problem, deepest
            continue
        if isinstance(node, float) and not math.isfinite(node):
            return f"holds {node!r}, which JSON cannot carry", deepest
        children = _children(node)
        if children is None:
            continue
        deepest = max(deepest, depth)  # levels of lists and objects, as JSON nests them
        if id(node) in ancestors:
            return "contains itself (a circular reference)", deepest
        ancestors.add(id(node))
        stack.append(id(node))
        stack.extend((child, depth + 1) for child in children)
    return None, deepest


def _surrogate(text: str) -> str | None:
    if text.isascii():
        return None
    try:
        text.encode()
    except UnicodeEncodeError as exc:
        code = ord(text[exc.start])
        return (
            f"holds a lone surrogate (U+{code:04X}, at position {exc.start} of a string), "
            "which UTF-8 cannot encode"
        )
    return None


def _children(node: Any) -> list[Any] | None:
    if isinstance(node, Mapping):
        return [*node.keys(), *node.values()]
    if isinstance(node, (list, tuple, set, frozenset)):
        return list(node)
    if attrs.has(type(node)):
        return [getattr(node, field.name) for field in attrs.fields(type(node))]
    return None
