"""A long-lived browser-side client whose signed user token expires: a callable `user_token`
hands it the current token, so the same client keeps working without being rebuilt."""

from __future__ import annotations

import time

import pytest
from cryptography.hazmat.primitives import serialization

from knock_async import AsyncKnock, AuthenticationError, ErrorCode
from knock_async.testing import KnockTestServer
from knock_async.tokens import sign_user_token
from tests.conftest import ServerFactory
from tests.tokens import jose


def expired_token(server: KnockTestServer, user_id: str) -> str:
    """A token for `user_id` that expired a minute ago (signed by the test's own signer: the
    SDK's refuses to sign one), so no test waits for a token to run out."""
    key = serialization.load_pem_private_key(server.signing_key.encode(), password=None)
    now = int(time.time())
    return jose.sign({"sub": user_id, "iat": now - 120, "exp": now - 60}, key)


async def test_a_refreshed_token_keeps_one_client_working(make_server: ServerFactory) -> None:
    server: KnockTestServer = await make_server(enhanced_security=True)
    server.identify_user("grace", name="Grace")
    current = {"token": sign_user_token("grace", signing_key=server.signing_key)}
    async with AsyncKnock(
        server.publishable_key, base_url=server.url, user_token=lambda: current["token"], max_retries=0
    ) as browser:
        assert (await browser.users.get("grace")).name == "Grace"
        current["token"] = expired_token(server, "grace")  # time passes: the token runs out
        with pytest.raises(AuthenticationError) as expired:
            await browser.users.get("grace")
        assert expired.value.code == ErrorCode.INVALID_USER_TOKEN
        assert current["token"] not in str(expired.value)

        current["token"] = sign_user_token("grace", signing_key=server.signing_key)  # the app refreshes it
        assert (await browser.users.get("grace")).name == "Grace"
    assert [call.status for call in server.calls("users.get")] == [200, 401, 200]
