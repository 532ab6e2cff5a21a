"""What each method of the installed knockapi sends, read from its source with `ast`.

knockapi (Knock's official SDK, a pinned dev dependency) is never imported: its resource
modules are parsed. For every method of an `Async...Resource` class that sends a request
(`self._get(...)`, `self._put(...)`, `self._get_api_list(...)`, ...), the HTTP method, the path
template it hands `path_template`, its positional parameters (those before `*`) and whether
it returns `None` are recorded under its dotted name, found by following the client's `cached_property`
namespaces (`AsyncKnock.users` -> `AsyncUsersResource.guides` -> ...).
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import importlib.util
from pathlib import Path

import attrs

_SENDERS = {
    "_get": "GET",
    "_get_api_list": "GET",
    "_post": "POST",
    "_put": "PUT",
    "_patch": "PATCH",
    "_delete": "DELETE",
}


@attrs.frozen
class Route:
    method: str
    path: str
    positional: tuple[str, ...]
    returns_none: bool  # knockapi's `cast_to=NoneType`: the call gives `None`
    # knockapi's keyword-only parameters, without its per-call request options; not compared
    # with ours in Route equality (our keyword names are checked on their own)
    keywords: tuple[str, ...] = attrs.field(default=(), eq=False)


# knockapi's per-call request options: knock-async takes them as `options=RequestOptions(...)`.
REQUEST_OPTIONS = frozenset({"extra_headers", "extra_query", "extra_body", "timeout", "idempotency_key"})


def knockapi_version() -> str:
    return importlib.metadata.version("knockapi")


def _package_dir() -> Path:
    found = importlib.util.find_spec("knockapi")
    assert found is not None and found.submodule_search_locations, "knockapi is a dev dependency"
    return Path(next(iter(found.submodule_search_locations)))


@attrs.frozen
class _Class:
    """A class and the module it is defined in (knockapi reuses names such as AsyncBulkResource)."""

    module: Path
    node: ast.ClassDef


@functools.cache
def _parse(module: Path) -> ast.Module:
    return ast.parse(module.read_text())


def _imported_module(module: Path, node: ast.ImportFrom) -> Path:
    base = module.parent
    for _ in range(node.level - 1):
        base = base.parent
    target = base.joinpath(*(node.module or "").split("."))
    return target / "__init__.py" if target.is_dir() else target.with_suffix(".py")


def _find_class(module: Path, name: str) -> _Class:
    """The class `name` as seen from `module`: defined there, or followed through its imports."""
    tree = _parse(module)
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return _Class(module, node)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level and any(a.name == name for a in node.names):
            return _find_class(_imported_module(module, node), name)
    raise LookupError(f"{name} not found from {module}")


def _is_namespace(function: ast.FunctionDef) -> bool:
    return any(isinstance(d, ast.Name) and d.id == "cached_property" for d in function.decorator_list)


def _path_of(argument: ast.expr) -> str | None:
    """The path template of a sender's first argument: a literal or `path_template("...", ...)`."""
    if isinstance(argument, ast.Call) and isinstance(argument.func, ast.Name):
        argument = argument.args[0] if argument.func.id == "path_template" and argument.args else argument
    return argument.value if isinstance(argument, ast.Constant) and isinstance(argument.value, str) else None


def _casts_to_none(send: ast.Call) -> bool:
    cast = next((k.value for k in send.keywords if k.arg == "cast_to"), None)
    return isinstance(cast, ast.Name) and cast.id == "NoneType"


def _route(function: ast.FunctionDef | ast.AsyncFunctionDef) -> Route | None:
    for node in ast.walk(function):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "self"
            and node.func.attr in _SENDERS
            and node.args
        ):
            path = _path_of(node.args[0])
            assert path is not None, f"{function.name}: a path knockapi_surface cannot read"
            positional = tuple(argument.arg for argument in function.args.args[1:])
            keywords = tuple(a.arg for a in function.args.kwonlyargs if a.arg not in REQUEST_OPTIONS)
            return Route(_SENDERS[node.func.attr], path, positional, _casts_to_none(node), keywords)
    return None


def _walk(found: _Class, prefix: str) -> dict[str, Route]:
    routes: dict[str, Route] = {}
    for node in found.node.body:
        if isinstance(node, ast.FunctionDef) and _is_namespace(node):
            returned = node.returns
            if isinstance(returned, ast.Name) and returned.id.endswith("Resource"):
                routes |= _walk(_find_class(found.module, returned.id), f"{prefix}{node.name}.")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
            route = _route(node)
            if route is not None:
                routes[f"{prefix}{node.name}"] = route
    return routes


def knockapi_routes() -> dict[str, Route]:
    """Every method of knockapi's AsyncKnock that sends a request, by dotted name."""
    return _walk(_find_class(_package_dir() / "_client.py", "AsyncKnock"), "")
