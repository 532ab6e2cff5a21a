"""`python -m codegen` regenerates and prints what the change does to the API surface;
`--changelog FILE` also writes that as a changelog entry; `--check` fails when committed
output (or the surface snapshot, or the method reference docs/api.md) is stale."""

from __future__ import annotations

import argparse
import datetime as dt
import filecmp
import json
import sys
import tempfile
from pathlib import Path

from . import reference, surface
from .generate import GENERATED_DIRS, PACKAGE, SPEC, generate
from .spec import load_spec


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m codegen", description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare a fresh generation with the tree")
    parser.add_argument("--spec", type=Path, default=SPEC, help="the OpenAPI document (default: %(default)s)")
    parser.add_argument("--output", type=Path, default=PACKAGE, help="package dir for models/, resources/")
    parser.add_argument("--changelog", type=Path, help="also write the API changes at the top of this file")
    args = parser.parse_args()
    if args.check:
        return _check(args.spec, args.output)
    snapshot = surface.snapshot_path(args.spec)
    old = json.loads(snapshot.read_text()) if snapshot.exists() else None
    generate(args.output, args.spec)
    if _is_the_sdk(args.spec, args.output):
        reference.REFERENCE.write_text(_reference(args.spec))
    new = surface.extract(load_spec(args.spec))
    snapshot.write_text(surface.dumps(new))
    if old is None:
        print(f"no previous API surface to compare with; wrote {snapshot.name}")
        return 0
    changes = surface.diff(old, new)
    print(surface.report(changes))
    if args.changelog and changes:
        surface.write_changelog(args.changelog, changes, dt.date.today())
        print(f"wrote the entry at the top of {args.changelog}")
    return 0


def _check(spec: Path, package: Path) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        generate(fresh, spec)
        stale = [
            str(Path(name) / diff)
            for name in GENERATED_DIRS
            for diff in _differences(fresh / name, package / name)
        ]
        if _is_the_sdk(spec, package) and not _same_text(reference.REFERENCE, _reference(spec)):
            stale.append(str(reference.REFERENCE.relative_to(reference.REFERENCE.parent.parent)))
    snapshot = surface.snapshot_path(spec)
    if not snapshot.exists() or snapshot.read_text() != surface.dumps(surface.extract(load_spec(spec))):
        stale.append(snapshot.name)
    if stale:
        print("generated code is stale; run `make generate` and commit:", *stale, sep="\n  ")
        return 1
    print("generated code is current")
    return 0


def _is_the_sdk(spec: Path, package: Path) -> bool:
    """docs/api.md documents knock_async itself: other documents and outputs get no reference."""
    return spec.resolve() == SPEC.resolve() and package.resolve() == PACKAGE.resolve()


def _reference(spec: Path) -> str:
    """docs/api.md's text for the document at `spec`."""
    return reference.render_reference(load_spec(spec))


def _same_text(path: Path, text: str) -> bool:
    return path.exists() and path.read_text() == text


def _differences(fresh: Path, committed: Path) -> list[str]:
    if not committed.is_dir():
        return ["(missing)"]
    comparison = filecmp.dircmp(fresh, committed, ignore=["__pycache__"])
    found: list[str] = []

    def walk(cmp: filecmp.dircmp[str], prefix: Path) -> None:
        found.extend(str(prefix / name) for name in cmp.left_only + cmp.right_only + cmp.diff_files)
        # dircmp compares shallowly (size and mtime); compare contents where it said "same"
        found.extend(
            str(prefix / name)
            for name in cmp.same_files
            if (Path(cmp.left) / name).read_bytes() != (Path(cmp.right) / name).read_bytes()
        )
        for name, sub in cmp.subdirs.items():
            walk(sub, prefix / name)

    walk(comparison, Path())
    return sorted(found)


if __name__ == "__main__":
    sys.exit(main())
