"""Client options (one ClientConfig), inputs refused before sending, errors that name their
request, user tokens given as callables, and the public names."""

from __future__ import annotations

import base64
import enum
import json
import math
from typing import Any

import pytest
from yarl import URL

import knock_async
from knock_async import (
    APIStatusError,
    AsyncKnock,
    ClientConfig,
    KnockError,
    NotFoundError,
    PayloadLimitError,
    RequestOptions,
    RetryPolicy,
)
from knock_async._limiter import scope_for
from knock_async._transport import Transport
from knock_async._types import UNSET, Limit, Operation
from tests.conftest import KnockMock

API_KEY = "sk_test_config_0123456789"
BASE = "https://api.knock.app"
GET_USER = Operation(id="users.get", method="GET", path="/v1/users/{user_id}", tier=4, response=dict)
UPDATE = Operation(id="users.update", method="PUT", path="/v1/users/{user_id}", tier=4, response=dict)
SUBSCRIBE = Operation(
    id="objects.add_subscriptions",
    method="POST",
    path="/v1/objects/projects/p1/subscriptions",
    tier=4,
    response=dict,
    lists=frozenset({"recipients", "subscriptions[].recipients"}),
)


def transport(**options: Any) -> Transport:
    options.setdefault("rate_limiter", None)
    return Transport(ClientConfig(API_KEY, **options))


def jwt(claims: dict[str, Any], signature: str = "sig") -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256'})}.{part(claims)}.{signature}"


# --- one configuration ------------------------------------------------------------------


def test_the_client_builds_one_config_from_its_keyword_arguments() -> None:
    knock = AsyncKnock(API_KEY, timeout=7, max_retries=5, max_response_bytes=1000, rate_limiter=None)
    assert knock.config.timeout == 7
    assert knock.config.retry == RetryPolicy(max_retries=5)
    assert knock.config.max_response_bytes == 1000


@pytest.mark.parametrize("timeout", [0, -1, 0.0, math.nan, True])
def test_a_zero_or_negative_timeout_is_refused(timeout: float) -> None:
    with pytest.raises(ValueError, match="None for no deadline"):
        AsyncKnock(API_KEY, timeout=timeout)
    with pytest.raises(ValueError, match="None for no deadline"):
        RequestOptions(timeout=timeout)


def test_request_options_tell_no_deadline_from_the_default() -> None:
    assert RequestOptions().timeout is UNSET
    assert RequestOptions(timeout=None).timeout is None


@pytest.mark.parametrize(
    "url",
    [
        "https://api.knock.app?x=1",
        "https://api.knock.app/#frag",
        "https://api.knock.app/?",
        "ftp://x",
        "https://",
    ],
)
def test_base_urls_that_would_mangle_paths_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="base_url"):
        ClientConfig(API_KEY, base_url=url)


def test_a_base_url_with_credentials_is_refused_without_echoing_them() -> None:
    with pytest.raises(ValueError, match="credentials") as caught:
        ClientConfig(API_KEY, base_url="https://admin:hunter2secret@api.knock.app")
    assert "hunter2secret" not in str(caught.value)


def test_reprs_show_no_secret() -> None:
    options = RequestOptions(
        headers={"Authorization": "Bearer sk_other_key", "X-Knock-User-Token": "tok-123456"}
    )
    config = ClientConfig(API_KEY, user_token="tok-abcdef", default_headers={"X-Team": "secret-team"})
    for text in (repr(options), repr(config), repr(AsyncKnock(API_KEY))):
        for secret in ("sk_other_key", "tok-123456", API_KEY, "tok-abcdef", "secret-team"):
            assert secret not in text
    assert "Authorization" in repr(options)


@pytest.mark.parametrize(
    "headers",
    [{"Bad Name": "x"}, {"X:Colon": "x"}, {"": "x"}, {"X-Ok": "a\r\nX-Injected: 1"}, {"X-Ok": "a\nb"}],
)
async def test_malformed_headers_are_refused_before_sending(api: KnockMock, headers: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="header"):
        ClientConfig(API_KEY, default_headers=headers)
    t = transport()
    with pytest.raises(ValueError, match="header"):
        await t.request(GET_USER, path={"user_id": "u1"}, options=RequestOptions(headers=headers))
    await t.close()
    assert not api.requests


@pytest.mark.parametrize("key", ["   ", "", "a\tb", "key\x00", "x" * 256])
async def test_bad_idempotency_keys_are_refused(api: KnockMock, key: str) -> None:
    t = transport()
    with pytest.raises(ValueError, match="idempotency key"):
        await t.request(UPDATE, path={"user_id": "u1"}, body={}, options=RequestOptions(idempotency_key=key))
    await t.close()
    assert not api.requests


class Color(enum.Enum):
    RED = "red"


class Number(enum.IntEnum):
    ONE = 1


@pytest.mark.parametrize(("value", "sent"), [("u1", "u1"), (42, "42"), (Color.RED, "red"), (Number.ONE, "1")])
async def test_path_parameters_take_strings_enums_and_ints(api: KnockMock, value: Any, sent: str) -> None:
    api.get(f"{BASE}/v1/users/{sent}", payload={})
    t = transport()
    assert await t.request(GET_USER, path={"user_id": value}) == {}
    await t.close()


