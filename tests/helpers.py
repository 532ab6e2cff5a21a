"""What several test modules need: the document, its operations, and the generated constants."""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
import sys
from collections.abc import Awaitable, Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from knock_async._types import Operation

# What a one-route test server answers with (tests/unit/conftest.py's `serve`).
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SPEC_PATH = Path(__file__).resolve().parent.parent / "openapi" / "knock.yaml"
HTTP_METHODS = ("get", "put", "post", "patch", "delete")


@cache
def spec() -> dict[str, Any]:
    with SPEC_PATH.open() as handle:
        loaded: dict[str, Any] = yaml.safe_load(handle)
    return loaded


def spec_operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec()["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield path, method, item[method]


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = spec()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def success_content(operation: dict[str, Any]) -> dict[str, Any] | None:
    for code, response in operation["responses"].items():
        if str(code).startswith("2"):
            content = (resolve(response).get("content") or {}).get("application/json")
            if content:
                return dict(content)
    return None


@cache
def generated_operations() -> dict[str, Operation[Any]]:
    """Every Operation constant of the generated resources, by operationId."""
    import knock_async.resources

    found: dict[str, Operation[Any]] = {}
    for info in pkgutil.iter_modules(knock_async.resources.__path__):
        module = importlib.import_module(f"knock_async.resources.{info.name}")
        for value in vars(module).values():
            if isinstance(value, Operation):
                found[value.id] = value
    return found


class RecordingClock:
    """A `knock_async.Clock` whose sleeps return at once (after one turn of the loop) and are
    recorded in `sleeps`; its time moves by exactly what was slept."""

    def __init__(self, sleeps: list[float] | None = None) -> None:
        self.sleeps: list[float] = sleeps if sleeps is not None else []
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def type_check(tmp_path: Path, source: str) -> tuple[str, int]:
    """mypy --strict on `source` as a user's own module: its output and exit status.

    Run in this process, and mypy raises Python's recursion limit and leaves it raised:
    restored here, since on Python 3.10 a deep recursion under a raised limit overflows the C
    stack instead of raising.
    """
    from mypy import api

    module = tmp_path / "user_code.py"
    module.write_text(source)
    limit = sys.getrecursionlimit()
    try:
        stdout, _, status = api.run(["--strict", "--no-incremental", "--follow-imports=silent", str(module)])
    finally:
        sys.setrecursionlimit(limit)
    return stdout, status
