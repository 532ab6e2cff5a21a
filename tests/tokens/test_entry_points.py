"""Enhanced security from a shell (`python -m knock_async.testing --enhanced-security`), and the
`testing` package without the tokens extra installed."""

from __future__ import annotations

import asyncio
import signal
import stat
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from knock_async.testing import KnockTestServer
from knock_async.testing.__main__ import parse_args
from knock_async.tokens import sign_user_token


async def test_the_server_process_writes_its_signing_key_for_the_app(tmp_path: Path) -> None:
    key_file = tmp_path / "signing-key.pem"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "knock_async.testing", "--port", "0", "--workflow", "welcome=in_app_feed",
        "--enhanced-security", "--signing-key-file", str(key_file),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        lines = [(await asyncio.wait_for(process.stdout.readline(), 20)).decode() for _ in range(5)]
        url, publishable_key = lines[0].split()[-1], lines[2].split()[-1]
        assert str(key_file) in lines[3] and "KNOCK_SIGNING_KEY" in lines[4]
        signing_key = key_file.read_text()
        assert signing_key not in "".join(lines)  # the key itself is never printed
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        path = f"/v1/users/ada/feeds/{KnockTestServer.channel_id('in_app_feed')}"
        async with aiohttp.ClientSession(
            url, headers={"Authorization": f"Bearer {publishable_key}"}
        ) as session:
            async with session.get(path) as response:
                assert (response.status, (await response.json())["code"]) == (401, "missing_user_token")
            token = sign_user_token("ada", signing_key=signing_key)
            async with session.get(path, headers={"X-Knock-User-Token": token}) as response:
                assert response.status == 200
    finally:
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 20) == 0
    assert key_file.read_text() == signing_key  # a file you named stays, for the next run


async def test_a_made_up_signing_key_file_is_removed_when_the_server_stops() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "knock_async.testing", "--port", "0", "--enhanced-security", "--quiet",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        lines = [(await asyncio.wait_for(process.stdout.readline(), 20)).decode() for _ in range(4)]
        key_file = Path(lines[3].split()[2])
        assert key_file.name == "signing-key.pem" and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    finally:
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 20) == 0
    assert not key_file.exists() and not key_file.parent.exists()


def test_a_signing_key_file_needs_enhanced_security(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--signing-key-file", "key.pem"])
    assert "--enhanced-security" in capsys.readouterr().err


WITHOUT_THE_EXTRA = """
import asyncio
import sys

sys.modules["jwt"] = None  # as if knock-async[tokens] were not installed: importing jwt fails

from knock_async.testing import KnockTestServer


async def main():
    async with KnockTestServer() as server:
        assert server.url
    try:
        KnockTestServer(enhanced_security=True)
    except ImportError as error:
        print(error)
    assert "knock_async.tokens" not in sys.modules


asyncio.run(main())
"""


def test_the_testing_package_works_without_the_tokens_extra() -> None:
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_THE_EXTRA], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "pip install 'knock-async[tokens]'" in result.stdout
