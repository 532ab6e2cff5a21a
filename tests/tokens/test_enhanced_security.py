"""The embedded server in enhanced security mode: a publishable key needs a valid user token,
which reaches only its own user and what its grants name; rate limits and idempotency keys are
kept per signing user. Responses are checked against openapi/knock.yaml (`make_server`)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from knock_async.testing import KnockTestServer, RateLimits
from knock_async.tokens import Grant, Permission, SigningKeyError, load_signing_key, sign_user_token
from tests.conftest import ServerFactory
from tests.server.support import Api, Result
from tests.tokens import jose

TOKEN_HEADER = "X-Knock-User-Token"


async def enhanced(make_server: ServerFactory, **options: Any) -> KnockTestServer:
    server = await make_server(enhanced_security=True, **options)
    server.add_workflow("new-comment", ["in_app_feed"])
    return server


@pytest.fixture
async def server(make_server: ServerFactory) -> KnockTestServer:
    return await enhanced(make_server)


@pytest.fixture
async def admin(server: KnockTestServer) -> AsyncIterator[Api]:
    async with Api(server) as api:
        yield api


@pytest.fixture
async def browser(server: KnockTestServer) -> AsyncIterator[Api]:
    """Calls with the publishable key, as a browser does."""
    async with Api(server, key=server.publishable_key) as api:
        yield api


def token_for(server: KnockTestServer, user_id: str, *grants: Grant) -> dict[str, str]:
    return {TOKEN_HEADER: sign_user_token(user_id, signing_key=server.signing_key, grants=grants or None)}


def feed(server: KnockTestServer, user_id: str) -> str:
    return f"/v1/users/{user_id}/feeds/{server.channel_id('in_app_feed')}"


async def notify(admin: Api, *recipients: str) -> dict[str, str]:
    """Trigger the workflow; the id of each recipient's feed message."""
    assert (await admin.post("/v1/workflows/new-comment/trigger", json={"recipients": list(recipients)})).ok
    messages = {}
    for user_id in recipients:
        result = await admin.get(feed(admin.server, user_id))
        [item] = result.body["entries"]
        messages[user_id] = item["id"]
    return messages


def assert_error(result: Result, status: int, code: str) -> None:
    assert (result.status, result.body["code"]) == (status, code), result.body


# ---------------------------------------------------------------------------- authentication


async def test_a_publishable_key_without_a_token_is_refused(server: KnockTestServer, browser: Api) -> None:
    assert_error(await browser.get(feed(server, "ada")), 401, "missing_user_token")
    assert_error(
        await browser.get(feed(server, "ada"), headers={TOKEN_HEADER: ""}), 401, "missing_user_token"
    )


async def test_a_secret_key_needs_no_token(server: KnockTestServer, admin: Api) -> None:
    assert (await admin.get(feed(server, "ada"))).status == 200


async def test_a_valid_token_reaches_its_users_feed(
    server: KnockTestServer, admin: Api, browser: Api
) -> None:
    await notify(admin, "ada")
    result = await browser.get(feed(server, "ada"), headers=token_for(server, "ada"))
    assert result.status == 200
    assert result.body["meta"]["unseen_count"] == 1


async def test_a_token_signed_by_hand_with_cryptography_is_accepted(
    server: KnockTestServer, browser: Api
) -> None:
    # The server verifies with PyJWT; this token comes from an independent implementation.
    now = int(time.time())
    key = load_signing_key(server.signing_key)
    token = jose.sign({"sub": "ada", "iat": now, "exp": now + 60}, key)
    assert (await browser.get(feed(server, "ada"), headers={TOKEN_HEADER: token})).status == 200