@pytest.mark.parametrize("value", [b"abc", True, math.nan, 1.5, object(), ["u1"]])
async def test_other_path_parameters_are_refused(api: KnockMock, value: Any) -> None:
    t = transport()
    with pytest.raises(TypeError, match="'user_id' must be a str or an int"):
        await t.request(GET_USER, path={"user_id": value})
    await t.close()
    assert not api.requests


@pytest.mark.parametrize(
    "body",
    [
        {"recipients": "u1"},
        {"subscriptions": [{"recipients": ["u1"]}, {"recipients": "u2"}]},
    ],
)
async def test_a_lone_string_where_a_list_belongs_is_refused_at_any_depth(
    api: KnockMock, body: dict[str, Any]
) -> None:
    t = transport()
    with pytest.raises(TypeError, match="takes a list"):
        await t.request(SUBSCRIBE, body=body)
    await t.close()
    assert not api.requests


def test_the_retry_policy_says_when_to_retry_and_after_how_long() -> None:
    policy = RetryPolicy(max_retries=4, initial_delay=1, max_delay=3, max_retry_after=10)
    assert policy.retry_in(0, 404) is None  # not retryable
    assert policy.retry_in(4, 503) is None  # retries spent
    assert policy.retry_in(0, 429, retry_after=4) == 4  # Retry-After honoured
    assert policy.retry_in(0, 429, retry_after=3600) == 10  # ... up to max_retry_after
    assert 0.75 <= policy.retry_in(0, None) <= 1  # no response: backoff, with jitter
    assert 1.5 <= policy.retry_in(1, 500) <= 2  # doubled
    assert 2.25 <= policy.retry_in(3, 500) <= 3  # capped at max_delay
    assert RetryPolicy(retryable_statuses=frozenset({503})).retry_in(0, 500) is None
    with pytest.raises(ValueError, match="max_retries"):
        RetryPolicy(max_retries=-1)


# --- errors name their request ----------------------------------------------------------


async def test_errors_carry_the_request_that_failed(api: KnockMock) -> None:
    api.get(f"{BASE}/v1/users/u%2F1", status=404, payload={"code": "resource_missing", "message": "no"})
    t = transport()
    with pytest.raises(NotFoundError) as caught:
        await t.request(GET_USER, path={"user_id": "u/1"})
    await t.close()
    error = caught.value
    assert (error.operation_id, error.method, error.path) == ("users.get", "GET", "/v1/users/u%2F1")
    assert str(error).startswith("GET /v1/users/u%2F1 (users.get): 404 resource_missing")
    assert error.status_code == error.status == 404
    assert error.message == "no"


async def test_a_payload_limit_error_names_its_request(api: KnockMock) -> None:
    limited = Operation(
        id="users.bulk_identify",
        method="POST",
        path="/v1/users/bulk/identify",
        tier=2,
        limits=(Limit("users", max_items=1),),
    )
    t = transport()
    with pytest.raises(PayloadLimitError) as caught:
        await t.request(limited, body={"users": [{"id": "a"}, {"id": "b"}]})
    await t.close()
    assert caught.value.operation_id == "users.bulk_identify"
    assert str(caught.value).startswith(
        "POST /v1/users/bulk/identify (users.bulk_identify): users has 2 items"
    )
    assert not api.requests


def test_public_classes_report_the_package_as_their_module() -> None:
    for cls in (AsyncKnock, KnockError, APIStatusError, NotFoundError, RequestOptions, ClientConfig):
        assert cls.__module__ == "knock_async"
    assert all(getattr(knock_async, name) is not None for name in knock_async.__all__)


# --- user tokens ------------------------------------------------------------------------


async def test_a_user_token_callable_is_asked_on_every_request(api: KnockMock) -> None:
    tokens = iter([jwt({"sub": "u1", "exp": 1}), jwt({"sub": "u1", "exp": 2})])

    async def current_token() -> str:
        return next(tokens)

    api.get(f"{BASE}/v1/users/u1", payload={}, repeat=True)
    t = transport(user_token=current_token)
    await t.request(GET_USER, path={"user_id": "u1"})
    await t.request(GET_USER, path={"user_id": "u1"})
    await t.close()
    sent = [
        call.kwargs["headers"]["X-Knock-User-Token"]
        for call in api.requests["GET", URL(f"{BASE}/v1/users/u1")]
    ]
    assert sent == [jwt({"sub": "u1", "exp": 1}), jwt({"sub": "u1", "exp": 2})]


def test_the_rate_limit_scope_follows_the_tokens_user() -> None:
    first, refreshed, other = jwt({"sub": "u1", "exp": 1}), jwt({"sub": "u1", "exp": 2}), jwt({"sub": "u2"})
    assert scope_for(API_KEY, first) == scope_for(API_KEY, refreshed)
    assert scope_for(API_KEY, first) != scope_for(API_KEY, other)
    assert scope_for(API_KEY, first) != scope_for("sk_other", first)
    assert scope_for(API_KEY, "not-a-jwt") != scope_for(API_KEY, "not-a-jwt-either")
    assert scope_for(API_KEY, None) != scope_for(API_KEY, first)


async def test_a_user_token_callable_that_returns_no_string_is_refused(api: KnockMock) -> None:
    t = transport(user_token=lambda: None)
    with pytest.raises(TypeError, match="user_token"):
        await t.request(GET_USER, path={"user_id": "u1"})
    await t.close()
    assert not api.requests
