"""The API change report, on the pair shapes.yaml -> changes/shapes_v2.yaml, and end to end
through `python -m codegen`."""

from __future__ import annotations

import copy
import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

from codegen.generate import ROOT
from codegen.spec import Schema, load_spec

from codegen import surface

from .conftest import FIXTURES

BEFORE = FIXTURES / "shapes.yaml"
AFTER = FIXTURES / "changes" / "shapes_v2.yaml"

EXPECTED_REPORT = """\
API surface: 10 change(s), 6 breaking
  BREAKING  operation `pets.bulk.forget` removed
  BREAKING  operation `pets.get`: parameter `since` removed
  BREAKING  operation `pets.get`: parameter `tags`: `Sequence[str]` -> `Sequence[int]`
  BREAKING  operation `pets.set`: required parameter `species: str` added
  BREAKING  model `SetPetRequest`: required field `species: str` added
  BREAKING  enum `Size`: value 'large' removed
  ok        operation `pets.feed` added
  ok        operation `pets.list`: rate tier 2 -> 3
  ok        model `Pet`: optional field `nickname: str` added
  ok        enum `Mood`: value 'sleepy' added"""


def _changes(before: Schema, after: Schema) -> list[surface.Change]:
    return surface.diff(surface.extract(before), surface.extract(after))


def test_the_report_names_each_change_and_whether_it_breaks() -> None:
    changes = _changes(load_spec(BEFORE), load_spec(AFTER))
    assert surface.report(changes) == EXPECTED_REPORT


def test_no_change_reports_none() -> None:
    assert surface.report(_changes(load_spec(BEFORE), load_spec(BEFORE))) == "API surface: no change"


def test_a_parameter_that_accepts_more_does_not_break_callers() -> None:
    before = load_spec(BEFORE)
    after = copy.deepcopy(before)
    tags = after["paths"]["/v1/pets/{pet_id}"]["get"]["parameters"][1]
    tags["schema"] = {"oneOf": [tags["schema"], {"type": "string"}]}
    body = after["components"]["schemas"]["SetPetRequest"]
    body["required"] = []  # `name` becomes optional
    assert [(c.breaking, c.text) for c in _changes(before, after)] == [
        (True, "model `SetPetRequest`: field `name`: now optional"),
        (False, "operation `pets.get`: parameter `tags`: `Sequence[str]` -> `Sequence[str] | str`"),
        (False, "operation `pets.set`: parameter `name`: now optional"),
    ]


def test_the_changelog_entry_goes_under_the_title(tmp_path: Path) -> None:
    changelog = tmp_path / "CHANGELOG.md"
    changelog.write_text("# Changelog\n\n## 0.1.0\n\n- First release.\n")
    changes = _changes(load_spec(BEFORE), load_spec(AFTER))
    surface.write_changelog(changelog, changes, dt.date(2026, 12, 1))
    text = changelog.read_text()
    assert text.startswith("# Changelog\n\n## API changes, 2026-12-01\n\n### Breaking\n\n")
    assert "- operation `pets.bulk.forget` removed\n" in text
    assert "### Other\n\n- operation `pets.feed` added\n" in text
    assert text.endswith("\n## 0.1.0\n\n- First release.\n")
    assert text.index("### Other") < text.index("## 0.1.0")


def test_make_generate_prints_the_report_writes_the_changelog_and_the_check_sees_the_snapshot(
    tmp_path: Path,
) -> None:
    spec, package, changelog = tmp_path / "api.yaml", tmp_path / "pkg", tmp_path / "CHANGELOG.md"
    package.mkdir()
    shutil.copy(BEFORE, spec)

    def codegen(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "codegen", "--spec", str(spec), "--output", str(package), *args]
        return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)

    first = codegen()
    assert first.returncode == 0, first.stderr
    assert "no previous API surface" in first.stdout
    assert (tmp_path / "api.surface.json").exists()
    shutil.copy(AFTER, spec)
    assert codegen("--check").returncode == 1  # the document changed, the output did not
    second = codegen("--changelog", str(changelog))
    assert second.returncode == 0, second.stderr
    assert EXPECTED_REPORT in second.stdout
    assert "- model `Pet`: optional field `nickname: str` added" in changelog.read_text()
    assert "def feed(" in (package / "resources" / "pets.py").read_text()
    checked = codegen("--check")
    assert (checked.returncode, checked.stdout.strip()) == (0, "generated code is current")
