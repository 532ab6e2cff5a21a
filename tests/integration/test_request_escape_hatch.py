"""A way past the document: `knock.request(...)` for any endpoint, and
`RequestOptions(extra_query=..., extra_body=...)` on every generated method.

`request` goes through the same path as the generated methods; each part of that path is
checked here over real sockets: against the embedded Knock server for endpoints it serves,
and against a small scripted aiohttp server for one the document (and so the embedded
server) lacks, which records what arrived and answers as each test scripts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import attrs
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from knock_async import (
    APITimeoutError,
    AsyncKnock,
    NotFoundError,
    RateLimiter,
    RequestOptions,
    RetryPolicy,
    UnprocessableEntityError,
    models,
)
from knock_async.testing import KnockTestServer
from tests.integration.conftest import ClientFactory

SLACK_TOKEN = "xoxb-1111-2222-secret-slack-token"
API_KEY = "sk_test_escape_hatch_secret"


# --- a scripted server for endpoints the document lacks -----------------------------------


@attrs.frozen
class Arrived:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: Any


@attrs.define
class Scripted:
    """Records each request; answers with the scripted replies in turn, then 200 {"ok": true}."""

    url: str = ""
    arrived: list[Arrived] = attrs.field(factory=list)
    replies: list[tuple[int, Any]] = attrs.field(factory=list)
    delay: float = 0.0

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        self.arrived.append(
            Arrived(
                request.method,
                request.raw_path.split("?")[0],
                list(request.query.items()),
                dict(request.headers),
                json.loads(raw) if raw else None,
            )
        )
        if self.delay:
            await asyncio.sleep(self.delay)
        status, body = self.replies.pop(0) if self.replies else (200, {"ok": True})
        return web.json_response(body, status=status)


@pytest.fixture
async def scripted() -> AsyncIterator[Scripted]:
    script = Scripted()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", script.handle)
    async with TestServer(app, host="127.0.0.1") as server:
        script.url = str(server.make_url("")).rstrip("/")
        yield script


@pytest.fixture
async def client_for() -> AsyncIterator[Callable[..., AsyncKnock]]:
    clients: list[AsyncKnock] = []

    def make(script: Scripted, **options: Any) -> AsyncKnock:
        options.setdefault("rate_limiter", None)
        options.setdefault("retry_policy", RetryPolicy(max_retries=0, initial_delay=0.01))
        client = AsyncKnock(options.pop("api_key", API_KEY), base_url=script.url, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


class RecordingLimiter(RateLimiter):
    """The SDK's limiter at rates no test reaches, noting the tier of every slot asked for."""

    def __init__(self) -> None:
        super().__init__(rates={tier: 1_000_000.0 for tier in range(1, 6)})
        self.tiers: list[int] = []

    def slot(
        self, tier: int, scope: str, deadline: float | None = None
    ) -> contextlib.AbstractAsyncContextManager[None]:
        self.tiers.append(tier)
        return super().slot(tier, scope, deadline)


# --- request(): the embedded server ------------------------------------------------------


async def test_request_returns_the_decoded_json_or_the_named_model(
    server: KnockTestServer, make_client: ClientFactory
) -> None:
    knock = make_client(server)
    written = await knock.request(
        "PUT", "/v1/users/user-1", tier=3, body={"name": "Ada", "email": "ada@example.com"}
    )
    assert isinstance(written, dict)
    assert written["id"] == "user-1" and written["name"] == "Ada"
    user = await knock.request("GET", "/v1/users/user-1", tier=4, model=models.User)
    assert isinstance(user, models.User)
    assert user.id == "user-1" and user.email == "ada@example.com"
    (update,) = server.calls("users.update")
    assert update.body == {"name": "Ada", "email": "ada@example.com"}


async def test_request_maps_errors_as_generated_methods_do(
    server: KnockTestServer, make_client: ClientFactory
) -> None:
    knock = make_client(server)
    with pytest.raises(NotFoundError) as missing:
        await knock.request("GET", "/v1/users/nobody", tier=4)
    assert missing.value.operation_id == "request"
    assert str(missing.value).startswith("GET /v1/users/nobody (request): ")


async def test_request_works_with_with_raw_response(
    server: KnockTestServer, make_client: ClientFactory
) -> None:
    knock = make_client(server)
    response = await knock.with_raw_response(knock.request("PUT", "/v1/users/u2", tier=3, body={"name": "B"}))
    assert response.status == 200 and response.data["id"] == "u2"


# --- request(): an endpoint the document lacks --------------------------------------------


