"""The package version: one constant, read by `__version__` and the User-Agent header.

A literal rather than `importlib.metadata.version()`: importing importlib.metadata and
scanning the installed distributions costs a fresh process about 6 ms. Kept equal to
pyproject.toml's `version` (tests/unit/test_version.py checks they agree).
"""

from typing import Final

VERSION: Final = "0.1.0"
