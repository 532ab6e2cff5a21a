"""docs/architecture.md matches the code: it names every hand-written module of the package
(by its path under src/knock_async, in backticks), names none that does not exist, and the
README links to it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "knock_async"
PAGE = ROOT / "docs" / "architecture.md"
GENERATED = ("models", "resources")
_NAMED = re.compile(r"`((?:testing/)?(?:_handlers/)?\w+\.py)`")


def hand_written_modules() -> set[str]:
    modules = {path.relative_to(PACKAGE).as_posix() for path in PACKAGE.rglob("*.py")}
    return {module for module in modules if module.split("/")[0] not in GENERATED}


def named_modules() -> set[str]:
    return set(_NAMED.findall(PAGE.read_text()))


def test_every_module_is_on_the_page() -> None:
    modules = hand_written_modules()
    assert len(modules) > 50  # the walk found the package
    assert sorted(modules - named_modules()) == []


def test_the_page_names_no_module_that_is_gone() -> None:
    assert sorted(named_modules() - hand_written_modules()) == []


def test_the_readme_links_the_page() -> None:
    assert "(docs/architecture.md)" in (ROOT / "README.md").read_text()