async def test_a_write_goes_out_with_auth_query_body_and_an_idempotency_key(
    scripted: Scripted, client_for: Callable[..., AsyncKnock]
) -> None:
    scripted.replies.append((200, {"created": True, "items": [1, 2]}))
    knock = client_for(scripted)
    answer = await knock.request(
        "post",
        "/v1/brand-new/things%2F1",
        tier=2,
        query={"dry_run": True, "tags[]": ["a", "b"]},
        body={"a": 1},
    )
    assert answer == {"created": True, "items": [1, 2]}
    (arrived,) = scripted.arrived
    assert (arrived.method, arrived.path) == ("POST", "/v1/brand-new/things%2F1")
    assert arrived.query == [("dry_run", "true"), ("tags[]", "a"), ("tags[]", "b")]
    assert arrived.body == {"a": 1}
    assert arrived.headers["Authorization"] == f"Bearer {API_KEY}"
    assert arrived.headers["Content-Type"] == "application/json"
    assert arrived.headers["Idempotency-Key"]


async def test_a_read_carries_no_idempotency_key_and_no_body(
    scripted: Scripted, client_for: Callable[..., AsyncKnock]
) -> None:
    await client_for(scripted).request("GET", "/v1/brand-new", tier=4, query={"page": 2})
    (arrived,) = scripted.arrived
    assert "Idempotency-Key" not in arrived.headers and arrived.body is None
    assert arrived.query == [("page", "2")]


async def test_a_retried_write_reuses_its_idempotency_key(
    scripted: Scripted, client_for: Callable[..., AsyncKnock]
) -> None:
    scripted.replies.extend([(503, {"code": "unavailable"}), (200, {"done": 1})])
    knock = client_for(scripted, retry_policy=RetryPolicy(max_retries=2, initial_delay=0.01))
    assert await knock.request("PUT", "/v1/brand-new/1", tier=3, body={"x": 1}) == {"done": 1}
    first, second = scripted.arrived
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    assert first.body == second.body == {"x": 1}


async def test_the_named_tier_paces_the_call(
    scripted: Scripted, client_for: Callable[..., AsyncKnock]
) -> None:
    limiter = RecordingLimiter()
    knock = client_for(scripted, rate_limiter=limiter)
    await knock.request("GET", "/v1/brand-new", tier=2)
    await knock.request("POST", "/v1/brand-new", tier=5, body={})
    assert limiter.tiers == [2, 5]


async def test_the_call_has_one_deadline(scripted: Scripted, client_for: Callable[..., AsyncKnock]) -> None:
    scripted.delay = 5.0
    knock = client_for(scripted)
    with pytest.raises(APITimeoutError, match=r"within the call's timeout of 0\.2 s"):
        await knock.request("GET", "/v1/slow", tier=4, options=RequestOptions(timeout=0.2))