def refused_tokens(key: rsa.RSAPrivateKey) -> dict[str, str]:
    now = int(time.time())
    good = jose.sign({"sub": "ada", "iat": now, "exp": now + 600}, key)
    header, _, signature = good.split(".")
    tampered = ".".join(
        [header, jose.b64url(json.dumps({"sub": "grace", "exp": now + 600}).encode()), signature]
    )
    unsigned = {"alg": "none", "typ": "JWT"}
    return {
        "garbage": "not-a-jwt",
        "expired": jose.sign({"sub": "ada", "iat": now - 7200, "exp": now - 3600}, key),
        "tampered claims": tampered,
        "another key": jose.sign({"sub": "ada", "iat": now, "exp": now + 600}, jose.new_key()),
        "alg none": f"{jose.b64url(json.dumps(unsigned).encode())}.{good.split('.')[1]}.",
        "no sub": jose.sign({"iat": now, "exp": now + 600}, key),
        "empty sub": jose.sign({"sub": "", "iat": now, "exp": now + 600}, key),
        "no exp": jose.sign({"sub": "ada", "iat": now}, key),
        "grants not a map": jose.sign({"sub": "ada", "exp": now + 600, "grants": ["x"]}, key),
    }


async def test_bad_tokens_are_refused_and_never_echoed(server: KnockTestServer, browser: Api) -> None:
    for name, token in refused_tokens(load_signing_key(server.signing_key)).items():
        result = await browser.get(feed(server, "ada"), headers={TOKEN_HEADER: token})
        assert_error(result, 401, "invalid_user_token")
        assert token not in json.dumps(result.body), name


async def test_a_token_of_another_servers_key_is_refused(make_server: ServerFactory) -> None:
    first, second = await enhanced(make_server), await enhanced(make_server)
    assert first.signing_key != second.signing_key  # each server makes its own key
    async with Api(second, key=second.publishable_key) as browser:
        result = await browser.get(feed(second, "ada"), headers=token_for(first, "ada"))
    assert_error(result, 401, "invalid_user_token")


async def test_a_given_signing_key_is_used(make_server: ServerFactory, base64_pem: str, pem: str) -> None:
    server = await enhanced(make_server, signing_key=base64_pem)
    assert load_signing_key(server.signing_key).private_numbers() == load_signing_key(pem).private_numbers()
    async with Api(server, key=server.publishable_key) as browser:
        token = {TOKEN_HEADER: sign_user_token("ada", signing_key=pem)}
        assert (await browser.get(feed(server, "ada"), headers=token)).status == 200


async def test_the_token_is_checked_before_the_operation_kind(server: KnockTestServer, browser: Api) -> None:
    assert_error(await browser.get("/v1/users"), 401, "missing_user_token")
    assert_error(
        await browser.get("/v1/users", headers=token_for(server, "ada")), 403, "incorrect_token_type"
    )


# ---------------------------------------------------------------------------- what a token reaches


async def test_a_token_reaches_only_its_own_user(server: KnockTestServer, browser: Api) -> None:
    ada = token_for(server, "ada")
    assert (await browser.put("/v1/users/ada", json={"name": "Ada"}, headers=ada)).status == 200
    assert (await browser.get("/v1/users/ada/preferences", headers=ada)).status == 200
    for method, path in [
        ("GET", feed(server, "grace")),
        ("GET", "/v1/users/grace"),
        ("PUT", "/v1/users/grace"),
        ("GET", "/v1/users/grace/preferences"),
        ("PUT", "/v1/users/grace/preferences/default"),
    ]:
        body: dict[str, Any] | None = {} if method == "PUT" else None
        result = await browser.request(method, path, json=body, headers=ada)
        assert_error(result, 403, "user_token_forbidden")


async def test_a_feed_read_grant_opens_that_users_feed_only(server: KnockTestServer, browser: Api) -> None:
    lead = token_for(server, "lead", Grant.for_user("grace", Permission.USER_FEED_READ))
    assert (await browser.get(feed(server, "grace"), headers=lead)).status == 200
    assert (await browser.get(f"{feed(server, 'grace')}/settings", headers=lead)).status == 200
    assert_error(await browser.get(feed(server, "alan"), headers=lead), 403, "user_token_forbidden")
    assert_error(await browser.get("/v1/users/grace", headers=lead), 403, "user_token_forbidden")


