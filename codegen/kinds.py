"""The JSON kinds a parameter's schema allows, as the runtime checks them before sending.

A kind spec is a string: kinds joined by "|", where a kind is one of string, integer, number,
boolean, null, object, array, or array[...] naming the kinds its items may be ("array[string|object]").
Only the top level and one level into lists are described: the runtime checks no deeper.
None means "anything": some part of the schema does not constrain the value.
"""

from __future__ import annotations

from typing import Any

from .spec import Schema, resolve

_KINDS = ("string", "integer", "number", "boolean", "object", "array", "null")
_CONST_KINDS: dict[type, str] = {str: "string", bool: "boolean", int: "integer", float: "number"}


def kind_spec(spec: Schema, node: Schema) -> str | None:
    """The kind spec of `node`, or None when a value of any kind may fit it."""
    kinds = _kinds(spec, node)
    if kinds is None:
        return None
    return "|".join(sorted(kinds, key=_order))


def _order(kind: str) -> int:
    return _KINDS.index(kind.split("[")[0])


def _kinds(spec: Schema, node: Schema) -> set[str] | None:
    node = resolve(spec, node)
    members = [*node.get("oneOf", []), *node.get("anyOf", [])]
    if members:
        found: set[str] = set()
        for member in members:
            kinds = _kinds(spec, member)
            if kinds is None:
                return None
            found |= kinds
        return _merge_arrays(found)
    if "allOf" in node:
        return None  # an intersection; too rare in parameters to be worth describing
    kinds = _declared(node)
    if kinds is None:
        return None
    if node.get("nullable"):
        kinds.add("null")
    if "array" in kinds:
        items = _kinds(spec, node.get("items", {}))
        kinds.discard("array")
        kinds.add("array" if items is None else f"array[{'|'.join(sorted(_flat(items), key=_order))}]")
    return kinds


def _declared(node: Schema) -> set[str] | None:
    if "const" in node:
        return _value_kinds([node["const"]])
    kind = node.get("type")
    if kind is None:
        if "properties" in node or "additionalProperties" in node:
            return {"object"}
        return _value_kinds(node["enum"]) if "enum" in node else None
    kinds = set(kind) if isinstance(kind, list) else {kind}
    if "integer" in kinds and "number" in kinds:
        kinds.discard("integer")  # a number already takes every integer
    return kinds


def _value_kinds(values: list[Any]) -> set[str] | None:
    kinds = set()
    for value in values:
        if value is None:
            kinds.add("null")
        elif type(value) in _CONST_KINDS:
            kinds.add(_CONST_KINDS[type(value)])
        else:
            return None
    return kinds


def _flat(kinds: set[str]) -> set[str]:
    """Item kinds one level down: a list in a list is only known to be an array."""
    return {kind.split("[")[0] for kind in kinds}


def _merge_arrays(kinds: set[str]) -> set[str] | None:
    """One array kind for a union of several: `array` (any items) wins, else the items join."""
    arrays = {kind for kind in kinds if kind.startswith("array")}
    if len(arrays) <= 1:
        return kinds
    rest = kinds - arrays
    if "array" in arrays:
        return rest | {"array"}
    items = {item for kind in arrays for item in kind[len("array[") : -1].split("|")}
    return rest | {f"array[{'|'.join(sorted(items, key=_order))}]"}
