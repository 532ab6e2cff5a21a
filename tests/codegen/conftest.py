"""The generator run on the fixture documents, once per session, into importable packages."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from codegen.generate import generate

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """`generated("shapes")`: the package directory generated from fixtures/shapes.yaml."""
    root = tmp_path_factory.mktemp("generated")
    done: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in done:
            package = root / f"fixture_{name}"
            package.mkdir()
            (package / "__init__.py").write_text("")
            generate(package, FIXTURES / f"{name}.yaml")
            done[name] = package
        return done[name]

    sys.path.insert(0, str(root))
    yield get
    sys.path.remove(str(root))


@pytest.fixture(scope="session")
def shapes(generated: Callable[[str], Path]) -> ModuleType:
    """The models module generated from fixtures/shapes.yaml."""
    generated("shapes")
    return importlib.import_module("fixture_shapes.models")


@pytest.fixture(scope="session")
def pets(generated: Callable[[str], Path]) -> ModuleType:
    """The `pets` resource module generated from fixtures/shapes.yaml."""
    generated("shapes")
    return importlib.import_module("fixture_shapes.resources.pets")
