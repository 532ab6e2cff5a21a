"""The generated readers, one module per model: models that refer to each other import and
read in any order; a union without a discriminator picks the variant that fits."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from codegen.readers import declared

from knock_async._reading import Drift, Misfit, read
from knock_async._types import Unset

TEAM = {
    "name": "core",
    "lead": {"name": "ada", "team": {"name": "core", "members": []}},
    "members": [{"name": "ada"}, {"name": "grace"}],
    "badge": {"colour": "blue"},
}


@pytest.mark.parametrize("first", ["Member", "Team"])
def test_models_that_refer_to_each_other_build_from_either_end(
    generated: Callable[[str], Path], first: str
) -> None:
    root = generated("cycles").parent
    code = f"""
from fixture_cycles import models
from knock_async._reading import Drift, read
models.{first}
team = read({TEAM!r}, models.Team, Drift(strict=True))
print(type(team.lead).__name__, type(team.lead.team).__name__, type(team.badge).__name__)
"""
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=False
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["Member", "Team", "Ribbon"]


def test_a_union_without_a_discriminator_reads_the_fitting_variant(generated: Callable[[str], Path]) -> None:
    generated("cycles")
    from fixture_cycles import models  # type: ignore[import-not-found]

    assert type(read({**TEAM, "badge": {"points": 3}}, models.Team, Drift(strict=True)).badge) is models.Star
    tolerant = read({**TEAM, "badge": {"points": "3"}}, models.Team, Drift(collect=True))
    assert tolerant.badge == {"points": "3"}  # fits no variant: kept as sent
    with pytest.raises(Misfit, match=re.escape("Team at badge: declared Star | Ribbon, got object")):
        read({**TEAM, "badge": {"points": "3"}}, models.Team, Drift(strict=True))


def test_declared_types_read_as_the_document_says() -> None:
    assert declared(list[str] | Unset) == "list[str]"
    assert declared(dict[str, int] | None) == "dict[str, int] | None"
