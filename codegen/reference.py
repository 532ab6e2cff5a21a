"""docs/api.md: a reference of every method, rendered from the same `Method`s as the code.

Each method shows its signature as the generated code has it, its HTTP route, rate tier,
return type, pagination, bulk and deprecation, so the reference cannot drift from the SDK
(`python -m codegen --check` compares it like the generated code).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import jinja2

from .resources import extension, read_methods
from .spec import Method, Schema

REFERENCE = Path(__file__).resolve().parent.parent / "docs" / "api.md"

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("codegen", "templates/reference"),
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
)
_env.globals["extension"] = extension


def render_reference(spec: Schema) -> str:
    """The text of docs/api.md for the document `spec` (its models: one per schema, by name)."""
    by_namespace: dict[str, list[Method]] = defaultdict(list)
    for method in read_methods(spec, set(spec.get("components", {}).get("schemas", {}))):
        by_namespace[".".join(method.namespace)].append(method)
    namespaces = {name: sorted(by_namespace[name], key=lambda m: m.name) for name in sorted(by_namespace)}
    count = sum(len(methods) for methods in namespaces.values())
    return _env.get_template("api.md.jinja2").render(
        namespaces=namespaces, count=count, title=spec["info"]["title"], version=spec["info"]["version"]
    )


def anchor(method: Method) -> str:
    """The heading's GitHub anchor: lower case, dots dropped."""
    return method.operation_id.replace(".", "").lower()


def keyword_params(method: Method) -> list[tuple[str, str, bool]]:
    """(name, annotation, required) of the keyword-only parameters, in the generated order."""
    params = [*method.query_params, *method.body_params, *([method.body_map] if method.body_map else [])]
    ordered = sorted(params, key=lambda p: not p.required)
    shown = [(p.name, p.annotation, p.required) for p in ordered]
    if method.custom_properties:
        shown.append(("custom_properties", "Mapping[str, Any] | None", False))
    if extension(method, "pagination"):
        shown.append(("limit", "int | None", False))
    return [*shown, ("options", "RequestOptions | None", False)]


def returns(method: Method) -> str:
    if extension(method, "pagination"):
        return f"AsyncPager[{method.page_item_hint}, {method.response_hint}]"
    return method.response_hint


_env.globals.update(anchor=anchor, keyword_params=keyword_params, returns=returns)