async def test_a_token_marks_only_its_own_messages(server: KnockTestServer, admin: Api, browser: Api) -> None:
    messages = await notify(admin, "ada", "grace")
    ada = token_for(server, "ada")
    assert (await browser.put(f"/v1/messages/{messages['ada']}/seen", headers=ada)).status == 200
    assert_error(
        await browser.put(f"/v1/messages/{messages['grace']}/seen", headers=ada), 403, "user_token_forbidden"
    )
    assert_error(
        await browser.get(f"/v1/messages/{messages['grace']}", headers=ada), 403, "user_token_forbidden"
    )
    # A batch naming anyone else's message changes nothing at all.
    batch = {"message_ids": [messages["ada"], messages["grace"]]}
    assert_error(
        await browser.post("/v1/messages/batch/read", json=batch, headers=ada), 403, "user_token_forbidden"
    )
    grace_feed = (await admin.get(feed(server, "grace"))).body
    assert (grace_feed["meta"]["unseen_count"], grace_feed["meta"]["unread_count"]) == (1, 1)
    ok = await browser.post("/v1/messages/batch/read", json={"message_ids": [messages["ada"]]}, headers=ada)
    assert ok.status == 200 and [m["id"] for m in ok.body] == [messages["ada"]]


async def slack_tenant(server: KnockTestServer, admin: Api) -> list[tuple[str, str]]:
    server.add_channel("slack", "chat")
    connection = {"token": {"access_token": "xoxb-test"}, "connections": [{"channel_id": "C1"}]}
    path = f"/v1/objects/$tenants/acme/channel_data/{server.channel_id('slack')}"
    assert (await admin.put(path, json={"data": connection})).ok
    return [("access_token_object", json.dumps({"object_id": "acme", "collection": "$tenants"}))]


async def test_slack_channels_need_a_grant_on_the_tenant(
    server: KnockTestServer, admin: Api, browser: Api
) -> None:
    query = await slack_tenant(server, admin)
    path = f"/v1/providers/slack/{server.channel_id('slack')}/channels"
    granted = token_for(server, "ada", Grant.for_tenant("acme", Permission.SLACK_CHANNELS_READ))
    result = await browser.get(path, params=query, headers=granted)
    assert result.status == 200 and [c["id"] for c in result.body["slack_channels"]] == ["C1"]
    for token in (
        token_for(server, "ada"),
        token_for(server, "ada", Grant.for_tenant("other", Permission.SLACK_CHANNELS_READ)),
        token_for(server, "ada", Grant.for_tenant("acme", Permission.MS_TEAMS_CHANNELS_READ)),
        token_for(server, "ada", Grant.for_object("acme", "acme", Permission.SLACK_CHANNELS_READ)),
    ):
        assert_error(await browser.get(path, params=query, headers=token), 403, "user_token_forbidden")


async def test_object_channel_data_needs_read_or_write_grants(server: KnockTestServer) -> None:
    # What SlackKit does from the browser: read and set the channels connected to an object.
    channel = server.add_channel("slack", "chat")
    path = f"/v1/objects/projects/p1/channel_data/{channel}"
    data = {"data": {"connections": [{"channel_id": "C9"}]}}
    reader = token_for(server, "ada", Grant.for_object("projects", "p1", Permission.CHANNEL_DATA_READ))
    writer = token_for(server, "ada", Grant.for_object("projects", "p1", Permission.CHANNEL_DATA_WRITE))
    async with Api(server, key=server.publishable_key) as browser:
        assert_error(await browser.put(path, json=data, headers=reader), 403, "user_token_forbidden")
        assert (await browser.put(path, json=data, headers=writer)).status == 200
        assert_error(await browser.get(path, headers=writer), 403, "user_token_forbidden")
        result = await browser.get(path, headers=reader)
        assert result.status == 200 and result.body["data"]["connections"] == [{"channel_id": "C9"}]
        other = path.replace("/p1/", "/p2/")
        assert_error(await browser.get(other, headers=reader), 403, "user_token_forbidden")


