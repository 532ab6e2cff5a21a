"""Every Python snippet in README.md runs as written.

The README's usage snippets run in order against one embedded Knock server, each in a fresh
namespace that holds only what the README says a snippet takes as given: `knock`, an open
client, and the placeholders it names (`feed_channel_id`, `push_channel_id`, `message_ids`,
`many_users`). `KNOCK_API_KEY` and `KNOCK_BASE_URL` point at the server, so `AsyncKnock()`
works as the README writes it.

Snippets that are files (their first line is a comment naming one, e.g. `# app.py`) are
written into a project directory; its tests run under pytest in pytest-asyncio's default
mode, and its app is checked with `mypy --strict`, which the README recommends. Snippets
that quote a file of this repository (an `<!-- excerpt: PATH -->` line above the fence) must
stand in that file word for word: the file itself is run by its own tests.
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest
from packaging.requirements import Requirement

from knock_async import AsyncKnock
from knock_async.testing import KnockTestServer, RateLimits

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
_BLOCK = re.compile(r"^(?:<!-- excerpt: (\S+) -->\n)?```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
_FILE_HEADER = re.compile(r"^# ([\w./-]+\.py)\b")


@attrs.frozen
class Snippet:
    line: int
    code: str
    excerpt_of: str | None = None

    @property
    def file(self) -> str | None:
        match = _FILE_HEADER.match(self.code)
        return match.group(1) if match else None


def readme_snippets() -> list[Snippet]:
    text = README.read_text()
    return [
        Snippet(line=text.count("\n", 0, match.start(2)) + 1, code=match.group(2), excerpt_of=match.group(1))
        for match in _BLOCK.finditer(text)
    ]


SNIPPETS = readme_snippets()
EXCERPTS = [snippet for snippet in SNIPPETS if snippet.excerpt_of is not None]
USAGE = [snippet for snippet in SNIPPETS if snippet.file is None and snippet.excerpt_of is None]
FILES = [snippet for snippet in SNIPPETS if snippet.file is not None and snippet.excerpt_of is None]


async def run_snippet(snippet: Snippet, given: dict[str, Any]) -> None:
    # dont_inherit: a snippet compiles as a user's own file would, not under this module's
    # `from __future__ import annotations` (which would hide annotations naming missing imports).
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    code = compile(snippet.code, f"README.md:{snippet.line}", "exec", flags=flags, dont_inherit=True)
    result = eval(code, dict(given))
    if result is not None:  # a snippet with a top-level await compiles to a coroutine
        await result


def test_the_readme_has_snippets_of_both_kinds() -> None:
    # Guards the parser: a change of fence style must not leave the tests below with nothing to run.
    assert len(USAGE) >= 6 and {"app.py", "conftest.py"} <= {Path(s.file or "").name for s in FILES}


@pytest.mark.parametrize("snippet", EXCERPTS, ids=lambda snippet: f"README.md:{snippet.line}")
def test_excerpts_stand_word_for_word_in_their_files(snippet: Snippet) -> None:
    assert snippet.excerpt_of is not None
    assert snippet.code in (ROOT / snippet.excerpt_of).read_text()


async def test_the_usage_snippets_run_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    async with KnockTestServer(rate_limits=RateLimits.off(), enhanced_security=True) as server:
        server.add_workflow("new-comment", ["in_app_feed", "email"])
        server.add_workflow("order-placed", ["email"])
        given: dict[str, Any] = {
            "feed_channel_id": server.channel_id("in_app_feed"),
            "push_channel_id": server.add_channel("push-fcm", "push"),
            "many_users": [{"id": f"user-{n}", "name": f"User {n}"} for n in range(2_500)],
            "signing_key": server.signing_key,
        }
        monkeypatch.setenv("KNOCK_SIGNING_KEY", server.signing_key)
        monkeypatch.setenv("KNOCK_API_KEY", server.api_key)
        monkeypatch.setenv("KNOCK_BASE_URL", server.url)
        async with AsyncKnock() as knock:
            await knock.users.update("user-1", name="Ada")
            await knock.workflows.trigger("new-comment", recipients=["user-1"])
            messages = await knock.users.list_messages("user-1")
            given.update(knock=knock, message_ids=[message.id for message in messages.items])
            for snippet in USAGE:
                await run_snippet(snippet, given)
            assert not knock.closed  # a snippet that builds its own client closes its own


def test_the_file_snippets_make_a_project_whose_tests_pass(tmp_path: Path) -> None:
    for snippet in FILES:
        assert snippet.file is not None
        target = tmp_path / snippet.file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(snippet.code)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    # No ini file: pytest-asyncio runs in its default (strict) mode, as in a new project.
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert tests.returncode == 0, tests.stdout + tests.stderr
    apps = [snippet.file for snippet in FILES if snippet.file and "test" not in Path(snippet.file).name]
    typed = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", *apps],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert typed.returncode == 0, typed.stdout + typed.stderr


_INSTALL = re.compile(r"^<!-- install: .*?-->\n```console\n(.*?)^```", re.DOTALL | re.MULTILINE)


def test_the_install_section_names_every_extra_and_only_those() -> None:
    match = _INSTALL.search(README.read_text())
    assert match is not None, "the README's Install section is gone"
    named = set(re.findall(r"pip install 'knock-async\[(\w+)\]'", match.group(1)))
    assert named == set(importlib.metadata.metadata("knock-async").get_all("Provides-Extra") or [])
    assert "pip install knock-async " in match.group(1)
    public = [Requirement(line) for line in importlib.metadata.requires("knock-async") or []]
    pinned = [str(r) for r in public if any(spec.operator in ("==", "===") for spec in r.specifier)]
    assert pinned == []  # no exact pins in what users install