async def test_secrets_are_redacted_from_the_error(
    scripted: Scripted, client_for: Callable[..., AsyncKnock]
) -> None:
    # A server that echoes the body it got: the document's secret fields are hidden, as on
    # generated methods, and so are the API key and the user token.
    scripted.replies.append(
        (
            422,
            {"code": "invalid_params", "message": f"bad: token={SLACK_TOKEN} key={API_KEY} user=utok-secret"},
        )
    )
    knock = client_for(scripted, user_token="utok-secret")
    with pytest.raises(UnprocessableEntityError) as refused:
        await knock.request("PUT", "/v1/brand-new/1", tier=3, body={"data": {"token": SLACK_TOKEN}})
    text = f"{refused.value} {refused.value!r} {refused.value.args}"
    for secret in (SLACK_TOKEN, API_KEY, "utok-secret"):
        assert secret not in text
    assert scripted.arrived[0].headers["X-Knock-User-Token"] == "utok-secret"


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"method": "TRACE", "path": "/v1/x", "tier": 4}, ValueError, "method must be one of"),
        ({"method": "GET", "path": "https://elsewhere.example/v1/x", "tier": 4}, ValueError, "absolute"),
        ({"method": "GET", "path": "//elsewhere.example/v1/x", "tier": 4}, ValueError, "absolute"),
        ({"method": "GET", "path": "v1/users", "tier": 4}, ValueError, "absolute"),
        ({"method": "GET", "path": "/v1/users?page=2", "tier": 4}, ValueError, "query="),
        ({"method": "GET", "path": "/v1/users/ada lovelace", "tier": 4}, ValueError, "percent-encoded"),
        ({"method": "GET", "path": "/v1/users/{user_id}", "tier": 4}, ValueError, "percent-encoded"),
        ({"method": "GET", "path": "/v1/users/../admin", "tier": 4}, ValueError, "'.' or '..' segments"),
        (
            {"method": "GET", "path": "/v1/x", "tier": 0},
            ValueError,
            r"tier must be one of .*\[1, 2, 3, 4, 5\]",
        ),
        ({"method": "GET", "path": "/v1/x", "tier": True}, ValueError, "tier must be one of"),
        ({"method": "GET", "path": b"/v1/x", "tier": 4}, TypeError, "path must be a str"),
        (
            {"method": "GET", "path": "/v1/x", "tier": 4, "body": {"a": 1}},
            ValueError,
            "GET request carries no body",
        ),
        ({"method": "POST", "path": "/v1/x", "tier": 4, "body": [1, 2]}, TypeError, "body must be a mapping"),
        (
            {"method": "GET", "path": "/v1/x", "tier": 4, "query": [("a", 1)]},
            TypeError,
            "query must be a mapping",
        ),
    ],
)
async def test_bad_arguments_are_refused_before_sending(
    scripted: Scripted,
    client_for: Callable[..., AsyncKnock],
    arguments: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    knock = client_for(scripted)
    with pytest.raises(error, match=message):
        await knock.request(**arguments)
    assert scripted.arrived == []


# --- extra_query and extra_body on generated methods -------------------------------------


async def test_extras_reach_the_server_beside_the_declared_parameters(
    server: KnockTestServer, make_client: ClientFactory
) -> None:
    knock = make_client(server)
    await knock.users.update(
        "user-1",
        name="Ada",
        custom_properties={"plan": "pro"},
        options=RequestOptions(extra_body={"nickname": "ada"}, extra_query={"trace": "t1"}),
    )
    (update,) = server.calls("users.update")
    assert update.body == {"name": "Ada", "plan": "pro", "nickname": "ada"}
    assert ("trace", "t1") in update.query
    await knock.users.list(page_size=5, options=RequestOptions(extra_query={"filter[plan]": "pro"}))
    (listed,) = server.calls("users.list")
    assert ("page_size", "5") in listed.query and ("filter[plan]", "pro") in listed.query


async def test_extras_join_a_body_that_is_a_map_of_the_callers_keys(
    server: KnockTestServer, make_client: ClientFactory
) -> None:
    knock = make_client(server)
    with pytest.warns(DeprecationWarning):  # Knock's only body-map operations are deprecated ones
        await knock.users.set_categories_preferences(
            "user-1",
            "default",
            settings={"billing": True},
            options=RequestOptions(extra_body={"marketing": False}),
        )
    (written,) = server.calls("users.set_categories_preferences")
    assert written.body == {"billing": True, "marketing": False}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda k: k.users.list(options=RequestOptions(extra_query={"page_size": 10})),
            r"users\.list: extra_query\['page_size'\] is the declared query parameter 'page_size'; "
            r"pass it as that argument",
        ),
        (  # refused whether the declared argument is given or not, and with or without "[]"
            lambda k: k.users.feeds.list_items(
                "u1", "feed", options=RequestOptions(extra_query={"workflow_categories": ["a"]})
            ),
            r"extra_query\['workflow_categories'\] is the declared query parameter 'workflow_categories\[\]'",
        ),
        (
            lambda k: k.users.update("u1", options=RequestOptions(extra_body={"email": "a@example.com"})),
            r"users\.update: extra_body\['email'\] is the declared body property 'email'",
        ),
        (
            lambda k: k.users.update(
                "u1", custom_properties={"plan": "pro"}, options=RequestOptions(extra_body={"plan": "free"})
            ),
            r"extra_body\['plan'\] is also given by the call itself; give it once",
        ),
        (
            lambda k: k.users.get("u1", options=RequestOptions(extra_body={"x": 1})),
            r"users\.get: a GET request carries no body, so extra_body cannot be sent; use extra_query",
        ),
        (
            lambda k: k.request(
                "GET", "/v1/x", tier=4, query={"a": 1}, options=RequestOptions(extra_query={"a": 2})
            ),
            r"request: extra_query\['a'\] is also given by the call itself",
        ),
        (
            lambda k: k.request(
                "POST", "/v1/x", tier=4, body={"a": 1}, options=RequestOptions(extra_body={"a": 2})
            ),
            r"'a' is given both as a parameter and in extra_body",
        ),
    ],
)
async def test_an_extra_that_clashes_is_refused_naming_both(
    scripted: Scripted, client_for: Callable[..., AsyncKnock], call: Callable[[AsyncKnock], Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await call(client_for(scripted))
    assert scripted.arrived == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"extra_query": [("a", 1)]}, r"RequestOptions\.extra_query must be a mapping, got list"),
        ({"extra_body": {1: "x"}}, r"RequestOptions\.extra_body: every key must be a non-empty str, got 1"),
        ({"extra_body": {"": "x"}}, "every key must be a non-empty str"),
    ],
)
def test_extras_of_the_wrong_shape_are_refused_when_made(options: dict[str, Any], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        RequestOptions(**options)


def test_the_repr_of_options_shows_the_names_of_extras_not_their_values() -> None:
    shown = repr(RequestOptions(extra_query={"q": "visible?"}, extra_body={"password": "hunter2"}))
    assert "['password']" in shown and "['q']" in shown
    assert "hunter2" not in shown and "visible?" not in shown
