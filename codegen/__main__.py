"""`python -m codegen` regenerates; `python -m codegen --check` fails when committed output is stale."""

from __future__ import annotations

import argparse
import filecmp
import sys
import tempfile
from pathlib import Path

from .generate import GENERATED_DIRS, ROOT, generate


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m codegen", description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare a fresh generation with the tree")
    args = parser.parse_args()
    if not args.check:
        generate(ROOT / "src" / "knock_async")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        generate(fresh)
        stale = [
            str(Path(name) / diff)
            for name in GENERATED_DIRS
            for diff in _differences(fresh / name, ROOT / "src" / "knock_async" / name)
        ]
    if stale:
        print("generated code is stale; run `make generate` and commit:", *stale, sep="\n  ")
        return 1
    print("generated code is current")
    return 0


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
