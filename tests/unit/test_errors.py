from __future__ import annotations

import email.utils
import json
import time
from typing import Any

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from knock_async._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ClientRequestError,
    ConflictError,
    ErrorCode,
    InternalServerError,
    KnockError,
    NotFoundError,
    PayloadLimitError,
    PermissionDeniedError,
    RateLimitError,
    RedirectError,
    UnprocessableEntityError,
)
from knock_async._redact import REDACTED
from knock_async._responses import MESSAGE_TEXT_LIMIT, error_class_for, error_from_response, parse_retry_after

API_KEY = "sk_test_0123456789abcdef"
USER_TOKEN = "eyJhbGciOiJSUzI1NiJ9.user-token.signature"


def headers(**values: str) -> CIMultiDictProxy[str]:
    return CIMultiDictProxy(CIMultiDict({name.replace("_", "-"): value for name, value in values.items()}))


def knock_body(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (405, ClientRequestError),
        (408, ClientRequestError),
        (413, ClientRequestError),
        (500, InternalServerError),
        (502, InternalServerError),
        (503, InternalServerError),
        (302, RedirectError),
        (307, RedirectError),
        (100, APIStatusError),
    ],
)
def test_status_maps_to_its_class(status: int, cls: type[APIStatusError]) -> None:
    assert error_class_for(status) is cls
    error = error_from_response(status, headers(), knock_body(code="x", message="m", status=status, type="t"))
    assert type(error) is cls
    assert error.status == status


def test_hierarchy() -> None:
    for cls in (
        BadRequestError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        ConflictError,
        UnprocessableEntityError,
        RateLimitError,
        ClientRequestError,
        InternalServerError,
    ):
        assert issubclass(cls, APIStatusError)
    assert issubclass(APIStatusError, KnockError)
    assert issubclass(APITimeoutError, APIConnectionError)
    assert issubclass(APIConnectionError, KnockError)
    assert issubclass(PayloadLimitError, KnockError) and issubclass(PayloadLimitError, ValueError)
    assert issubclass(ClientClosedError, KnockError) and issubclass(ClientClosedError, RuntimeError)


def test_knock_error_body_is_parsed() -> None:
    body = knock_body(
        code="invalid_params",
        message="The request was invalid",
        status=422,
        type="invalid_request_error",
        errors=[{"field": "email", "message": "is invalid", "type": "format"}],
    )
    error = error_from_response(422, headers(x_request_id="req-1", content_type="application/json"), body)

    assert isinstance(error, UnprocessableEntityError)
    assert error.code == ErrorCode.INVALID_PARAMS
    assert error.message == "The request was invalid"
    assert error.type == "invalid_request_error"
    assert error.errors == [{"field": "email", "message": "is invalid", "type": "format"}]
    assert error.headers["Content-Type"] == "application/json"
    assert error.request_id == "req-1"
    assert str(error) == "422 invalid_params: The request was invalid (request id req-1)"


def test_non_json_body_keeps_the_text_and_truncates_only_the_message() -> None:
    page = "<html><body>" + "Bad gateway " * 200 + "</body></html>"
    error = error_from_response(502, headers(content_type="text/html"), page.encode())

    assert isinstance(error, InternalServerError)
    assert error.body == page
    assert len(error.message) == MESSAGE_TEXT_LIMIT
    assert error.message.startswith("<html><body>Bad gateway")
    assert error.code is None and error.type is None and error.errors == []


def test_empty_body_still_gives_a_message() -> None:
    error = error_from_response(500, headers(), b"")
    assert error.message
    assert str(error).startswith("500: ")


def test_unrouted_path_shape() -> None:
    error = error_from_response(404, headers(), knock_body(errors={"detail": "404 Not Found"}))
    assert isinstance(error, NotFoundError)
    assert error.message == "404 Not Found"
    assert error.errors == []


def test_request_id_found_in_a_plain_dict_whatever_its_case() -> None:
    error = error_from_response(400, {"X-Request-ID": "abc"}, knock_body(code="c", message="m"))
    assert error.request_id == "abc"


def test_rate_limit_error_carries_retry_after() -> None:
    error = error_from_response(
        429, headers(retry_after="3"), knock_body(code="rate_limited", message="slow down")
    )
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 3.0
    no_header = error_from_response(429, headers(), b"")
    assert isinstance(no_header, RateLimitError)
    assert no_header.retry_after is None


def test_parse_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    now = time.time()
    date = email.utils.formatdate(now + 30, usegmt=True)
    seconds = parse_retry_after(date, now=now)
    assert seconds is not None and 29.0 <= seconds <= 30.0
    past = email.utils.formatdate(now - 30, usegmt=True)
    assert parse_retry_after(past, now=now) == 0.0


def test_secrets_echoed_in_the_body_are_redacted() -> None:
    body = knock_body(
        code=ErrorCode.INVALID_USER_TOKEN,
        message=f"token {USER_TOKEN} for key {API_KEY} is invalid",
        status=401,
        type="authentication_error",
    )
    error = error_from_response(401, headers(), body, secrets=(API_KEY, USER_TOKEN))
    for text in (str(error), repr(error), error.message, json.dumps(error.body)):
        assert API_KEY not in text
        assert USER_TOKEN not in text
    assert REDACTED in error.message


def test_payload_limit_error_names_field_limit_and_size() -> None:
    error = PayloadLimitError("recipients", "max_items", 1000, 1001)
    assert isinstance(error, ValueError)
    assert (error.field, error.kind, error.limit, error.actual) == ("recipients", "max_items", 1000, 1001)
    assert "recipients" in str(error) and "1000" in str(error) and "1001" in str(error)


def test_documented_error_codes() -> None:
    assert ErrorCode.MISSING_JWT_SIGNING_KEY == "missing_jwt_signing_key"
    assert ErrorCode.MISSING_USER_TOKEN == "missing_user_token"
    assert ErrorCode.WORKFLOW_INACTIVE == "workflow_inactive"
    assert ErrorCode.API_KEY_MISSING == "api_key_missing"
    codes = [value for name, value in vars(ErrorCode).items() if name.isupper()]
    assert len(codes) == len(set(codes)) == 12
