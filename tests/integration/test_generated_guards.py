"""The guards the transport applies from what the generator derives for each operation
(`Operation.lists` with nested paths, `Operation.secret_fields`), on real generated methods."""

from __future__ import annotations

import traceback
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from knock_async import AsyncKnock, UnprocessableEntityError

SLACK_TOKEN = "xoxb-1234567890-secret-slack-token"


def client_for(server: TestServer) -> AsyncKnock:
    return AsyncKnock("sk_test_guards", base_url=str(server.make_url("")), max_retries=0)


@pytest.fixture
async def echoing_server() -> AsyncIterator[TestServer]:
    """A server that rejects every request with a 422 echoing the body it got, as some do."""

    async def reject(request: web.Request) -> web.Response:
        body = await request.text()
        return web.json_response({"code": "invalid_params", "message": f"bad request: {body}"}, status=422)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", reject)
    async with TestServer(app) as server:
        yield server


async def test_a_lone_string_nested_in_a_list_of_objects_is_refused_before_sending(
    echoing_server: TestServer,
) -> None:
    async with AsyncKnock(
        "sk_test_guards", base_url=str(echoing_server.make_url("")), max_retries=0
    ) as knock:
        with pytest.raises(TypeError, match=r"'subscriptions\[0\]\.recipients' takes a list"):
            await knock.objects.bulk.add_subscriptions(
                "projects", subscriptions=[{"id": "p1", "recipients": "user-1"}]
            )
    assert echoing_server.handler is None or echoing_server.handler.requests_count == 0


async def test_a_secret_field_echoed_in_an_error_never_reaches_the_exception(
    echoing_server: TestServer,
) -> None:
    async with AsyncKnock(
        "sk_test_guards", base_url=str(echoing_server.make_url("")), max_retries=0
    ) as knock:
        with pytest.raises(UnprocessableEntityError) as raised:
            await knock.users.set_channel_data(
                "user-1", "slack-channel", data={"connections": [{"access_token": SLACK_TOKEN}]}
            )
    error = raised.value
    shown = "".join(traceback.format_exception(error)) + repr(error.args) + repr(error.body)
    assert "bad request" in shown  # the echo arrived, and was kept ...
    assert SLACK_TOKEN not in shown  # ... without the token
