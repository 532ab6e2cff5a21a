from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email.utils
import enum
import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import attrs
import pytest
from yarl import URL

from knock_async._config import ClientConfig, RetryPolicy
from knock_async._encode import encode_query
from knock_async._errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ClientRequestError,
    ConflictError,
    ErrorCode,
    InternalServerError,
    NotFoundError,
    PayloadLimitError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from knock_async._logging import configure_logging_from_env
from knock_async._raw_response import with_raw_response
from knock_async._transport import Transport, new_idempotency_key
from knock_async._types import UNSET, Limit, OpenEnum, Operation, RequestOptions, Unset
from tests.conftest import KnockMock
from tests.helpers import RecordingClock

API_KEY = "sk_test_0123456789abcdef"
USER_TOKEN = "eyJhbGciOiJSUzI1NiJ9.user-token.signature"
BASE = "https://api.knock.app"


# --- small models and operations, shaped like the generated ones ------------------------


class ChannelType(OpenEnum):
    EMAIL = "email"
    SMS = "sms"


class Priority(enum.Enum):
    HIGH = 1


@attrs.define
class User:
    id: str
    name: str | Unset | None = UNSET
    updated_at: dt.datetime | Unset = UNSET
    additional_properties: dict[str, Any] = attrs.field(factory=dict)


@attrs.define
class Recipient:
    id: str
    channel: ChannelType | Unset = UNSET
    additional_properties: dict[str, Any] = attrs.field(factory=dict)


@attrs.define
class TriggerResponse:
    workflow_run_id: str
    additional_properties: dict[str, Any] = attrs.field(factory=dict)


GET_USER = Operation(id="users.get", method="GET", path="/v1/users/{user_id}", tier=4, response=User)
IDENTIFY = Operation(id="users.update", method="PUT", path="/v1/users/{user_id}", tier=3, response=User)
DELETE_USER = Operation(id="users.delete", method="DELETE", path="/v1/users/{user_id}", tier=3)
GET_FEED = Operation(
    id="users.feed", method="GET", path="/v1/users/{user_id}/feeds/{channel_id}", tier=4, response=dict
)
LIST_MESSAGES = Operation(id="messages.list", method="GET", path="/v1/messages", tier=4, response=dict)
TRIGGER = Operation(
    id="workflows.trigger",
    method="POST",
    path="/v1/workflows/{key}/trigger",
    tier=4,
    response=TriggerResponse,
    limits=(Limit("recipients", max_items=3), Limit("data", max_bytes=64)),
)
BULK_IDENTIFY = Operation(
    id="users.bulk.identify",
    method="POST",
    path="/v1/users/bulk/identify",
    tier=2,
    response=dict,
    limits=(
        Limit("users", max_items=5),
        Limit("users[].channels", max_items=2),
        Limit("users[].data", max_bytes=40),
    ),
)

USER_URL = f"{BASE}/v1/users/u1"
TRIGGER_URL = f"{BASE}/v1/workflows/new-comment/trigger"
USER_JSON = {"__typename": "User", "id": "u1", "name": "Ada", "updated_at": "2024-05-01T12:00:00Z"}


# --- fixtures -------------------------------------------------------------------------


class FakeLimiter:
    """Records what the transport asks of the rate limiter."""

    def __init__(self) -> None:
        self.slots: list[tuple[int, str]] = []
        self.pauses: list[tuple[int, str, float]] = []
        self.timeouts: list[float | None] = []
        self.inside = False

    @contextlib.asynccontextmanager
    async def _slot(self, tier: int, scope: str, timeout: float | None) -> AsyncIterator[None]:
        self.slots.append((tier, scope))
        self.timeouts.append(timeout)
        self.inside = True
        try:
            yield
        finally:
            self.inside = False

    def slot(
        self, tier: int, scope: str, timeout: float | None = None
    ) -> contextlib.AbstractAsyncContextManager[None]:
        return self._slot(tier, scope, timeout)

    async def pause(self, tier: int, scope: str, seconds: float) -> None:
        self.pauses.append((tier, scope, seconds))


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
async def transport(sleeps: list[float]) -> AsyncIterator[Transport]:
    t = Transport(ClientConfig(API_KEY, timeout=None, clock=_recorder(sleeps)))
    yield t
    await t.close()


def _recorder(sleeps: list[float]) -> RecordingClock:
    return RecordingClock(sleeps)


@pytest.fixture
def knock_logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger("knock_async")
    level, handlers = logger.level, list(logger.handlers)
    yield logger
    logger.setLevel(level)
    logger.handlers[:] = handlers


def sent(api: KnockMock, method: str = "GET", url: str = USER_URL) -> list[Any]:
    """The calls made to one URL (each has .kwargs with headers, data, timeout)."""
    return list(api.requests.get((method, URL(url, encoded=True)), []))


def sent_json(call: Any) -> Any:
    return json.loads(call.kwargs["data"])


def all_calls(api: KnockMock) -> list[Any]:
    return [call for calls in api.requests.values() for call in calls]


# --- happy path, headers, response --------------------------------------------------------