# ---------------------------------------------------------------------------- per-user limits and keys


async def test_rate_limits_are_kept_per_signing_user(make_server: ServerFactory) -> None:
    # Two feed reads (tier 2) a minute: robust however slowly a loaded machine runs the test.
    server = await enhanced(make_server, rate_limits=RateLimits(rates={2: 2}, window=60))
    ada, grace = token_for(server, "ada"), token_for(server, "grace")
    async with Api(server, key=server.publishable_key) as browser:
        assert [(await browser.get(feed(server, "ada"), headers=ada)).status for _ in range(2)] == [200, 200]
        limited = await browser.get(feed(server, "ada"), headers=ada)
        assert_error(limited, 429, "rate_limit_exceeded")
        # Another user behind the same publishable key has a budget of their own.
        assert (await browser.get(feed(server, "grace"), headers=grace)).status == 200


async def test_idempotency_keys_have_no_effect_on_feed_writes(
    server: KnockTestServer, admin: Api, browser: Api
) -> None:
    """As on Knock, only triggers (secret key only) honour the key: two users' writes with one
    key both act, neither is refused."""
    messages = await notify(admin, "ada", "grace")
    same_key = {"Idempotency-Key": "mark-seen-1"}
    first = await browser.put(
        f"/v1/messages/{messages['ada']}/seen", headers={**token_for(server, "ada"), **same_key}
    )
    second = await browser.put(
        f"/v1/messages/{messages['grace']}/seen", headers={**token_for(server, "grace"), **same_key}
    )
    assert (first.body["id"], second.body["id"]) == (messages["ada"], messages["grace"])
    assert [request.replayed for request in server.calls("messages.mark_as_seen")] == [False, False]
    assert server.take_idempotency_violations() == []


# ---------------------------------------------------------------------------- secrets stay out


async def test_keys_and_tokens_stay_out_of_reprs_records_and_logs(
    server: KnockTestServer, admin: Api, browser: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    messages = await notify(admin, "ada")
    ada = token_for(server, "ada")
    await browser.put(f"/v1/messages/{messages['ada']}/seen", headers=ada)
    await browser.get(feed(server, "grace"), headers=ada)
    await browser.get(feed(server, "grace"), headers={TOKEN_HEADER: ada[TOKEN_HEADER] + "x"})
    key_lines = [line for line in server.signing_key.splitlines() if "-----" not in line]
    seen = "\n".join(
        [
            repr(server),
            repr(server._security),
            caplog.text,
            *map(repr, server.requests),
            *(str(r.body) for r in server.requests),
        ]
    )
    assert ada[TOKEN_HEADER] not in seen and ada[TOKEN_HEADER].split(".")[2] not in seen
    assert not any(line in seen for line in key_lines)
    assert repr(server).endswith("enhanced security>")


async def test_the_signing_key_exists_only_in_enhanced_security_mode(
    make_server: ServerFactory, pem: str
) -> None:
    plain = await make_server()
    with pytest.raises(RuntimeError, match="enhanced_security"):
        _ = plain.signing_key
    with pytest.raises(ValueError, match="enhanced_security"):
        KnockTestServer(signing_key=pem)


def test_a_bad_signing_key_for_the_server_is_refused_without_showing_it(pem: str) -> None:
    broken = pem.replace("\n", "\n#", 3)
    with pytest.raises(SigningKeyError) as caught:
        KnockTestServer(enhanced_security=True, signing_key=broken)
    assert caught.value.__context__ is None and caught.value.__cause__ is None
    assert not any(line in str(caught.value) for line in pem.splitlines()[1:-1])
