"""The package version is one literal (`_version.VERSION`), so it must be kept equal to
pyproject.toml's by hand: these tests catch the two drifting apart, and the constant's point
(no importlib.metadata at import) being lost."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import knock_async
from knock_async._transport import USER_AGENT
from knock_async._version import VERSION

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def _pyproject_version() -> str:
    # The [project] table's version line; tomllib is 3.11+ and the suite also runs on 3.10.
    project = PYPROJECT.read_text(encoding="utf-8").split("[project]", 1)[1].split("\n[", 1)[0]
    match = re.search(r'^version\s*=\s*"([^"]+)"', project, re.MULTILINE)
    assert match, "pyproject.toml's [project] table has no version"
    return match.group(1)


def test_version_constant_is_pyprojects_version() -> None:
    assert _pyproject_version() == VERSION
    assert knock_async.__version__ == VERSION
    assert f"knock-async/{VERSION}" == USER_AGENT


def test_import_and_client_do_not_load_importlib_metadata() -> None:
    code = (
        "import sys, knock_async\n"
        "knock_async.AsyncKnock(api_key='sk_test_version')\n"
        "print('importlib.metadata' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
