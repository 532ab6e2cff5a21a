"""The package version, in one place: the build reads it from here (pyproject.toml's
`[tool.hatch.version]`), and so do `__version__` and the User-Agent header.

A literal rather than `importlib.metadata.version()`: importing importlib.metadata and
scanning the installed distributions costs a fresh process about 6 ms.
"""

VERSION = "0.1.0"