async def test_get_structures_the_response_and_keeps_unknown_fields(
    transport: Transport, api: KnockMock
) -> None:
    api.get(USER_URL, payload={**USER_JSON, "plan": "pro"})

    user = await transport.request(GET_USER, path={"user_id": "u1"})

    assert user == User(
        id="u1",
        name="Ada",
        updated_at=dt.datetime(2024, 5, 1, 12, tzinfo=dt.timezone.utc),
        additional_properties={"__typename": "User", "plan": "pro"},
    )


async def test_standard_headers(api: KnockMock, sleeps: list[float]) -> None:
    t = Transport(ClientConfig(API_KEY, user_token=USER_TOKEN, default_headers={"X-Team": "growth"}))
    api.get(USER_URL, payload=USER_JSON)
    await t.request(GET_USER, path={"user_id": "u1"})
    await t.close()

    headers = sent(api)[0].kwargs["headers"]
    assert headers["Authorization"] == f"Bearer {API_KEY}"
    assert headers["X-Knock-User-Token"] == USER_TOKEN
    assert re.fullmatch(r"knock-async/\S+", headers["User-Agent"])
    assert headers["Accept"] == "application/json"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Team"] == "growth"
    assert "Idempotency-Key" not in headers  # a GET needs none


async def test_option_headers_replace_defaults_whatever_their_case(
    transport: Transport, api: KnockMock
) -> None:
    api.get(USER_URL, payload=USER_JSON)
    await transport.request(
        GET_USER,
        path={"user_id": "u1"},
        options=RequestOptions(headers={"accept": "text/plain", "X-Extra": "1"}),
    )
    headers = sent(api)[0].kwargs["headers"]
    assert [name for name in headers if name.lower() == "accept"] == ["accept"]
    assert headers["accept"] == "text/plain"
    assert headers["X-Extra"] == "1"


async def test_204_and_operations_without_response_return_none(transport: Transport, api: KnockMock) -> None:
    api.delete(USER_URL, status=204)
    assert await transport.request(DELETE_USER, path={"user_id": "u1"}) is None
    api.delete(USER_URL, status=200, payload={"ignored": True})
    assert await transport.request(DELETE_USER, path={"user_id": "u1"}) is None


async def test_invalid_json_on_2xx_is_a_validation_error(transport: Transport, api: KnockMock) -> None:
    api.get(USER_URL, body="not json", content_type="text/plain")
    with pytest.raises(APIResponseValidationError) as caught:
        await transport.request(GET_USER, path={"user_id": "u1"})
    assert caught.value.status == 200


async def test_body_that_does_not_fit_the_model_is_a_validation_error(
    transport: Transport, api: KnockMock
) -> None:
    api.get(USER_URL, payload={"name": "no id"})
    with pytest.raises(APIResponseValidationError, match="does not fit User"):
        await transport.request(GET_USER, path={"user_id": "u1"})


async def test_aiohttp_bounds_the_connect_step_and_one_attempt(api: KnockMock) -> None:
    # The call's own deadline bounds the rest (queueing, retries, backoff included).
    t = Transport(ClientConfig(API_KEY, connect_timeout=4, attempt_timeout=None))
    api.get(USER_URL, payload=USER_JSON, repeat=True)
    await t.request(GET_USER, path={"user_id": "u1"})
    await t.request(GET_USER, path={"user_id": "u1"}, options=RequestOptions(timeout=5))
    await t.close()
    for call in sent(api):
        assert (call.kwargs["timeout"].total, call.kwargs["timeout"].connect) == (None, 4)
        assert call.kwargs["allow_redirects"] is False
    bounded = Transport(ClientConfig(API_KEY, attempt_timeout=7))
    await bounded.request(GET_USER, path={"user_id": "u1"})
    await bounded.close()
    assert sent(api)[-1].kwargs["timeout"].total == 7


# --- configuration and session lifecycle ---------------------------------------------------


@pytest.mark.parametrize("key", ["", "   "])
def test_an_api_key_is_required(key: str) -> None:
    with pytest.raises(ValueError, match="API key is required"):
        Transport(ClientConfig(key))


async def test_caller_owned_session_is_used_and_left_open(api: KnockMock) -> None:
    api.get(USER_URL, payload=USER_JSON)
    async with aiohttp.ClientSession() as session:
        t = Transport(ClientConfig(API_KEY, session=session))
        await t.request(GET_USER, path={"user_id": "u1"})
        await t.close()
        assert not session.closed
        with pytest.raises(ClientClosedError):
            await t.request(GET_USER, path={"user_id": "u1"})


async def test_callers_raise_for_status_does_not_hide_knock_errors(api: KnockMock) -> None:
    api.get(USER_URL, status=404, payload={"code": "resource_missing", "message": "no such user"})
    async with aiohttp.ClientSession(raise_for_status=True) as session:
        t = Transport(ClientConfig(API_KEY, session=session))
        with pytest.raises(NotFoundError) as caught:
            await t.request(GET_USER, path={"user_id": "u1"})
    assert caught.value.code == "resource_missing"


async def test_own_session_is_created_lazily_reused_and_closed(api: KnockMock) -> None:
    api.get(USER_URL, payload=USER_JSON, repeat=True)
    t = Transport(ClientConfig(API_KEY))
    await t.request(GET_USER, path={"user_id": "u1"})
    session = await t.sessions.current()
    await t.request(GET_USER, path={"user_id": "u1"})
    assert await t.sessions.current() is session
    await t.close()
    assert session.closed
    assert t.closed


