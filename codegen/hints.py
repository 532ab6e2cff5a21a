"""The one schema -> Python type mapper of the resource methods and the API surface.

The models get their types from datamodel-code-generator; tests/codegen checks that both
give the same type for the same schema.
"""

from __future__ import annotations

from typing import Any

from .spec import Schema, ref_name, resolve


class TypeNamer:
    """Python type hints for schemas, naming generated models as `models.X`.

    `accept_dict=True` gives what a method parameter accepts (a mapping where a model goes,
    `Sequence` for lists); `accept_dict=False` what a model field or a response holds.
    """

    def __init__(self, spec: Schema, model_names: set[str]) -> None:
        self.spec = spec
        self.model_names = model_names
        self.discriminators = _discriminator_values(spec)

    def field_hint(self, model: str, wire: str, node: Schema) -> str:
        """The type of a model's field: a union's discriminator property holds the literal
        values that name this model in the union's mapping."""
        values = self.discriminators.get((model, wire))
        return _literal(values) if values else self.hint(node, accept_dict=False)

    def hint(self, node: Schema, *, accept_dict: bool) -> str:
        parts = self._parts(node, accept_dict)
        return " | ".join(dict.fromkeys(parts))

    def _parts(self, node: Schema, accept_dict: bool) -> list[str]:
        name = ref_name(node)
        if name is not None:
            if name not in self.model_names:
                raise SystemExit(f"schema {name} has no generated model")
            target = resolve(self.spec, node)
            if "enum" in target:  # parameters take the values (the enum's members are str too)
                return [f"models.{enum_values_alias(name)}" if accept_dict else f"models.{name}"]
            takes_dict = accept_dict and (target.get("type") == "object" or _is_union(target))
            return [f"models.{name}", "Mapping[str, Any]"] if takes_dict else [f"models.{name}"]
        for key in ("oneOf", "anyOf"):
            if key in node:
                return [part for member in node[key] for part in self._parts(member, accept_dict)]
        if "const" in node:
            return [_literal([node["const"]])]
        kind = node.get("type", "object" if "properties" in node else None)
        if isinstance(kind, list):
            # As the models have it: a nullable object is a dict of anything.
            plain = {key: value for key, value in node.items() if key != "additionalProperties"}
            return [part for each in kind for part in self._parts({**plain, "type": each}, accept_dict)]
        if kind == "null":
            return ["None"]
        if kind == "array":
            inner = self.hint(node.get("items", {}), accept_dict=accept_dict)
            # builtins.list: a namespace's own `list` method would shadow the builtin
            return [f"Sequence[{inner}]" if accept_dict else f"builtins.list[{inner}]"]
        if kind == "string" and "enum" in node:
            return [_literal(node["enum"])]
        scalar = _SCALARS.get((kind, node.get("format")), _SCALARS.get((kind, None)))
        if scalar:
            return [scalar]
        if kind == "object":
            values = node.get("additionalProperties")
            inner = "Any"
            if isinstance(values, dict) and values:  # a schema for the values, not just `true`
                inner = self.hint(values, accept_dict=accept_dict)
            return [f"Mapping[str, {inner}]" if accept_dict else f"dict[str, {inner}]"]
        return ["Any"]


def enum_values_alias(enum_name: str) -> str:
    """The `Literal` alias the models module defines next to each enum (see Enum.jinja2)."""
    return f"{enum_name}Value"


_SCALARS: dict[tuple[str | None, str | None], str] = {
    ("string", None): "str",
    ("string", "date-time"): "datetime.datetime",
    ("string", "date"): "datetime.date",
    ("integer", None): "int",
    ("number", None): "float",
    ("boolean", None): "bool",
}


def _discriminator_values(spec: Schema) -> dict[tuple[str, str], list[str]]:
    """(model, property) -> the values of that discriminator property that name the model."""
    found: dict[tuple[str, str], list[str]] = {}
    pending: list[Any] = [spec.get("components", {})]
    while pending:  # every discriminator, however deep in a schema
        node = pending.pop()
        if isinstance(node, dict):
            discriminator = node.get("discriminator", {})
            for value, ref in discriminator.get("mapping", {}).items():
                key = (ref.rsplit("/", 1)[-1], discriminator["propertyName"])
                found.setdefault(key, []).append(value)
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return {key: sorted(set(values)) for key, values in found.items()}


def _literal(values: list[Any]) -> str:
    return "Literal[" + ", ".join(repr(v) for v in values) + "]"


def _is_union(node: Schema) -> bool:
    return "oneOf" in node or "anyOf" in node
