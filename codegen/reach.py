"""What a request body can hold, found by walking its schema through $refs, unions, arrays
and additionalProperties: the secrets it may carry, and the lists nested in it."""

from __future__ import annotations

from collections.abc import Iterator

from .spec import Schema, ref_name, resolve


def secret_fields(spec: Schema, node: Schema) -> frozenset[str]:
    """Wire names of the `x-knock-secret` properties reachable from `node`."""
    reachable = _reachable_properties(spec, node, set())
    return frozenset(wire for wire, prop in reachable if prop.get("x-knock-secret"))


def holds_secret(spec: Schema, node: Schema) -> bool:
    """Whether a value of this schema is, or can contain, a secret. (A model's field of such a
    type may still hold a plain dict at run time, which has no repr of its own to hide it.)"""
    return bool(node.get("x-knock-secret")) or bool(secret_fields(spec, node))


def list_paths(spec: Schema, node: Schema) -> list[str]:
    """Paths (in `Limit.field` syntax) of every list property reachable from an object schema:
    "a" for a list at the top, "a[].b" for the list `b` in each element of `a`, "a.b" for the
    list `b` in the object `a`. Sorted. A path that some union member declares as something
    else than a list is left out: a lone string may be valid there."""
    found: dict[str, bool] = {}
    for path, is_list in _list_paths(spec, node, "", frozenset()):
        found[path] = found.get(path, True) and is_list
    return sorted(path for path, is_list in found.items() if is_list)


def _reachable_properties(spec: Schema, node: Schema, seen: set[str]) -> Iterator[tuple[str, Schema]]:
    name = ref_name(node)
    if name is not None:
        if name in seen:  # a recursive schema: its properties are already walked
            return
        seen.add(name)
        node = resolve(spec, node)
    for member in _members(node):
        yield from _reachable_properties(spec, member, seen)
    for wire, prop in node.get("properties", {}).items():
        yield wire, prop
        yield from _reachable_properties(spec, prop, seen)


def _members(node: Schema) -> list[Schema]:
    """The schemas a value of `node` may (also) be: union members, array items, extra values."""
    members = [*node.get("oneOf", []), *node.get("anyOf", []), *node.get("allOf", [])]
    if isinstance(node.get("items"), dict):
        members.append(node["items"])
    if isinstance(node.get("additionalProperties"), dict):
        members.append(node["additionalProperties"])
    return members


def _list_paths(spec: Schema, node: Schema, prefix: str, seen: frozenset[str]) -> Iterator[tuple[str, bool]]:
    """(path, whether it is a list) of every property reachable from `node`."""
    name = ref_name(node)
    if name in seen:
        return
    node = resolve(spec, node)
    seen = seen | {name} if name else seen
    for wire, prop in node.get("properties", {}).items():
        target = resolve(spec, prop)
        yield prefix + wire, _is_array(target)
        if _is_array(target):
            yield from _object_lists(spec, target.get("items", {}), f"{prefix}{wire}[].", seen)
        else:
            yield from _object_lists(spec, prop, f"{prefix}{wire}.", seen)
    for member in [*node.get("oneOf", []), *node.get("anyOf", []), *node.get("allOf", [])]:
        yield from _list_paths(spec, member, prefix, seen)


def _object_lists(
    spec: Schema, node: Schema, prefix: str, seen: frozenset[str]
) -> Iterator[tuple[str, bool]]:
    """The lists inside `node` when it is (or may be) an object with properties."""
    target = resolve(spec, node)
    if "properties" in target or any(key in target for key in ("oneOf", "anyOf", "allOf")):
        yield from _list_paths(spec, node, prefix, seen)


def _is_array(node: Schema) -> bool:
    kind = node.get("type")
    return kind == "array" or (isinstance(kind, list) and "array" in kind)