async def test_request_after_close_raises_and_sends_nothing(api: KnockMock) -> None:
    t = Transport(ClientConfig(API_KEY))
    await t.close()
    with pytest.raises(ClientClosedError, match="closed"):
        await t.request(GET_USER, path={"user_id": "u1"})
    assert isinstance(ClientClosedError("x"), RuntimeError)
    assert all_calls(api) == []


async def test_async_context_manager_closes() -> None:
    async with Transport(ClientConfig(API_KEY)) as t:
        assert not t.closed
    assert t.closed


# --- path parameters ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_id", "encoded"),
    [
        ("a/../b", "a%2F..%2Fb"),
        ("..", "%2E%2E"),
        (".", "%2E"),
        ("with space", "with%20space"),
        ("ünïcødé", "%C3%BCn%C3%AFc%C3%B8d%C3%A9"),
        ("a?b#c&d=e", "a%3Fb%23c%26d%3De"),
        ("100%", "100%25"),
    ],
)
async def test_path_values_are_fully_percent_encoded(
    transport: Transport, api: KnockMock, user_id: str, encoded: str
) -> None:
    url = f"{BASE}/v1/users/{encoded}"
    api.get(URL(url, encoded=True), payload=USER_JSON)

    await transport.request(GET_USER, path={"user_id": user_id})

    assert len(sent(api, url=url)) == 1


async def test_several_path_parameters(transport: Transport, api: KnockMock) -> None:
    url = f"{BASE}/v1/users/u%201/feeds/chan%2F2"
    api.get(URL(url, encoded=True), payload={})
    await transport.request(GET_FEED, path={"user_id": "u 1", "channel_id": "chan/2"})
    assert len(sent(api, url=url)) == 1


@pytest.mark.parametrize("path", [{"user_id": ""}, {}, None, {"other": "x"}])
async def test_missing_or_empty_path_value_raises_before_sending(
    transport: Transport, api: KnockMock, path: dict[str, str] | None
) -> None:
    with pytest.raises(ValueError, match="user_id"):
        await transport.request(GET_USER, path=path)
    assert all_calls(api) == []


# --- query ---------------------------------------------------------------------------------


def test_query_encoding_rules() -> None:
    when = dt.datetime(2024, 5, 1, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    query = {
        "skip_unset": UNSET,
        "skip_none": None,
        "channel_types[]": [ChannelType.EMAIL, "sms"],
        "archived": True,
        "seen": False,
        "page_size": 25,
        "inserted_at.gte": when,
        "status": ChannelType.SMS,
        "priority": Priority.HIGH,
        "trigger_data": '{"order":7}',
        "recipient": Recipient(id="u1"),
        "objects[]": ["u2", {"id": "o1", "collection": "projects"}],
        "q": "a b&c",
    }
    assert encode_query(query) == (
        "channel_types%5B%5D=email&channel_types%5B%5D=sms&archived=true&seen=false&page_size=25"
        "&inserted_at.gte=2024-05-01T12%3A00%3A00Z&status=sms&priority=1"
        "&trigger_data=%7B%22order%22%3A7%7D&recipient%5Bid%5D=u1"
        "&objects%5B%5D=u2&objects%5B%5D%5Bid%5D=o1&objects%5B%5D%5Bcollection%5D=projects&q=a+b%26c"
    )


async def test_query_is_sent(transport: Transport, api: KnockMock) -> None:
    api.get(re.compile(r"^https://api\.knock\.app/v1/messages\?.*$"), payload={})
    await transport.request(
        LIST_MESSAGES, query={"channel_types[]": ["email", "sms"], "archived": False, "after": UNSET}
    )
    ((method, url),) = api.requests
    assert method == "GET"
    assert url.path == "/v1/messages"
    assert url.query.getall("channel_types[]") == ["email", "sms"]
    assert url.query["archived"] == "false"
    assert "after" not in url.query


# --- body ---------------------------------------------------------------------------------


async def test_body_drops_unset_unstructures_and_merges_extra_body(
    transport: Transport, api: KnockMock
) -> None:
    api.put(USER_URL, payload=USER_JSON)
    await transport.request(
        IDENTIFY,
        path={"user_id": "u1"},
        body={
            "name": "Ada",
            "email": UNSET,
            "phone_number": None,
            "timezone": UNSET,
            "created_at": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc),
            "preferred": ChannelType.EMAIL,
            "recipients": [Recipient(id="r1", channel=ChannelType.SMS), Recipient(id="r2")],
        },
        extra_body={"plan": "pro", "timezone": "Europe/Paris", "nested": {"when": dt.date(2024, 1, 2)}},
    )
    assert sent_json(sent(api, "PUT")[0]) == {
        "name": "Ada",
        "phone_number": None,
        "created_at": "2024-01-02T03:04:05Z",
        "preferred": "email",
        "recipients": [{"id": "r1", "channel": "sms"}, {"id": "r2"}],
        "plan": "pro",
        "timezone": "Europe/Paris",
        "nested": {"when": "2024-01-02"},
    }


