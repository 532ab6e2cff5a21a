"""Render one resource module per top-level namespace, and the root `Resources` class."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import attrs
import jinja2

from .hints import TypeNamer
from .kinds import kind_spec
from .reach import list_paths, secret_fields
from .spec import Method, Param, Schema, iter_operations, keyword_name, python_name, resolve

# Hand-written bases for generated namespaces that need more than the API's own calls.
NAMESPACE_BASES: dict[tuple[str, ...], tuple[str, str, str]] = {
    # (the model quoted: a base class is evaluated at import, and models load on first use)
    ("bulk_operations",): (
        "knock_async._bulk",
        "BulkOperationsBase",
        'BulkOperationsBase["models.BulkOperation"]',
    ),
}

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("codegen", "templates/resources"),
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
)


@attrs.frozen
class Namespace:
    path: tuple[str, ...]
    methods: list[Method]
    children: list[str]

    @property
    def class_name(self) -> str:
        return _class_name(self.path)

    @property
    def base(self) -> tuple[str, str, str] | None:
        return NAMESPACE_BASES.get(self.path)


def render_resources(spec: Schema, model_names: set[str], header: str) -> dict[str, str]:
    """Map of file name (relative to resources/) to its text."""
    methods = read_methods(spec, model_names)
    namespaces = _namespaces(methods)
    kinds = declared_kinds(spec)
    top_level = sorted({path[0] for path in namespaces})
    files = {}
    for top in top_level:
        members = [ns for path, ns in sorted(namespaces.items()) if path[0] == top]
        # children before parents, so a parent can name its children's classes
        members.sort(key=lambda ns: -len(ns.path))
        deprecated = any(m.deprecated for ns in members for m in ns.methods)
        files[f"{top}.py"] = _env.get_template("module.py.jinja2").render(
            header=header, namespaces=members, top=top, deprecated=deprecated, kinds=kinds
        )
    roots = [namespaces[(top,)] for top in top_level]
    secrets = sorted({wire for method in methods for wire in method.secret_fields})
    files["__init__.py"] = _env.get_template("root.py.jinja2").render(
        header=header, roots=roots, secret_fields=secrets
    )
    return files


def read_methods(spec: Schema, model_names: set[str]) -> list[Method]:
    """Every operation of the document, as the templates render it."""
    types = TypeNamer(spec, model_names)
    return [
        _method(spec, types, path, http_method, operation, shared)
        for path, http_method, operation, shared in iter_operations(spec)
    ]


Kinds = list[tuple[str, str]]  # (wire name, kind spec) of each declared parameter


def declared_kinds(spec: Schema) -> dict[str, tuple[Kinds, Kinds]]:
    """operationId -> the kind specs of its query parameters and of its body's properties
    (see codegen/kinds.py; "any" where the schema does not constrain the value)."""
    found = {}
    for _, _, op, shared in iter_operations(spec):
        params = [resolve(spec, p) for p in [*shared, *op.get("parameters", [])]]
        query = [(p["name"], _kind(spec, p.get("schema", {}))) for p in params if p["in"] == "query"]
        body = _body_schema(spec, op)
        properties = {} if body is None or "x-knock-body-map" in op else body.get("properties", {})
        found[op["operationId"]] = (query, [(wire, _kind(spec, prop)) for wire, prop in properties.items()])
    return found


def _kind(spec: Schema, node: Schema) -> str:
    return kind_spec(spec, node) or "any"


def _namespaces(methods: list[Method]) -> dict[tuple[str, ...], Namespace]:
    by_path: dict[tuple[str, ...], list[Method]] = defaultdict(list)
    for method in methods:
        for depth in range(1, len(method.namespace)):
            by_path.setdefault(method.namespace[:depth], [])
        by_path[method.namespace].append(method)
    namespaces = {}
    for path, members in by_path.items():
        children = sorted(
            other[-1] for other in by_path if other[:-1] == path and len(other) == len(path) + 1
        )
        names = [m.name for m in members]
        if len(names) != len(set(names)) or set(names) & set(children):
            raise SystemExit(f"namespace {'.'.join(path)}: duplicate method names {sorted(names)}")
        namespaces[path] = Namespace(path, sorted(members, key=lambda m: m.name), children)
    return namespaces


def _method(
    spec: Schema, types: TypeNamer, path: str, http_method: str, op: Schema, shared: list[Schema]
) -> Method:
    operation_id: str = op["operationId"]
    *namespace, name = operation_id.split(".")
    if not namespace:
        raise SystemExit(f"operationId {operation_id!r} must be <namespace>.<method>")
    params = [resolve(spec, p) for p in [*shared, *op.get("parameters", [])]]
    path_params = [_param(types, p) for p in params if p["in"] == "path"]
    ordered = sorted(path_params, key=lambda p: path.index("{" + p.wire + "}"))
    query_params = [_param(types, p) for p in params if p["in"] == "query"]
    body = _body_schema(spec, op)
    body_params, custom = _body(types, op, body)
    response_hint, response_runtime, item_hint = _response(spec, types, op)
    method = Method(
        operation_id=operation_id,
        namespace=tuple(namespace),
        name=name,
        http_method=http_method.upper(),
        path=path,
        summary=_text(op.get("summary", "")),
        description=_text(op.get("description", "")),
        extensions={k: v for k, v in op.items() if k.startswith("x-knock-")},
        path_params=ordered,
        query_params=query_params,
        body_params=body_params,
        custom_properties=custom,
        response_hint=response_hint,
        response_runtime=response_runtime,
        page_item_hint=item_hint,
        lists=sorted({p.wire for p in query_params if p.takes_list} | set(list_paths(spec, body or {}))),
        secret_fields=sorted(secret_fields(spec, body or {})),
        deprecated=bool(op.get("deprecated")),
        body_map=_body_map(spec, types, op),
    )
    body_map = [method.body_map] if method.body_map else []
    taken = [p.name for p in [*ordered, *query_params, *body_params, *body_map]] + [
        "options",
        "limit",
        "custom_properties",
    ]
    if len(taken) != len(set(taken)):
        raise SystemExit(f"{operation_id}: two parameters share a Python name: {sorted(taken)}")
    return method


def _param(types: TypeNamer, p: Schema) -> Param:
    return Param(
        wire=p["name"],
        name=keyword_name(p["name"]),
        hint=types.hint(p.get("schema", {}), accept_dict=True),
        required=bool(p.get("required")),
        description=_text(p.get("description", "")),
    )


def _body_schema(spec: Schema, op: Schema) -> Schema | None:
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    return None if content is None else resolve(spec, content["schema"])


def _body(types: TypeNamer, op: Schema, schema: Schema | None) -> tuple[list[Param], bool]:
    if schema is None or "x-knock-body-map" in op:
        return [], False
    if "properties" not in schema:
        raise SystemExit(f"{op['operationId']}: the request body must be an object schema with properties")
    required = set(schema.get("required", []))
    params = [
        Param(
            wire=wire,
            name=keyword_name(wire),
            hint=types.hint(prop, accept_dict=True),
            required=wire in required,
            description=_text(prop.get("description", "")),
        )
        for wire, prop in schema["properties"].items()
    ]
    return params, schema.get("additionalProperties") not in (None, False)


def _body_map(spec: Schema, types: TypeNamer, op: Schema) -> Param | None:
    """The one argument that is the whole body, when the body is a map of the caller's keys."""
    name = op.get("x-knock-body-map")
    if name is None:
        return None
    schema = resolve(spec, op["requestBody"]["content"]["application/json"]["schema"])
    values = schema.get("additionalProperties")
    if not isinstance(values, dict) or "properties" in schema:
        raise SystemExit(f"{op['operationId']}: x-knock-body-map needs a body of additionalProperties only")
    return Param(
        wire=name,
        name=python_name(name),
        hint=f"Mapping[str, {types.hint(values, accept_dict=True)}]",
        required=True,
        description=_text(schema.get("description", "")),
    )


