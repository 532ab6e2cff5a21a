"""The public surface of a document (what users' code touches), and what changes between two.

The surface of openapi/knock.yaml is committed as a snapshot next to it (knock.surface.json),
so `make generate` can say what an edit of the document does to users' code, and the drift
check covers the snapshot like the generated code.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import attrs

from .hints import TypeNamer
from .resources import read_methods
from .spec import Schema, python_name, resolve

Surface = dict[str, Any]


def snapshot_path(spec_path: Path) -> Path:
    return spec_path.with_suffix(".surface.json")


def extract(spec: Schema) -> Surface:
    """Operations (parameters, return type, rate tier), models (fields), enums (values) and
    union aliases (members), each type as the generated code spells it."""
    schemas: dict[str, Schema] = spec.get("components", {}).get("schemas", {})
    types = TypeNamer(spec, set(schemas))
    operations = {
        m.operation_id: {
            "call": f"{m.http_method} {m.path}",
            "tier": m.extensions.get("x-knock-tier"),
            "returns": m.response_hint,
            "params": {
                p.name: {"type": p.hint, "required": p.required}
                for p in [*m.path_params, *m.query_params, *m.body_params]
            },
        }
        for m in read_methods(spec, set(schemas))
    }
    models, enums, unions = {}, {}, {}
    for name, schema in schemas.items():
        if "enum" in schema:
            enums[name] = list(schema["enum"])
        elif "properties" in schema:
            required = set(schema.get("required", []))
            models[name] = {
                python_name(wire): {"type": types.field_hint(name, wire, prop), "required": wire in required}
                for wire, prop in resolve(spec, schema)["properties"].items()
            }
        else:
            unions[name] = types.hint(schema, accept_dict=False)
    return {"operations": operations, "models": models, "enums": enums, "unions": unions}


def dumps(surface: Surface) -> str:
    return json.dumps(surface, indent=1, sort_keys=True) + "\n"


@attrs.frozen
class Change:
    breaking: bool
    text: str


def diff(old: Surface, new: Surface) -> list[Change]:
    """What users' code feels going from `old` to `new`: breaking changes first."""
    changes = [
        *_diff_operations(old["operations"], new["operations"]),
        *_diff_models(old["models"], new["models"]),
        *_diff_enums(old["enums"], new["enums"]),
        *_diff_named(old["unions"], new["unions"], "union", _diff_union),
    ]
    return sorted(changes, key=lambda change: not change.breaking)


def _diff_named(old: dict[str, Any], new: dict[str, Any], kind: str, inner: Any) -> list[Change]:
    """Added and removed entries of one kind, then `inner(name, old_entry, new_entry)` for the rest."""
    changes = [Change(True, f"{kind} `{name}` removed") for name in sorted(old.keys() - new.keys())]
    changes += [Change(False, f"{kind} `{name}` added") for name in sorted(new.keys() - old.keys())]
    for name in sorted(old.keys() & new.keys()):
        changes += inner(name, old[name], new[name])
    return changes


def _diff_operations(old: Surface, new: Surface) -> list[Change]:
    def operation(name: str, before: Surface, after: Surface) -> list[Change]:
        where = f"operation `{name}`"
        changes = _diff_fields(where, "parameter", before["params"], after["params"], _param_break)
        if before["returns"] != after["returns"]:
            changes.append(Change(True, f"{where}: returns `{before['returns']}` -> `{after['returns']}`"))
        if before["tier"] != after["tier"]:
            changes.append(Change(False, f"{where}: rate tier {before['tier']} -> {after['tier']}"))
        if before["call"] != after["call"]:
            changes.append(Change(False, f"{where}: `{before['call']}` -> `{after['call']}`"))
        return changes

    return _diff_named(old, new, "operation", operation)


def _diff_models(old: Surface, new: Surface) -> list[Change]:
    def model(name: str, before: Surface, after: Surface) -> list[Change]:
        # Users read fields (a retyped or no longer required field breaks them) and build
        # models (a new required field breaks them).
        return _diff_fields(f"model `{name}`", "field", before, after, lambda b, a: True)

    return _diff_named(old, new, "model", model)


def _diff_enums(old: Surface, new: Surface) -> list[Change]:
    def enum(name: str, before: list[str], after: list[str]) -> list[Change]:
        where = f"enum `{name}`"
        removed = [Change(True, f"{where}: value {v!r} removed") for v in before if v not in after]
        return removed + [Change(False, f"{where}: value {v!r} added") for v in after if v not in before]

    return _diff_named(old, new, "enum", enum)


def _diff_union(name: str, before: str, after: str) -> list[Change]:
    return [] if before == after else [Change(True, f"union `{name}`: `{before}` -> `{after}`")]


def _diff_fields(where: str, kind: str, old: Surface, new: Surface, breaks: Any) -> list[Change]:
    """Fields or parameters: `breaks(before, after)` says whether a change of one breaks callers."""
    changes = [Change(True, f"{where}: {kind} `{name}` removed") for name in old if name not in new]
    for name, after in new.items():
        required = "required" if after["required"] else "optional"
        if name not in old:
            text = f"{where}: {required} {kind} `{name}: {after['type']}` added"
            changes.append(Change(after["required"], text))
        elif old[name] != after:
            before = old[name]
            what = [f"`{before['type']}` -> `{after['type']}`"] if before["type"] != after["type"] else []
            what += [f"now {required}"] if before["required"] != after["required"] else []
            changes.append(Change(breaks(before, after), f"{where}: {kind} `{name}`: {', '.join(what)}"))
    return changes


def _param_break(before: Surface, after: Surface) -> bool:
    """A parameter change breaks callers unless it only accepts more: optional where it was
    required, or a type that keeps every member of the old union."""
    if after["required"] and not before["required"]:
        return True
    return not set(_members(before["type"])) <= set(_members(after["type"]))


def _members(hint: str) -> list[str]:
    """Top-level members of a union hint (`a | b[c | d]` -> a, b[c | d])."""
    members, depth, start = [], 0, 0
    for i, char in enumerate(hint):
        depth += {"[": 1, "]": -1}.get(char, 0)
        if depth == 0 and hint.startswith(" | ", i):
            members.append(hint[start:i])
            start = i + 3
    return [*members, hint[start:]]


def report(changes: list[Change]) -> str:
    if not changes:
        return "API surface: no change"
    breaking = sum(change.breaking for change in changes)
    lines = [f"API surface: {len(changes)} change(s), {breaking} breaking"]
    lines += [f"  {'BREAKING' if c.breaking else 'ok      '}  {c.text}" for c in changes]
    return "\n".join(lines)


def changelog_entry(changes: list[Change], date: dt.date) -> str:
    sections = [
        ("Breaking", [c for c in changes if c.breaking]),
        ("Other", [c for c in changes if not c.breaking]),
    ]
    lines = [f"## API changes, {date.isoformat()}", ""]
    for title, members in sections:
        if members:
            lines += [f"### {title}", "", *(f"- {c.text}" for c in members), ""]
    return "\n".join(lines)


def write_changelog(path: Path, changes: list[Change], date: dt.date) -> None:
    """Put an entry for `changes` at the top of the changelog (under its `# ` title, if any)."""
    text = path.read_text() if path.exists() else "# Changelog\n"
    title, sep, rest = text.partition("\n") if text.startswith("# ") else ("", "", text)
    head = f"{title}{sep}\n" if title else ""
    path.write_text(head + changelog_entry(changes, date) + "\n" + rest.lstrip("\n"))