async def test_body_is_compact_utf8_json(transport: Transport, api: KnockMock) -> None:
    api.put(USER_URL, payload=USER_JSON)
    await transport.request(IDENTIFY, path={"user_id": "u1"}, body={"name": "Zoë", "tags": [1, 2]})
    assert sent(api, "PUT")[0].kwargs["data"] == '{"name":"Zoë","tags":[1,2]}'.encode()


async def test_key_in_both_body_and_extra_body_raises_before_sending(
    transport: Transport, api: KnockMock
) -> None:
    with pytest.raises(ValueError, match="'name'"):
        await transport.request(
            IDENTIFY, path={"user_id": "u1"}, body={"name": "Ada"}, extra_body={"name": "Bob"}
        )
    assert all_calls(api) == []


async def test_extra_body_alone(transport: Transport, api: KnockMock) -> None:
    api.put(USER_URL, payload=USER_JSON)
    await transport.request(IDENTIFY, path={"user_id": "u1"}, extra_body={"plan": "pro"})
    assert sent_json(sent(api, "PUT")[0]) == {"plan": "pro"}


# --- limits ---------------------------------------------------------------------------------


async def test_max_items_on_a_top_level_list(transport: Transport, api: KnockMock) -> None:
    with pytest.raises(PayloadLimitError) as caught:
        await transport.request(
            TRIGGER, path={"key": "new-comment"}, body={"recipients": ["a", "b", "c", "d"]}
        )
    error = caught.value
    assert (error.field, error.kind, error.limit, error.actual) == ("recipients", "max_items", 3, 4)
    assert all_calls(api) == []


async def test_max_items_inside_every_list_element(transport: Transport, api: KnockMock) -> None:
    users = [{"id": "u1", "channels": ["a"]}, {"id": "u2", "channels": ["a", "b", "c"]}]
    with pytest.raises(PayloadLimitError) as caught:
        await transport.request(BULK_IDENTIFY, body={"users": users})
    assert (caught.value.field, caught.value.limit, caught.value.actual) == ("users[1].channels", 2, 3)
    assert all_calls(api) == []


async def test_max_bytes_counts_the_utf8_json_of_the_value(transport: Transport, api: KnockMock) -> None:
    data = {"text": "é" * 30}  # {"text":"ééé..."} is 11 + 60 bytes
    with pytest.raises(PayloadLimitError) as caught:
        await transport.request(
            TRIGGER, path={"key": "new-comment"}, body={"recipients": ["a"], "data": data}
        )
    error = caught.value
    assert (error.field, error.kind, error.limit, error.actual) == ("data", "max_bytes", 64, 71)
    assert all_calls(api) == []


async def test_max_bytes_inside_list_elements(transport: Transport, api: KnockMock) -> None:
    users = [{"id": "u1", "data": {"a": 1}}, {"id": "u2", "data": {"blob": "x" * 40}}]
    with pytest.raises(PayloadLimitError) as caught:
        await transport.request(BULK_IDENTIFY, body={"users": users})
    assert (caught.value.field, caught.value.kind) == ("users[1].data", "max_bytes")


async def test_within_limits_is_sent_even_when_the_whole_body_is_larger(
    transport: Transport, api: KnockMock
) -> None:
    api.post(TRIGGER_URL, payload={"workflow_run_id": "run-1"})
    body = {"recipients": ["a", "b", "c"], "data": {"small": True}, "actor": "x" * 200}
    result = await transport.request(TRIGGER, path={"key": "new-comment"}, body=body)
    assert result == TriggerResponse(workflow_run_id="run-1")
    assert sent_json(sent(api, "POST", TRIGGER_URL)[0])["actor"] == "x" * 200


async def test_limits_apply_to_models_after_unstructuring(transport: Transport, api: KnockMock) -> None:
    recipients = [Recipient(id=str(n)) for n in range(4)]
    with pytest.raises(PayloadLimitError, match="recipients"):
        await transport.request(TRIGGER, path={"key": "new-comment"}, body={"recipients": recipients})
    assert all_calls(api) == []


# --- idempotency ------------------------------------------------------------------------------


async def test_same_generated_idempotency_key_on_every_retry(
    transport: Transport, api: KnockMock, sleeps: list[float]
) -> None:
    api.post(TRIGGER_URL, status=500)
    api.post(TRIGGER_URL, status=503)
    api.post(TRIGGER_URL, payload={"workflow_run_id": "run-1"})

    await transport.request(TRIGGER, path={"key": "new-comment"}, body={"recipients": ["a"]})

    keys = [call.kwargs["headers"]["Idempotency-Key"] for call in sent(api, "POST", TRIGGER_URL)]
    assert len(keys) == 3 and len(set(keys)) == 1
    assert uuid.UUID(keys[0]).version == 4


async def test_each_call_gets_its_own_key(transport: Transport, api: KnockMock) -> None:
    api.delete(USER_URL, status=204, repeat=True)
    await transport.request(DELETE_USER, path={"user_id": "u1"})
    await transport.request(DELETE_USER, path={"user_id": "u1"})
    first, second = (call.kwargs["headers"]["Idempotency-Key"] for call in sent(api, "DELETE"))
    assert first != second


