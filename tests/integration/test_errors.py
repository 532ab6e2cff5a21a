"""Errors end to end: what the server answers becomes the right exception, with Knock's code."""

from __future__ import annotations

import pytest

from knock_async import (
    APIStatusError,
    AuthenticationError,
    ErrorCode,
    NotFoundError,
    PayloadLimitError,
    PermissionDeniedError,
    UnprocessableEntityError,
)
from knock_async.testing import KnockTestServer
from tests.integration.conftest import ClientFactory


async def test_an_unknown_workflow_is_not_found(server: KnockTestServer, make_client: ClientFactory) -> None:
    knock = make_client(server)
    with pytest.raises(NotFoundError) as caught:
        await knock.workflows.trigger("no-such-workflow", recipients=["u1"])
    error = caught.value
    assert (error.status, error.code, error.type) == (404, ErrorCode.WORKFLOW_MISSING, "api_error")
    assert "no-such-workflow" in error.message
    assert [r.status for r in server.calls("workflows.trigger")] == [404]  # a 404 is not retried
    assert not server.state.runs and "u1" not in server.state.users


async def test_an_inactive_workflow_is_unprocessable(
    server: KnockTestServer, make_client: ClientFactory
) -> None:
    server.add_workflow("paused", ["in_app_feed"], active=False)
    knock = make_client(server)
    with pytest.raises(APIStatusError) as caught:
        await knock.workflows.trigger("paused", recipients=["u1"], data={"x": 1})
    error = caught.value
    assert type(error) is UnprocessableEntityError
    assert (error.status, error.code) == (422, ErrorCode.WORKFLOW_INACTIVE)
    assert [r.status for r in server.calls("workflows.trigger")] == [422]
    assert not server.state.runs and not server.state.messages

    server.set_workflow_active("paused", True)
    assert (await knock.workflows.trigger("paused", recipients=["u1"])).workflow_run_id
    assert len(server.state.messages) == 1


async def test_a_publishable_key_may_not_call_a_secret_only_operation(
    server: KnockTestServer, make_client: ClientFactory
) -> None:
    server.identify_user("u1", name="Ada")
    knock = make_client(server, api_key=server.publishable_key)
    with pytest.raises(PermissionDeniedError) as caught:
        await knock.users.list()
    error = caught.value
    assert (error.status, error.code, error.type) == (
        403,
        ErrorCode.INCORRECT_TOKEN_TYPE,
        "authentication_error",
    )
    assert server.publishable_key not in str(error)
    [refused] = server.calls("users.list")
    assert (refused.status, refused.key_kind) == (403, "publishable")
    # The same key may call what Knock lets publishable keys call.
    assert (await knock.users.get("u1")).name == "Ada"


async def test_an_unknown_key_is_unauthenticated(server: KnockTestServer, make_client: ClientFactory) -> None:
    knock = make_client(server, api_key="sk_test_not_a_key_of_this_server")
    with pytest.raises(AuthenticationError) as caught:
        await knock.users.get("u1")
    assert (caught.value.status, caught.value.code) == (401, ErrorCode.API_KEY_MISSING)
    assert "sk_test_not_a_key_of_this_server" not in str(caught.value)


async def test_payload_limits_are_enforced_before_anything_is_sent(
    server: KnockTestServer, make_client: ClientFactory
) -> None:
    server.add_workflow("broadcast", ["in_app_feed"])
    knock = make_client(server)
    await knock.users.update("warm-up")  # the connection is open: nothing below would be slow to send
    sent = len(server.requests)

    with pytest.raises(PayloadLimitError) as caught:
        await knock.workflows.trigger("broadcast", recipients=[f"user-{n}" for n in range(1_001)])
    error = caught.value
    assert isinstance(error, ValueError)
    assert (error.field, error.kind, error.limit, error.actual) == ("recipients", "max_items", 1_000, 1_001)
    with pytest.raises(PayloadLimitError) as too_big:
        await knock.workflows.trigger("broadcast", recipients=["u1"], data={"blob": "x" * (10 * 1024 * 1024)})
    assert (too_big.value.field, too_big.value.kind) == ("data", "max_bytes")
    with pytest.raises(PayloadLimitError):
        await knock.objects.add_subscriptions("projects", "p1", recipients=[f"u{n}" for n in range(101)])

    assert len(server.requests) == sent  # nothing reached the server
    assert not server.state.runs
    # At the limit itself, the call goes through.
    await knock.workflows.trigger("broadcast", recipients=[f"user-{n}" for n in range(1_000)])
    assert len(server.state.runs) == 1_000
