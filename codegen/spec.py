"""Read the OpenAPI document into what the resource templates need: one `Method` per operation."""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import yaml

HTTP_METHODS = ("get", "put", "post", "patch", "delete")

Schema = dict[str, Any]


def load_spec(path: Path) -> Schema:
    with path.open() as handle:
        spec: Schema = yaml.safe_load(handle)
    return spec


def python_name(wire: str) -> str:
    """`include[]` -> `include`, `query_options[$top]` -> `query_options_top`, `__typename` -> `typename`."""
    name = re.sub(r"[^0-9a-zA-Z_]+", "_", wire).strip("_")
    name = re.sub(r"_+", "_", name)
    if not name or name[0].isdigit():
        name = f"field_{name}"
    return f"{name}_" if keyword.iskeyword(name) else name


def keyword_name(wire: str) -> str:
    """A method's keyword argument for a wire name, named as the official SDK (knockapi) names it:
    as `python_name`, but a `__dunder__` name keeps one leading underscore
    (`__persistence_strategy__` -> `_persistence_strategy`)."""
    name = python_name(wire)
    return f"_{name}" if wire.startswith("__") and wire.endswith("__") else name


@attrs.frozen
class Param:
    wire: str
    name: str
    hint: str
    required: bool
    description: str

    @property
    def takes_list(self) -> bool:
        return self.hint.startswith("Sequence[")

    @property
    def annotation(self) -> str:
        """The hint as the signature shows it: an optional parameter also takes UNSET."""
        if self.required:
            return self.hint
        if self.hint.endswith(" | None"):
            return f"Nullable[{self.hint.removesuffix(' | None')}]"
        return f"{self.hint} | Unset"


@attrs.frozen
class Method:
    operation_id: str
    namespace: tuple[str, ...]
    name: str
    http_method: str
    path: str
    summary: str
    description: str
    extensions: dict[str, Any]
    path_params: list[Param]
    query_params: list[Param]
    body_params: list[Param]
    custom_properties: bool  # the body schema accepts properties it does not declare
    response_hint: str  # "None" for no content
    response_runtime: str  # expression for Operation(response=...)
    page_item_hint: str | None  # set for paginated operations
    lists: list[str]  # query parameters and body paths that take a list (see Operation.lists)
    secret_fields: list[str]  # wire names of the secrets the body may carry
    deprecated: bool = False  # Knock still serves it; calling it warns
    body_map: Param | None = None  # the whole body, a map of the caller's keys (x-knock-body-map)


def iter_operations(spec: Schema) -> Iterator[tuple[str, str, Schema, list[Schema]]]:
    for path, item in spec["paths"].items():
        shared = item.get("parameters", [])
        for http_method in HTTP_METHODS:
            if http_method in item:
                yield path, http_method, item[http_method], shared


def resolve(spec: Schema, node: Schema) -> Schema:
    while "$ref" in node:
        target: Schema = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def ref_name(node: Schema) -> str | None:
    ref = node.get("$ref")
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None