async def test_callers_idempotency_key_is_used_on_every_retry(transport: Transport, api: KnockMock) -> None:
    api.post(TRIGGER_URL, status=502)
    api.post(TRIGGER_URL, payload={"workflow_run_id": "run-1"})
    options = RequestOptions(idempotency_key="order-placed:user-123:order-456")
    await transport.request(TRIGGER, path={"key": "new-comment"}, body={"recipients": ["a"]}, options=options)
    keys = [call.kwargs["headers"]["Idempotency-Key"] for call in sent(api, "POST", TRIGGER_URL)]
    assert keys == ["order-placed:user-123:order-456"] * 2


async def test_idempotency_key_given_as_a_header_is_kept(transport: Transport, api: KnockMock) -> None:
    api.post(TRIGGER_URL, payload={"workflow_run_id": "run-1"})
    options = RequestOptions(headers={"idempotency-key": "mine"})
    await transport.request(TRIGGER, path={"key": "new-comment"}, body={"recipients": ["a"]}, options=options)
    headers = sent(api, "POST", TRIGGER_URL)[0].kwargs["headers"]
    assert [(k, v) for k, v in headers.items() if k.lower() == "idempotency-key"] == [
        ("Idempotency-Key", "mine")
    ]


@pytest.mark.parametrize("key", ["k" * 256, ""])
async def test_bad_idempotency_key_raises_before_sending(
    transport: Transport, api: KnockMock, key: str
) -> None:
    with pytest.raises(ValueError, match="idempotency key"):
        await transport.request(
            TRIGGER, path={"key": "new-comment"}, body={}, options=RequestOptions(idempotency_key=key)
        )
    assert all_calls(api) == []


async def test_idempotency_key_of_255_characters_is_fine(transport: Transport, api: KnockMock) -> None:
    api.post(TRIGGER_URL, payload={"workflow_run_id": "run-1"})
    options = RequestOptions(idempotency_key="k" * 255)
    await transport.request(TRIGGER, path={"key": "new-comment"}, body={}, options=options)
    assert sent(api, "POST", TRIGGER_URL)[0].kwargs["headers"]["Idempotency-Key"] == "k" * 255


# --- retries --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (422, UnprocessableEntityError),
        (405, ClientRequestError),
    ],
)
async def test_no_retry_on_other_4xx(
    transport: Transport, api: KnockMock, sleeps: list[float], status: int, cls: type[APIStatusError]
) -> None:
    api.get(
        USER_URL,
        status=status,
        payload={"code": "c", "message": "m", "status": status, "type": "t"},
        repeat=True,
    )
    with pytest.raises(cls):
        await transport.request(GET_USER, path={"user_id": "u1"})
    assert len(sent(api)) == 1
    assert sleeps == []


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (408, ClientRequestError),
        (409, ConflictError),
        (429, RateLimitError),
        (500, InternalServerError),
        (502, InternalServerError),
        (503, InternalServerError),
        (504, InternalServerError),
    ],
)
async def test_retries_then_raises_the_right_error(
    transport: Transport, api: KnockMock, sleeps: list[float], status: int, cls: type[APIStatusError]
) -> None:
    api.get(USER_URL, status=status, payload={"code": "c", "message": "m"}, repeat=True)
    with pytest.raises(cls) as caught:
        await transport.request(GET_USER, path={"user_id": "u1"})
    assert caught.value.status == status
    assert len(sent(api)) == 3  # the first try and max_retries=2 retries
    # Exponential backoff with up to 25% jitter taken off: 0.5 s then 1 s.
    assert len(sleeps) == 2
    assert 0.375 <= sleeps[0] <= 0.5
    assert 0.75 <= sleeps[1] <= 1.0


async def test_retry_then_success(transport: Transport, api: KnockMock, sleeps: list[float]) -> None:
    api.get(USER_URL, status=503)
    api.get(USER_URL, payload=USER_JSON)
    user = await transport.request(GET_USER, path={"user_id": "u1"})
    assert user.id == "u1"
    assert len(sleeps) == 1


async def test_backoff_grows_and_is_capped(api: KnockMock, sleeps: list[float]) -> None:
    t = Transport(
        ClientConfig(API_KEY, timeout=None, retry=RetryPolicy(max_retries=6), clock=_recorder(sleeps))
    )
    api.get(USER_URL, status=500, repeat=True)
    with pytest.raises(InternalServerError):
        await t.request(GET_USER, path={"user_id": "u1"})
    await t.close()
    assert len(sent(api)) == 7
    ceilings = [0.5, 1, 2, 4, 8, 8]
    assert all(0.75 * ceiling <= slept <= ceiling for slept, ceiling in zip(sleeps, ceilings, strict=True))


async def test_retry_after_seconds_is_honoured(
    transport: Transport, api: KnockMock, sleeps: list[float]
) -> None:
    api.get(USER_URL, status=429, headers={"Retry-After": "2"})
    api.get(USER_URL, status=503, headers={"Retry-After": "0.25"})
    api.get(USER_URL, payload=USER_JSON)
    await transport.request(GET_USER, path={"user_id": "u1"})
    assert sleeps == [2.0, 0.25]


