"""The ways users start the server: the pytest plugin and `python -m knock_async.testing`."""

from __future__ import annotations

import asyncio
import importlib
import re
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from knock_async.testing import KnockTestServer
from knock_async.testing.__main__ import main, parse_args

ROOT = Path(__file__).resolve().parents[2]

pytest_plugins = ["pytester"]

USER_TEST = """
import aiohttp
import pytest


@pytest.mark.asyncio
async def test_my_app_notifies(knock_server):
    knock_server.add_workflow("welcome")
    headers = {"Authorization": f"Bearer {knock_server.api_key}"}
    async with aiohttp.ClientSession(knock_server.url, headers=headers) as session:
        async with session.post("/v1/workflows/welcome/trigger", json={"recipients": ["u1"]}) as response:
            assert response.status == 200
    assert len(knock_server.calls("workflows.trigger")) == 1


@pytest.fixture
def knock_server_options():
    return {"secret_key": "sk_test_custom"}


@pytest.mark.asyncio
async def test_options_are_overridable(knock_server):
    assert knock_server.api_key == "sk_test_custom"
"""


def run_user_tests(pytester: pytest.Pytester, source: str, *ini_lines: str) -> pytest.RunResult:
    """Run `source` as a user's test module, in a project that enables our pytest plugin."""
    pytester.makeini("\n".join(["[pytest]", *ini_lines, "asyncio_default_fixture_loop_scope = function", ""]))
    pytester.makeconftest('pytest_plugins = ["knock_async.testing.pytest_plugin"]\n')
    pytester.makepyfile(test_user=source)
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", "-q")


def test_pytest_plugin_gives_users_a_server(pytester: pytest.Pytester) -> None:
    result = run_user_tests(pytester, USER_TEST)
    result.assert_outcomes(passed=2)


README_STYLE_TEST = """
from knock_async import AsyncKnock


async def test_as_the_readme_writes_it(knock_server):
    knock_server.add_workflow("new-comment", ["in_app_feed"])
    async with AsyncKnock(knock_server.api_key, base_url=knock_server.url) as knock:
        run = await knock.workflows.trigger("new-comment", recipients=["u1"])
    assert run.workflow_run_id
"""


def test_plugin_runs_unmarked_knock_server_tests_in_strict_mode(pytester: pytest.Pytester) -> None:
    # pytest-asyncio's default mode is strict: only the test that takes knock_server is ours to mark.
    result = run_user_tests(pytester, README_STYLE_TEST, "asyncio_mode = strict")
    result.assert_outcomes(passed=1)


async def test_module_runs_as_a_process() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "knock_async.testing", "--port", "0", "--workflow", "welcome=in_app_feed,email",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        lines = [(await asyncio.wait_for(process.stdout.readline(), 20)).decode() for _ in range(4)]
        url = lines[0].split()[-1]
        key = lines[1].split()[-1]
        assert (
            url.startswith("http://127.0.0.1:")
            and key.startswith("sk_")
            and lines[2].split()[-1].startswith("pk_")
        )
        async with aiohttp.ClientSession(url, headers={"Authorization": f"Bearer {key}"}) as session:
            trigger = {"recipients": ["u1"]}
            async with session.post("/v1/workflows/welcome/trigger", json=trigger) as response:
                assert response.status == 200
    finally:
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 20) == 0


async def test_the_shell_server_is_usable_as_it_starts() -> None:
    # No --workflow: the README's workflows exist, and the banner says how to point an app here.
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "knock_async.testing", "--port", "0", stdout=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        banner: list[str] = []
        while not banner or not banner[-1].startswith("export KNOCK_API_KEY="):
            banner.append((await asyncio.wait_for(process.stdout.readline(), 20)).decode().strip())
        url = banner[0].split()[-1]
        assert f"export KNOCK_BASE_URL={url}" in banner
        [key_line] = [line for line in banner if line.startswith("export KNOCK_API_KEY=")]
        key = key_line.partition("=")[2]
        assert any("404 workflow_missing" in line for line in banner)
        async with aiohttp.ClientSession(url, headers={"Authorization": f"Bearer {key}"}) as session:
            for workflow in ("new-comment", "order-placed"):
                trigger = {"recipients": ["u1"]}
                async with session.post(f"/v1/workflows/{workflow}/trigger", json=trigger) as response:
                    assert response.status == 200, workflow
    finally:
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 20) == 0


