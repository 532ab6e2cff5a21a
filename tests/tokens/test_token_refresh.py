"""A long-lived browser-side client whose signed user token expires: a callable `user_token`
hands it the current token, so the same client keeps working without being rebuilt."""

from __future__ import annotations

import asyncio

import pytest

from knock_async import AsyncKnock, AuthenticationError, ErrorCode
from knock_async.testing import KnockTestServer
from knock_async.tokens import sign_user_token
from tests.conftest import ServerFactory


async def test_a_refreshed_token_keeps_one_client_working(make_server: ServerFactory) -> None:
    server: KnockTestServer = await make_server(enhanced_security=True)
    server.identify_user("grace", name="Grace")
    current = {"token": sign_user_token("grace", signing_key=server.signing_key, expires_in=1)}
    async with AsyncKnock(
        server.publishable_key, base_url=server.url, user_token=lambda: current["token"], max_retries=0
    ) as browser:
        assert (await browser.users.get("grace")).name == "Grace"
        await asyncio.sleep(2.1)  # Knock's `exp` has whole-second precision
        with pytest.raises(AuthenticationError) as expired:
            await browser.users.get("grace")
        assert expired.value.code == ErrorCode.INVALID_USER_TOKEN
        assert current["token"] not in str(expired.value)

        current["token"] = sign_user_token("grace", signing_key=server.signing_key)  # the app refreshes it
        assert (await browser.users.get("grace")).name == "Grace"
    assert [call.status for call in server.calls("users.get")] == [200, 401, 200]