async def test_retry_after_http_date_is_honoured(
    transport: Transport, api: KnockMock, sleeps: list[float]
) -> None:
    api.get(
        USER_URL, status=429, headers={"Retry-After": email.utils.formatdate(time.time() + 30, usegmt=True)}
    )
    api.get(USER_URL, payload=USER_JSON)
    await transport.request(GET_USER, path={"user_id": "u1"})
    assert len(sleeps) == 1
    assert 28.0 <= sleeps[0] <= 30.0


async def test_retry_after_is_capped(transport: Transport, api: KnockMock, sleeps: list[float]) -> None:
    api.get(USER_URL, status=429, headers={"Retry-After": "3600"})
    api.get(USER_URL, payload=USER_JSON)
    await transport.request(GET_USER, path={"user_id": "u1"})
    assert sleeps == [RetryPolicy().max_retry_after]


async def test_max_retries_per_call(transport: Transport, api: KnockMock, sleeps: list[float]) -> None:
    api.get(USER_URL, status=500, repeat=True)
    with pytest.raises(InternalServerError):
        await transport.request(GET_USER, path={"user_id": "u1"}, options=RequestOptions(max_retries=0))
    assert len(sent(api)) == 1
    assert sleeps == []


async def test_no_retry_that_would_overrun_the_time_budget(
    transport: Transport, api: KnockMock, sleeps: list[float]
) -> None:
    api.get(USER_URL, status=429, headers={"Retry-After": "5"}, repeat=True)
    with pytest.raises(RateLimitError) as caught:
        await transport.request(GET_USER, path={"user_id": "u1"}, options=RequestOptions(timeout=3))
    assert caught.value.retry_after == 5.0
    assert len(sent(api)) == 1
    assert sleeps == []


async def test_connection_errors_are_retried_then_raised(
    transport: Transport, api: KnockMock, sleeps: list[float]
) -> None:
    api.get(USER_URL, exception=aiohttp.ClientConnectionError("connection reset"), repeat=True)
    with pytest.raises(APIConnectionError) as caught:
        await transport.request(GET_USER, path={"user_id": "u1"})
    assert not isinstance(caught.value, APITimeoutError)
    assert "ClientConnectionError: connection reset" in str(caught.value)
    # Not chained: aiohttp's exceptions carry request_info, with the Authorization header.
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert len(sent(api)) == 3
    assert len(sleeps) == 2


async def test_timeouts_are_retried_then_raised(
    transport: Transport, api: KnockMock, sleeps: list[float]
) -> None:
    api.get(USER_URL, exception=asyncio.TimeoutError(), repeat=True)
    with pytest.raises(APITimeoutError):
        await transport.request(GET_USER, path={"user_id": "u1"})
    assert len(sent(api)) == 3
    assert len(sleeps) == 2


async def test_connection_error_then_success(
    transport: Transport, api: KnockMock, sleeps: list[float]
) -> None:
    api.get(USER_URL, exception=aiohttp.ServerDisconnectedError())
    api.get(USER_URL, payload=USER_JSON)
    assert (await transport.request(GET_USER, path={"user_id": "u1"})).id == "u1"
    assert len(sleeps) == 1


# --- rate limiter -------------------------------------------------------------------------------


async def test_limiter_slot_per_attempt_and_pause_on_429(api: KnockMock, sleeps: list[float]) -> None:
    limiter = FakeLimiter()
    t = Transport(ClientConfig(API_KEY, timeout=None, rate_limiter=limiter, clock=_recorder(sleeps)))
    api.get(USER_URL, status=429, headers={"Retry-After": "3"})
    api.get(USER_URL, payload=USER_JSON)
    await t.request(GET_USER, path={"user_id": "u1"})
    await t.close()

    assert len(limiter.slots) == 2
    assert {tier for tier, _ in limiter.slots} == {GET_USER.tier}
    scope = limiter.slots[0][1]
    assert limiter.pauses == [(GET_USER.tier, scope, 3.0)]
    assert not limiter.inside  # the slot is released; backoff happens outside it


async def test_the_limiter_is_given_what_is_left_of_the_calls_deadline(api: KnockMock) -> None:
    limiter = FakeLimiter()
    clock = RecordingClock()
    t = Transport(ClientConfig(API_KEY, timeout=5, rate_limiter=limiter, clock=clock))
    api.get(USER_URL, status=503)
    api.get(USER_URL, payload=USER_JSON, repeat=True)
    await t.request(GET_USER, path={"user_id": "u1"})  # a retry after one backoff
    await t.request(GET_USER, path={"user_id": "u1"}, options=RequestOptions(timeout=None))
    await t.close()
    first, retry, unbounded = limiter.timeouts
    assert first == 5
    assert retry == pytest.approx(5 - clock.sleeps[0])  # the backoff came out of the call's time
    assert unbounded is None  # no deadline for that call


async def test_429_pauses_the_limiter_even_when_retries_are_spent(
    api: KnockMock, sleeps: list[float]
) -> None:
    limiter = FakeLimiter()
    t = Transport(ClientConfig(API_KEY, timeout=None, retry=RetryPolicy(max_retries=0), rate_limiter=limiter))
    api.get(USER_URL, status=429)
    with pytest.raises(RateLimitError):
        await t.request(GET_USER, path={"user_id": "u1"})
    await t.close()
    assert len(limiter.pauses) == 1
    assert 0.375 <= limiter.pauses[0][2] <= 0.5  # no Retry-After: the backoff delay


