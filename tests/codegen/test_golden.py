"""Golden output: each fixture document's generated tree, committed under golden/<name>/.

After an intended change to the generator, rewrite them and review the diff:

    KNOCK_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/codegen/test_golden.py
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import FIXTURES

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("KNOCK_UPDATE_GOLDEN") == "1"


def _tree(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): path.read_text()
        for path in sorted(root.rglob("*.py"))
        if "__pycache__" not in path.parts and path != root / "__init__.py"
    }


@pytest.mark.parametrize("name", sorted(path.stem for path in FIXTURES.glob("*.yaml")))
def test_generated_tree_matches_golden(generated: Callable[[str], Path], name: str) -> None:
    fresh = _tree(generated(name))
    expected_dir = GOLDEN / name
    if UPDATE:
        shutil.rmtree(expected_dir, ignore_errors=True)
        for relative, text in fresh.items():
            (expected_dir / relative).parent.mkdir(parents=True, exist_ok=True)
            (expected_dir / relative).write_text(text)
    expected = _tree(expected_dir)
    assert sorted(fresh) == sorted(expected), "files differ; see the module docstring to update"
    for relative, text in fresh.items():
        assert text == expected[relative], f"{relative} differs from golden/{name}/{relative}"