def _response(spec: Schema, types: TypeNamer, op: Schema) -> tuple[str, str, str | None]:
    success = [code for code in op["responses"] if str(code).startswith("2")]
    content = None
    for code in success:
        content = (op["responses"][code].get("content") or {}).get("application/json") or content
    if content is None:
        return "None", "None", None
    schema = content["schema"]
    hint = types.hint(schema, accept_dict=False)
    # Models are built on first use (see models/__init__.py): name them, don't touch them now.
    runtime = f"Deferred(lambda: {hint})" if "models." in hint else hint
    pagination = op.get("x-knock-pagination")
    if not pagination:
        return hint, runtime, None
    page = resolve(spec, schema)
    items = page["properties"][pagination["items"]]
    return hint, runtime, types.hint(items["items"], accept_dict=False)


def _text(text: str) -> str:
    return " ".join(text.split()).replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


def extension(method: Method, key: str, default: Any = None) -> Any:
    return method.extensions.get(f"x-knock-{key}", default)


def _class_name(path: tuple[str, ...]) -> str:
    return "".join(part.title().replace("_", "") for part in path)


_env.globals["extension"] = extension
_env.filters.update(
    constant=lambda operation_id: "_" + operation_id.upper().replace(".", "_"),
    python_name=python_name,
    python_path=lambda dotted: ".".join(python_name(part) for part in dotted.split(".")),
    class_name=_class_name,
    qualify=lambda child, path: "`" + ".".join((*path, child)) + "`",
)
