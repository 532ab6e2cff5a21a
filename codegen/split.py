"""One module per model: the rendered models module split by top-level name.

`models/_models/<Name>.py` holds one class (with its reader) or one type alias, so that a
call builds only the models it needs: `models/__init__.py` imports a name's module, and the
modules of every name it depends on, on first use. The package keeps all the names (the
classes name it as their module), so type hints resolve there.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

import attrs

from .readers import ReaderCode

READING_IMPORT = (
    "from knock_async._reading import Choice, Drift, read_date, read_datetime, read_union, register\n"
)


@attrs.frozen
class Unit:
    name: str
    source: str  # the class or alias statement (and the docstring after it)
    alias: bool  # a type alias: its value is evaluated when its module runs
    mentions: frozenset[str]  # every name it refers to


def split(source: str) -> tuple[str, list[Unit]]:
    """(the import block, the units) of a rendered models module."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    imports = "".join(ast.get_source_segment(source, n) + "\n" for n in tree.body if _is_import(n))  # type: ignore[operator]
    units: list[Unit] = []
    statements = [n for n in tree.body if not _is_import(n)]
    for index, node in enumerate(statements):
        if isinstance(node, ast.Expr):  # a docstring: part of the unit before it
            continue
        end = _end(statements, index)
        start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        text = "".join(lines[start - 1 : end])
        names = frozenset(n.id for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Name))
        name = node.name if isinstance(node, ast.ClassDef) else node.target.id  # type: ignore[attr-defined]
        units.append(Unit(name, text, isinstance(node, ast.AnnAssign), names))
    return imports, units


def _is_import(node: ast.stmt) -> bool:
    return isinstance(node, (ast.Import, ast.ImportFrom))


def _end(statements: list[ast.stmt], index: int) -> int:
    following = statements[index + 1] if index + 1 < len(statements) else None
    if isinstance(following, ast.Expr):
        return following.end_lineno or following.lineno
    return statements[index].end_lineno or statements[index].lineno


def modules(
    header: str, imports: str, units: list[Unit], readers: dict[str, ReaderCode]
) -> Iterator[tuple[str, str]]:
    """(file name, text) of each unit's module."""
    names = {unit.name for unit in units}
    for unit in units:
        reader = readers.get(unit.name)
        needs = sorted(reader.needs) if reader else []
        mentioned = unit.mentions & names - {unit.name}
        first = _imports_of(mentioned) if unit.alias else _for_type_checkers(mentioned - set(needs))
        last = "".join(
            f"from .{name} import {name}{f', read_{name}' if name in readers else ''}\n" for name in needs
        )
        text = f"{header}\n\n{imports}{READING_IMPORT if reader else ''}{first}\n\n{unit.source}"
        if reader:
            text += reader.code
        if last:
            text += f"\n\n# Imported last: these modules may import this one too (recursive models).\n{last}"
        if reader and reader.choices:
            text += f"\n\n{reader.choices}"
        yield f"{unit.name}.py", text


def _for_type_checkers(names: frozenset[str]) -> str:
    """Imports of names only the annotations use: built at run time by models/__init__.py."""
    if not names:
        return ""
    return "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n" + "".join(
        f"    from .{name} import {name}\n" for name in sorted(names)
    )


def _imports_of(names: frozenset[str]) -> str:
    return "".join(f"from .{name} import {name}\n" for name in sorted(names))


def dependencies(units: list[Unit], readers: dict[str, ReaderCode]) -> dict[str, list[str]]:
    """Per name, the names its annotations, its value or its reader refer to."""
    names = {unit.name for unit in units}
    found = {}
    for unit in units:
        needs = set(unit.mentions & names)
        if unit.name in readers:
            needs |= readers[unit.name].needs
        found[unit.name] = sorted(needs - {unit.name})
    return found
