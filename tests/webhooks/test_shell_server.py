"""`python -m knock_async.testing --webhook URL`: the shell server sends signed webhooks, with a
secret it writes to a file only the user can read (and never prints)."""

from __future__ import annotations

import asyncio
import json
import signal
import stat
import sys
from pathlib import Path

import aiohttp

from tests.webhooks.support import Receiver, signature_holds


async def test_the_shell_server_signs_webhooks_with_a_secret_in_a_private_file() -> None:
    async with Receiver() as receiver:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "knock_async.testing", "--port", "0", "--webhook", receiver.url,
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            assert process.stdout is not None
            banner: list[str] = []
            while not banner or not banner[-1].startswith("export KNOCK_API_KEY="):
                banner.append((await asyncio.wait_for(process.stdout.readline(), 20)).decode().strip())
            url, key = banner[0].split()[-1], banner[-1].partition("=")[2]
            [secret_line] = [line for line in banner if line.startswith("webhook secret:")]
            secret_file = Path(secret_line.split()[-1])
            assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
            secret = secret_file.read_text()
            assert secret and not any(secret in line for line in banner)
            assert f"webhook:         {receiver.url}" in banner
            trigger = {"recipients": ["u1"]}
            headers = {"Authorization": f"Bearer {key}"}
            async with (
                aiohttp.ClientSession(url, headers=headers) as session,
                session.post("/v1/workflows/new-comment/trigger", json=trigger) as response,
            ):
                assert response.status == 200
            arrived = await receiver.wait_for(2)
        finally:
            process.send_signal(signal.SIGINT)
            assert await asyncio.wait_for(process.wait(), 20) == 0
    assert sorted(json.loads(r.body)["type"] for r in arrived) == ["message.delivered", "message.sent"]
    assert all(signature_holds(r.body, r.headers["x-knock-signature"], secret) for r in arrived)
