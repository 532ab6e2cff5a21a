"""The package version is one literal (`_version.VERSION`), which the build reads too: these
tests check the installed package agrees, and that the constant's point (no importlib.metadata
at import) is kept."""

from __future__ import annotations

import subprocess
import sys

import knock_async
from knock_async._transport import USER_AGENT
from knock_async._version import VERSION


def test_the_installed_package_has_the_version_constant() -> None:
    from importlib import metadata

    # The build took its version from _version.py, so the installed metadata says the same.
    assert metadata.version("knock-async") == VERSION
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