async def test_scope_is_a_digest_of_key_and_user_token(api: KnockMock) -> None:
    scopes = []
    for token in (None, USER_TOKEN, None):
        limiter = FakeLimiter()
        t = Transport(ClientConfig(API_KEY, user_token=token, rate_limiter=limiter))
        api.get(USER_URL, payload=USER_JSON)
        await t.request(GET_USER, path={"user_id": "u1"})
        await t.close()
        scopes.append(limiter.slots[0][1])
    assert scopes[0] == scopes[2] != scopes[1]
    for scope in scopes:
        assert API_KEY not in scope and USER_TOKEN not in scope
        assert "0123456789abcdef" not in scope


# --- error mapping over HTTP --------------------------------------------------------------------


async def test_knock_error_body_is_mapped(transport: Transport, api: KnockMock) -> None:
    api.post(
        TRIGGER_URL,
        status=404,
        payload={
            "code": "workflow_missing",
            "message": "The workflow could not be found",
            "status": 404,
            "type": "invalid_request_error",
        },
        headers={"x-request-id": "F1FIj5XwD_m4h0sAASfi"},
    )
    with pytest.raises(NotFoundError) as caught:
        await transport.request(TRIGGER, path={"key": "new-comment"}, body={"recipients": ["a"]})
    error = caught.value
    assert error.status == 404
    assert error.code == ErrorCode.WORKFLOW_MISSING
    assert error.message == "The workflow could not be found"
    assert error.type == "invalid_request_error"
    assert error.request_id == "F1FIj5XwD_m4h0sAASfi"
    assert error.headers["X-Request-Id"] == "F1FIj5XwD_m4h0sAASfi"
    assert "workflow_missing" in str(error)


async def test_field_errors_are_kept(transport: Transport, api: KnockMock) -> None:
    errors = [{"field": "email", "message": "is invalid", "type": "format"}]
    api.put(USER_URL, status=422, payload={"code": "invalid_params", "message": "bad", "errors": errors})
    with pytest.raises(UnprocessableEntityError) as caught:
        await transport.request(IDENTIFY, path={"user_id": "u1"}, body={"email": "nope"})
    assert caught.value.errors == errors


# --- secrets ----------------------------------------------------------------------------------


async def test_secrets_never_in_repr_logs_or_errors(
    api: KnockMock, caplog: pytest.LogCaptureFixture, sleeps: list[float], knock_logger: logging.Logger
) -> None:
    caplog.set_level(logging.DEBUG, logger="knock_async")
    t = Transport(ClientConfig(API_KEY, user_token=USER_TOKEN, timeout=None, clock=_recorder(sleeps)))
    echo = {"code": "invalid_user_token", "message": f"token {USER_TOKEN} with key {API_KEY} rejected"}
    api.get(USER_URL, status=503)
    api.get(USER_URL, exception=aiohttp.ClientConnectionError(f"failed sending Bearer {API_KEY}"))
    api.get(USER_URL, payload=USER_JSON, headers={"x-ratelimited-user_ids": "u1"})
    api.get(USER_URL, status=401, payload=echo)
    api.get(USER_URL, exception=aiohttp.ClientConnectionError(f"token {USER_TOKEN}"), repeat=True)

    await t.request(GET_USER, path={"user_id": "u1"})
    with pytest.raises(AuthenticationError) as auth_error:
        await t.request(GET_USER, path={"user_id": "u1"})
    with pytest.raises(APIConnectionError) as connection_error:
        await t.request(GET_USER, path={"user_id": "u1"})
    await t.close()

    texts = [
        repr(t),
        caplog.text,
        str(auth_error.value),
        repr(auth_error.value),
        auth_error.value.message,
        json.dumps(auth_error.value.body),
        str(connection_error.value),
        repr(connection_error.value),
    ]
    assert "debug" in caplog.text.lower() or caplog.records  # something was logged
    for text in texts:
        assert API_KEY not in text
        assert USER_TOKEN not in text
    assert repr(t) == f"Transport(base_url={BASE!r})"


# --- logging ----------------------------------------------------------------------------------


async def test_debug_line_per_attempt_and_info_on_retry(
    transport: Transport, api: KnockMock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="knock_async")
    api.get(USER_URL, status=502)
    api.get(USER_URL, payload=USER_JSON)
    await transport.request(GET_USER, path={"user_id": "u1"})

    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    info = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert len(debug) == 2
    assert re.fullmatch(
        r"knock GET /v1/users/\{user_id\} \[users\.get\] -> 502 in [\d.]+ ms \(attempt 1\)", debug[0]
    )
    assert re.fullmatch(
        r"knock GET /v1/users/\{user_id\} \[users\.get\] -> 200 in [\d.]+ ms \(attempt 2\)", debug[1]
    )
    assert len(info) == 1
    assert "status 502" in info[0] and "retrying" in info[0]


@pytest.mark.parametrize(("value", "level"), [("debug", logging.DEBUG), ("INFO", logging.INFO)])
def test_knock_log_sets_the_level(
    monkeypatch: pytest.MonkeyPatch, knock_logger: logging.Logger, value: str, level: int
) -> None:
    monkeypatch.setenv("KNOCK_LOG", value)
    configure_logging_from_env()
    assert knock_logger.level == level


