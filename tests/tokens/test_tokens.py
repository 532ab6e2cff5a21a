"""`knock_async.tokens.sign_user_token`: the token Knock's enhanced security mode expects,
checked with an independent JWT implementation (tests/tokens/jose.py, on `cryptography`)."""

from __future__ import annotations

import base64
import subprocess
import sys
import time
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from knock_async.tokens import Grant, Permission, SigningKeyError, sign_user_token
from tests.tokens import jose


def test_a_token_carries_knocks_claims_signed_rs256(private_key: rsa.RSAPrivateKey, pem: str) -> None:
    before = int(time.time())
    token = sign_user_token("user-1", signing_key=pem)
    header, claims = jose.verify(token, private_key.public_key())
    assert header == {"alg": "RS256", "typ": "JWT"}
    assert set(claims) == {"sub", "iat", "exp"}  # no grants claim when none are given
    assert claims["sub"] == "user-1"
    assert before <= claims["iat"] <= int(time.time())
    assert claims["exp"] == claims["iat"] + 3600  # an hour, as Knock's SDKs default


def test_expiry_is_configurable(private_key: rsa.RSAPrivateKey, pem: str) -> None:
    _, claims = jose.verify(sign_user_token("u", signing_key=pem, expires_in=60), private_key.public_key())
    assert claims["exp"] - claims["iat"] == 60


def test_another_key_does_not_verify_the_token(pem: str) -> None:
    with pytest.raises(InvalidSignature):
        jose.verify(sign_user_token("u", signing_key=pem), jose.new_key().public_key())