MISUSING_TEST = """
import aiohttp
import pytest


async def trigger_twice(server):
    server.add_workflow("welcome")
    headers = {"Authorization": f"Bearer {server.api_key}", "Idempotency-Key": "one-key"}
    async with aiohttp.ClientSession(server.url, headers=headers) as session:
        for user_id in ("alice", "bob"):
            async with session.post("/v1/workflows/welcome/trigger", json={"recipients": [user_id]}):
                pass  # the code under test ignores the 422 for bob


@pytest.mark.asyncio
async def test_swallows_the_refusal(knock_server):
    await trigger_twice(knock_server)


@pytest.mark.asyncio
async def test_expects_the_refusal(knock_server):
    await trigger_twice(knock_server)
    (violation,) = knock_server.take_idempotency_violations()
    assert violation.operation_id == "workflows.trigger"
"""


def test_pytest_plugin_fails_a_test_that_reused_a_key(pytester: pytest.Pytester) -> None:
    result = run_user_tests(pytester, MISUSING_TEST)
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        ["*ERROR at teardown of test_swallows_the_refusal*", "*Idempotency-Key reused*"]
    )


async def _banner(process: asyncio.subprocess.Process) -> list[str]:
    assert process.stdout is not None
    banner: list[str] = []
    while not banner or not banner[-1].startswith("export KNOCK_API_KEY="):
        banner.append((await asyncio.wait_for(process.stdout.readline(), 20)).decode().strip())
    return banner


async def _stop(process: asyncio.subprocess.Process) -> str:
    """Interrupt the server; what it printed after the banner."""
    process.send_signal(signal.SIGINT)
    assert process.stdout is not None
    rest = await asyncio.wait_for(process.stdout.read(), 20)
    assert await asyncio.wait_for(process.wait(), 20) == 0
    return rest.decode()


async def test_the_dev_server_declares_guides_prints_channel_ids_and_logs_requests() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "knock_async.testing", "--port", "0", "--guide", "onboarding=welcome,tour",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        banner = await _banner(process)
        url, key = banner[0].split()[-1], banner[1].split()[-1]
        feed_id, guides_id = KnockTestServer.channel_id("in_app_feed"), KnockTestServer.channel_id("guides")
        assert f"channel:         in_app_feed id {feed_id}" in banner
        assert f"channel:         guides id {guides_id}" in banner
        assert "guide:           onboarding (welcome, tour) on channel guides" in banner
        async with aiohttp.ClientSession(url, headers={"Authorization": f"Bearer {key}"}) as session:
            async with session.get(f"/v1/users/ada/guides/{guides_id}") as response:
                guides = (await response.json())["entries"]
                assert [g["key"] for g in guides] == ["onboarding"]
                assert [s["ref"] for s in guides[0]["steps"]] == ["welcome", "tour"]
            async with session.get("/v1/users/nobody") as response:
                assert response.status == 404
    finally:
        log = await _stop(process)
    lines = log.splitlines()
    assert len(lines) == 2, log  # one line per request, nothing else
    assert lines[0].endswith(" ms") and f"GET /v1/users/ada/guides/{guides_id}" in lines[0]
    assert "users.guides.get_channel -> 200" in lines[0]
    assert "GET /v1/users/nobody users.get -> 404" in lines[1]
    assert key not in log  # no header, query or body is logged


async def test_quiet_logs_no_requests() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "knock_async.testing", "--port", "0", "--quiet", stdout=asyncio.subprocess.PIPE
    )
    try:
        banner = await _banner(process)
        url, key = banner[0].split()[-1], banner[1].split()[-1]
        headers = {"Authorization": f"Bearer {key}"}
        async with (
            aiohttp.ClientSession(url, headers=headers) as session,
            session.get("/v1/users") as response,
        ):
            assert response.status == 200
    finally:
        assert await _stop(process) == ""


def test_a_guide_or_workflow_needs_a_key(capsys: pytest.CaptureFixture[str]) -> None:
    for option in ("--guide", "--workflow"):
        with pytest.raises(SystemExit):
            parse_args([option, "=step"])
        assert f"{option} '=step': give a key" in capsys.readouterr().err


def test_the_console_script_runs_the_dev_server(capsys: pytest.CaptureFixture[str]) -> None:
    # [project.scripts] in pyproject.toml (read by hand: tomllib is not in Python 3.10)
    pyproject = (ROOT / "pyproject.toml").read_text()
    section = pyproject.split("[project.scripts]", 1)[1].split("\n[", 1)[0]
    [target] = re.findall(r'^knock-async-server = "([^"]+)"', section, re.MULTILINE)
    module, _, function = target.partition(":")
    entry = getattr(importlib.import_module(module), function)
    assert entry is main
    with pytest.raises(SystemExit) as exit_info:
        entry(["--help"])
    assert exit_info.value.code == 0 and "knock-async-server" in capsys.readouterr().out