def test_without_knock_log_the_level_is_left_alone(
    monkeypatch: pytest.MonkeyPatch, knock_logger: logging.Logger
) -> None:
    monkeypatch.delenv("KNOCK_LOG", raising=False)
    knock_logger.setLevel(logging.WARNING)
    configure_logging_from_env()
    assert knock_logger.level == logging.WARNING


# --- batch de-duplication headers and raw responses ------------------------------------------------


async def test_rate_limited_ids_are_parsed_and_warned(
    transport: Transport, api: KnockMock, caplog: pytest.LogCaptureFixture
) -> None:
    api.post(
        f"{BASE}/v1/messages/batch/seen",
        payload=[],
        headers={"x-ratelimited-message_ids": "2, 4", "X-RateLimited-Channel_Ids": "c9"},
    )
    batch = Operation(
        id="messages.batch_seen", method="POST", path="/v1/messages/batch/seen", tier=3, response=list
    )
    raw = await with_raw_response(transport.request(batch, body={"message_ids": ["1", "2", "3", "4"]}))

    assert raw.rate_limited == {"message_ids": ["2", "4"], "channel_ids": ["c9"]}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("message_ids" in w and "2,4" in w for w in warnings)
    assert any("channel_ids" in w and "c9" in w for w in warnings)


async def test_with_raw_response(transport: Transport, api: KnockMock) -> None:
    api.get(USER_URL, payload=USER_JSON, headers={"X-Request-Id": "req-9", "Ratelimit-Remaining": "7"})

    raw = await with_raw_response(transport.request(GET_USER, path={"user_id": "u1"}))

    assert raw.status == 200
    assert raw.data.id == "u1"
    assert raw.request_id == "req-9"
    assert raw.headers["ratelimit-remaining"] == "7"
    assert raw.rate_limited == {}
    with pytest.raises(TypeError):
        raw.headers["X-Request-Id"] = "changed"  # type: ignore[index]


async def test_with_raw_response_reports_the_last_request(transport: Transport, api: KnockMock) -> None:
    api.get(USER_URL, payload=USER_JSON, headers={"X-Request-Id": "first"})
    api.delete(USER_URL, status=204, headers={"X-Request-Id": "second"})

    async def get_then_delete() -> str:
        user = await transport.request(GET_USER, path={"user_id": "u1"})
        await transport.request(DELETE_USER, path={"user_id": "u1"})
        return user.id

    raw = await with_raw_response(get_then_delete())
    assert (raw.status, raw.request_id, raw.data) == (204, "second", "u1")


async def test_with_raw_response_nested(transport: Transport, api: KnockMock) -> None:
    api.get(USER_URL, payload=USER_JSON, headers={"X-Request-Id": "inner"})

    async def wrapped() -> int:
        inner = await with_raw_response(transport.request(GET_USER, path={"user_id": "u1"}))
        return inner.status

    outer = await with_raw_response(wrapped())
    assert (outer.data, outer.request_id) == (200, "inner")


async def test_with_raw_response_without_a_request(transport: Transport) -> None:
    async def nothing() -> None:
        return None

    with pytest.raises(RuntimeError, match="no request"):
        await with_raw_response(nothing())


async def test_raw_response_capture_does_not_leak_out(transport: Transport, api: KnockMock) -> None:
    api.get(USER_URL, payload=USER_JSON, repeat=True)
    await with_raw_response(transport.request(GET_USER, path={"user_id": "u1"}))
    from knock_async._raw_response import _capture

    assert _capture.get() is None


async def test_a_lone_string_where_a_list_belongs_is_refused(transport: Transport, api: KnockMock) -> None:
    trigger = Operation[None](
        id="workflows.trigger",
        method="POST",
        path="/v1/workflows/{key}/trigger",
        tier=5,
        lists=frozenset({"recipients"}),
    )
    with pytest.raises(TypeError, match=r"'recipients' takes a list, got the string 'user-1'"):
        await transport.request(trigger, path={"key": "welcome"}, body={"recipients": "user-1"})
    assert all_calls(api) == []
    listing = Operation[None](
        id="messages.list", method="GET", path="/v1/messages", tier=4, lists=frozenset({"status[]"})
    )
    with pytest.raises(TypeError, match=r"'status\[\]' takes a list"):
        await transport.request(listing, query={"status[]": "delivered"})
    assert all_calls(api) == []


def test_generated_idempotency_keys_are_canonical_random_v4_uuids() -> None:
    keys = [new_idempotency_key() for _ in range(2000)]
    assert len(set(keys)) == len(keys)
    for key in keys:
        parsed = uuid.UUID(key)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
        assert str(parsed) == key  # lowercase, hyphenated: the text uuid.uuid4() gives
    # Each of the 122 random bits is 1 in some key and 0 in another (a given bit alike in all
    # 2000 keys by chance: 2**-1999); the 6 fixed bits are the version's 4 and the variant's 2.
    numbers = [uuid.UUID(key).int for key in keys]
    fixed = (0xF << 76) | (0b11 << 62)
    ones = zeros = 0
    for number in numbers:
        ones |= number
        zeros |= ~number & ((1 << 128) - 1)
    assert ones & zeros == ((1 << 128) - 1) & ~fixed