def test_the_key_may_be_base64_encoded_or_come_from_the_environment(
    private_key: rsa.RSAPrivateKey, base64_pem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, claims = jose.verify(sign_user_token("u1", signing_key=base64_pem), private_key.public_key())
    assert claims["sub"] == "u1"
    monkeypatch.setenv("KNOCK_SIGNING_KEY", base64_pem)
    _, claims = jose.verify(sign_user_token("u2"), private_key.public_key())
    assert claims["sub"] == "u2"


def claims_of(token: str, key: rsa.RSAPrivateKey) -> dict[str, Any]:
    return jose.verify(token, key.public_key())[1]


def test_grants_name_resources_by_uri_and_merge(private_key: rsa.RSAPrivateKey, pem: str) -> None:
    grants = [
        Grant.for_tenant("acme", Permission.SLACK_CHANNELS_READ),
        Grant.for_object("projects", "p1", Permission.CHANNEL_DATA_READ),
        Grant.for_object("projects", "p1", Permission.CHANNEL_DATA_WRITE),  # merges with the one above
        Grant.for_user("lead", Permission.USER_FEED_READ),
    ]
    claims = claims_of(sign_user_token("u", signing_key=pem, grants=grants), private_key)
    assert claims["grants"] == {
        "https://api.knock.app/v1/objects/$tenants/acme": {"slack/channels_read": []},
        "https://api.knock.app/v1/objects/projects/p1": {"channel_data/read": [], "channel_data/write": []},
        "https://api.knock.app/v1/users/lead": {"user/feed_read": []},
    }


def test_grants_take_every_documented_permission() -> None:
    assert {permission.value for permission in Permission} == {
        "user/read",
        "user/write",
        "user/feed_read",
        "user/feed_write",
        "user/guide_read",
        "user/guide_write",
        "preferences/read",
        "preferences/write",
        "channel_data/read",
        "channel_data/write",
        "slack/channels_read",
        "ms_teams/channels_read",
    }
    grant = Grant.for_tenant("acme", "ms_teams/channels_read")  # type: ignore[arg-type]  # a str value is accepted
    assert grant.permissions == {Permission.MS_TEAMS_CHANNELS_READ}


@pytest.mark.parametrize(
    ("build", "error"),
    [
        (lambda: Grant.for_tenant("acme"), ValueError),  # no permission
        (lambda: Grant.for_tenant("acme", "slack/everything"), ValueError),  # type: ignore[arg-type]  # not a Knock permission
        (lambda: Grant.for_tenant("", Permission.SLACK_CHANNELS_READ), ValueError),
        (lambda: Grant.for_object("", "p1", Permission.CHANNEL_DATA_READ), ValueError),
    ],
)
def test_a_bad_grant_is_refused_when_built(build: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        build()


@pytest.mark.parametrize(
    "grants",
    [
        Grant.for_tenant("acme", Permission.SLACK_CHANNELS_READ),  # one Grant, not a list
        [{"https://api.knock.app/v1/users/u": {"user/feed_read": []}}],  # a raw dict
    ],
)
def test_grants_must_be_a_list_of_grants(pem: str, grants: Any) -> None:
    with pytest.raises(TypeError, match="Grant"):
        sign_user_token("u", signing_key=pem, grants=grants)


@pytest.mark.parametrize(
    ("user_id", "expires_in"), [("", 3600), (None, 3600), ("u", 0), ("u", -5), ("u", 1.5), ("u", True)]
)
def test_bad_arguments_are_refused(pem: str, user_id: Any, expires_in: Any) -> None:
    with pytest.raises(ValueError):
        sign_user_token(user_id, signing_key=pem, expires_in=expires_in)


def test_no_key_at_all_says_where_a_key_comes_from(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KNOCK_SIGNING_KEY", raising=False)
    with pytest.raises(SigningKeyError, match="KNOCK_SIGNING_KEY"):
        sign_user_token("u")


def _pem_of(key: Any, encryption: Any = None) -> str:
    pem: bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        encryption or serialization.NoEncryption(),
    )
    return pem.decode()


def bad_keys(pem: str) -> dict[str, str]:
    body = pem.splitlines()[5]  # a line from inside the key
    return {
        "garbage": "not-a-key-" + body,
        "a truncated PEM": pem[: len(pem) // 2],
        "a PEM with a flipped line": pem.replace(body, body[::-1]),
        "base64 of garbage": base64.b64encode(body.encode()).decode(),
        "an EC key": _pem_of(ec.generate_private_key(ec.SECP256R1())),
        "an encrypted key": _pem_of(jose.new_key(), serialization.BestAvailableEncryption(b"pw")),
        "a public key": jose.new_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
    }


def test_a_bad_key_is_a_clear_error_that_never_shows_the_key(pem: str) -> None:
    for name, key in bad_keys(pem).items():
        with pytest.raises(SigningKeyError) as caught:
            sign_user_token("u", signing_key=key)
        error = caught.value
        assert isinstance(error, ValueError)
        assert "signing key" in str(error), name
        # Nothing of the key in the message, the repr, or any chained exception.
        fragments = [line for line in key.splitlines() if len(line) > 8 and "-----" not in line]
        assert error.__cause__ is None and error.__context__ is None, name
        for text in (str(error), repr(error)):
            assert all(fragment[:16] not in text for fragment in fragments), name


def test_the_error_says_what_is_wrong_with_the_key(pem: str) -> None:
    keys = bad_keys(pem)
    with pytest.raises(SigningKeyError, match="neither a PEM nor a base64-encoded PEM"):
        sign_user_token("u", signing_key=keys["garbage"])
    for name in ("an EC key", "an encrypted key", "a public key", "a truncated PEM"):
        with pytest.raises(SigningKeyError, match="not an unencrypted RSA private key"):
            sign_user_token("u", signing_key=keys[name])


def test_tenants_are_named_in_either_uri_form(private_key: rsa.RSAPrivateKey, pem: str) -> None:
    grants = [
        Grant.for_tenant("acme", Permission.USER_FEED_READ, form="tenants"),
        Grant.for_tenant("acme", Permission.SLACK_CHANNELS_READ),  # the Node SDK's form by default
    ]
    claims = claims_of(sign_user_token("u", signing_key=pem, grants=grants), private_key)
    assert claims["grants"] == {
        "https://api.knock.app/v1/tenants/acme": {"user/feed_read": []},
        "https://api.knock.app/v1/objects/$tenants/acme": {"slack/channels_read": []},
    }
    with pytest.raises(ValueError, match="tenant URI form"):
        Grant.for_tenant("acme", Permission.USER_READ, form="orgs")  # type: ignore[arg-type]


def test_explicit_grants_and_jti_are_claims_only_when_asked(private_key: rsa.RSAPrivateKey, pem: str) -> None:
    plain = claims_of(sign_user_token("u", signing_key=pem), private_key)
    assert "explicit_grants" not in plain and "jti" not in plain
    strict = claims_of(
        sign_user_token(
            "u", signing_key=pem, explicit_grants=True, grants=[Grant.for_user("u", Permission.USER_READ)]
        ),
        private_key,
    )
    assert strict["explicit_grants"] is True
    first, second = (
        claims_of(sign_user_token("u", signing_key=pem, jti=True), private_key) for _ in range(2)
    )
    assert first["jti"] != second["jti"] and len(first["jti"]) == 36  # a random UUID each time
    assert (
        claims_of(sign_user_token("u", signing_key=pem, jti="session-7"), private_key)["jti"] == "session-7"
    )
    for bad in ({"jti": ""}, {"jti": 7}, {"explicit_grants": "yes"}):
        with pytest.raises(ValueError):
            sign_user_token("u", signing_key=pem, **bad)  # type: ignore[arg-type]


def test_without_the_extra_the_import_says_what_to_install() -> None:
    """Without PyJWT, `import knock_async.tokens` names the extra, as the redis and progress extras do."""
    hide_jwt = "import sys; sys.modules['jwt'] = None; import knock_async.tokens"
    done = subprocess.run([sys.executable, "-c", hide_jwt], capture_output=True, text=True, check=False)
    assert done.returncode != 0
    assert "pip install 'knock-async[tokens]'" in done.stderr
