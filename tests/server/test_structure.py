"""How the embedded server is put together: no import circle inside testing/ (type-only imports
included), and what each handler declares for the request path."""

from __future__ import annotations

import ast
from pathlib import Path

import knock_async.testing
from knock_async.testing._routes import HANDLERS, discover_operations

PACKAGE = Path(knock_async.testing.__file__).parent
NAME = "knock_async.testing"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    parts = parts[:-1] if parts[-1] == "__init__" else parts
    return ".".join((NAME, *parts))


def _imports(path: Path) -> set[str]:
    """The modules of the package `path` imports, at any depth (relative and absolute)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            target = ".".join(part for part in (base, node.module or "") if part)
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_import_circle_inside_testing() -> None:
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {
        name: {m for m in _imports(path) if m in modules and m != name} for name, path in modules.items()
    }
    # A package's __init__ importing its own modules is how packages load them: not a circle.
    for name in graph:
        graph[name] = {m for m in graph[name] if not m.startswith(f"{name}.")}
    circles = []

    def visit(name: str, trail: list[str]) -> None:
        for target in graph[name]:
            if target in trail:
                circles.append([*trail[trail.index(target) :], target])
            elif target not in done:
                visit(target, [*trail, target])
        done.add(name)

    done: set[str] = set()
    for name in sorted(graph):
        if name not in done:
            visit(name, [name])
    assert circles == []


def test_every_operation_a_publishable_key_may_call_declares_its_access_rule() -> None:
    """Else a user token would reach nothing there (403 for want of a rule): a gap, not a choice."""
    publishable = [op.id for op in discover_operations() if op.publishable]
    assert len(publishable) > 40
    assert [op_id for op_id in publishable if HANDLERS[op_id].access is None] == []


def test_only_triggers_honour_idempotency_keys() -> None:
    """Knock's API reference: "sending it on any other endpoint has no effect"."""
    assert sorted(op_id for op_id, route in HANDLERS.items() if route.idempotent) == ["workflows.trigger"]
