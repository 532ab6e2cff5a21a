"""Every documented user-token permission, enforced both ways by the embedded server.

With `explicit_grants`, a token reaches only what it grants, its own user included: each
permission opens the endpoints it governs and nothing else. Tenant grants (in either URI form)
scope feeds and preferences to those tenants. The scoped channel bulk update (what Knock's
browser client calls to mark a whole feed read) acts only on the token's user's messages.
Responses are checked against openapi/knock.yaml (`make_server`).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable

import attrs
import jwt
import pytest

from knock_async.testing import BulkPace, KnockTestServer
from knock_async.tokens import Grant, Permission, TenantForm, load_signing_key, sign_user_token
from tests.conftest import ServerFactory
from tests.server.support import Api, Result
from tests.tokens.test_enhanced_security import TOKEN_HEADER, assert_error, feed, notify, slack_tenant

P = Permission
GUIDE = {"guide_key": "tour", "guide_step_ref": "step_1", "guide_id": "g1"}


@pytest.fixture
async def server(make_server: ServerFactory) -> KnockTestServer:
    server = await make_server(enhanced_security=True, bulk=BulkPace(mode="instant"))
    server.add_workflow("new-comment", ["in_app_feed"])
    server.add_guide("tour")
    server.add_channel("push", "push")
    return server


@pytest.fixture
async def admin(server: KnockTestServer) -> AsyncIterator[Api]:
    async with Api(server) as api:
        await api.put("/v1/users/ada", json={"name": "Ada"})
        await api.put(
            f"/v1/users/ada/channel_data/{server.channel_id('push')}", json={"data": {"tokens": ["t"]}}
        )
        yield api


@pytest.fixture
async def browser(server: KnockTestServer) -> AsyncIterator[Api]:
    async with Api(server, key=server.publishable_key) as api:
        yield api


def explicit(server: KnockTestServer, user_id: str, *grants: Grant) -> dict[str, str]:
    token = sign_user_token(user_id, signing_key=server.signing_key, grants=grants, explicit_grants=True)
    return {TOKEN_HEADER: token}


@attrs.frozen
class Endpoint:
    """One request a permission governs, sent as the browser sends it."""

    name: str
    send: Callable[[Api, KnockTestServer, dict[str, str]], Awaitable[Result]]


def _guides(server: KnockTestServer) -> str:
    return f"/v1/users/ada/guides/{server.channel_id('guides')}"


async def _mark_feed_message(browser: Api, server: KnockTestServer, token: dict[str, str]) -> Result:
    message_id = next(iter(server.state.messages))
    return await browser.put(f"/v1/messages/{message_id}/seen", headers=token)


ENDPOINTS = {
    P.USER_READ: Endpoint("users.get", lambda b, s, t: b.get("/v1/users/ada", headers=t)),
    P.USER_WRITE: Endpoint(
        "users.update", lambda b, s, t: b.put("/v1/users/ada", json={"name": "A"}, headers=t)
    ),
    P.USER_FEED_READ: Endpoint("users.feeds.list_items", lambda b, s, t: b.get(feed(s, "ada"), headers=t)),
    P.USER_FEED_WRITE: Endpoint("messages.mark_as_seen", _mark_feed_message),
    P.USER_GUIDE_READ: Endpoint("users.guides.get_channel", lambda b, s, t: b.get(_guides(s), headers=t)),
    P.USER_GUIDE_WRITE: Endpoint(
        "users.guides.mark_message_as_seen",
        lambda b, s, t: b.put(
            "/v1/users/ada/guides/messages/seen",
            json={**GUIDE, "channel_id": s.channel_id("guides")},
            headers=t,
        ),
    ),
    P.PREFERENCES_READ: Endpoint(
        "users.get_preferences", lambda b, s, t: b.get("/v1/users/ada/preferences/default", headers=t)
    ),
    P.PREFERENCES_WRITE: Endpoint(
        "users.set_preferences",
        lambda b, s, t: b.put(
            "/v1/users/ada/preferences/default", json={"categories": {"x": True}}, headers=t
        ),
    ),
    P.CHANNEL_DATA_READ: Endpoint(
        "users.get_channel_data",
        lambda b, s, t: b.get(f"/v1/users/ada/channel_data/{s.channel_id('push')}", headers=t),
    ),
    P.CHANNEL_DATA_WRITE: Endpoint(
        "users.set_channel_data",
        lambda b, s, t: b.put(
            f"/v1/users/ada/channel_data/{s.channel_id('push')}", json={"data": {"tokens": ["u"]}}, headers=t
        ),
    ),
}


@pytest.mark.parametrize("permission", list(ENDPOINTS), ids=lambda p: p.value)
async def test_each_permission_opens_its_endpoints_and_only_those(
    server: KnockTestServer, admin: Api, browser: Api, permission: Permission
) -> None:
    await notify(admin, "ada")
    token = explicit(server, "ada", Grant.for_user("ada", permission))
    for governed, endpoint in ENDPOINTS.items():
        result = await endpoint.send(browser, server, token)
        if governed == permission:
            assert result.ok, (endpoint.name, result.status, result.body)
        else:
            assert_error(result, 403, "user_token_forbidden")


async def test_without_explicit_grants_a_token_reaches_all_of_its_own_user(
    server: KnockTestServer, admin: Api, browser: Api
) -> None:
    await notify(admin, "ada")
    token = {TOKEN_HEADER: sign_user_token("ada", signing_key=server.signing_key)}
    for endpoint in ENDPOINTS.values():
        result = await endpoint.send(browser, server, token)
        assert result.ok, (endpoint.name, result.status, result.body)
    # ... and nobody else's.
    assert_error(await browser.get("/v1/users/grace", headers=token), 403, "user_token_forbidden")


async def test_an_explicit_token_without_grants_reaches_nothing(
    server: KnockTestServer, admin: Api, browser: Api
) -> None:
    await notify(admin, "ada")
    token = explicit(server, "ada")
    for endpoint in ENDPOINTS.values():
        assert_error(await endpoint.send(browser, server, token), 403, "user_token_forbidden")


@pytest.mark.parametrize(
    ("permission", "other"),
    [(P.SLACK_CHANNELS_READ, P.MS_TEAMS_CHANNELS_READ), (P.MS_TEAMS_CHANNELS_READ, P.SLACK_CHANNELS_READ)],
    ids=lambda p: p.value,
)
async def test_chat_provider_permissions_both_ways(
    server: KnockTestServer, admin: Api, browser: Api, permission: Permission, other: Permission
) -> None:
    query = await slack_tenant(server, admin)  # a Slack connection on tenant acme
    teams = server.add_channel("teams", "chat")
    connection = {"data": {"ms_teams_tenant_id": "entra-1", "connections": []}}
    assert (await admin.put(f"/v1/objects/$tenants/acme/channel_data/{teams}", json=connection)).ok
    teams_query = [("ms_teams_tenant_object", query[0][1])]
    checks = {
        P.SLACK_CHANNELS_READ: (f"/v1/providers/slack/{server.channel_id('slack')}/auth_check", query),
        P.MS_TEAMS_CHANNELS_READ: (
            f"/v1/providers/ms-teams/{server.channel_id('teams')}/auth_check",
            teams_query,
        ),
    }
    token = explicit(server, "ada", Grant.for_tenant("acme", permission))
    allowed_path, allowed_query = checks[permission]
    assert (await browser.get(allowed_path, params=allowed_query, headers=token)).ok
    denied_path, denied_query = checks[other]
    assert_error(
        await browser.get(denied_path, params=denied_query, headers=token), 403, "user_token_forbidden"
    )


# ---------------------------------------------------------------------------- tenant scoping


async def _tenant_feed(
    browser: Api, server: KnockTestServer, token: dict[str, str], tenant: str | None
) -> int:
    params = {"tenant": tenant} if tenant else None
    return (await browser.get(feed(server, "ada"), params=params, headers=token)).status


@pytest.mark.parametrize("form", ["objects", "tenants"])
async def test_tenant_grants_scope_feed_reads_in_either_uri_form(
    server: KnockTestServer, admin: Api, browser: Api, form: TenantForm
) -> None:
    only_acme = explicit(server, "ada", Grant.for_tenant("acme", P.USER_FEED_READ, form=form))
    assert await _tenant_feed(browser, server, only_acme, "acme") == 200
    assert await _tenant_feed(browser, server, only_acme, "globex") == 403
    assert await _tenant_feed(browser, server, only_acme, None) == 403  # a nil tenant is not acme
    acme_and_own = explicit(
        server,
        "ada",
        Grant.for_tenant("acme", P.USER_FEED_READ, form=form),
        Grant.for_user("ada", P.USER_FEED_READ),
    )
    assert await _tenant_feed(browser, server, acme_and_own, None) == 200
    assert await _tenant_feed(browser, server, acme_and_own, "globex") == 403


async def test_tenant_grants_scope_preferences(server: KnockTestServer, admin: Api, browser: Api) -> None:
    token = explicit(server, "ada", Grant.for_tenant("acme", P.PREFERENCES_WRITE, form="tenants"))
    body = {"categories": {"x": True}}
    assert (await browser.put("/v1/users/ada/preferences/acme", json=body, headers=token)).ok
    denied = await browser.put("/v1/users/ada/preferences/globex", json=body, headers=token)
    assert_error(denied, 403, "user_token_forbidden")


# ---------------------------------------------------------------------------- scoped bulk status


def _bulk(server: KnockTestServer, action: str) -> str:
    return f"/v1/channels/{server.channel_id('in_app_feed')}/messages/bulk/{action}"


def _engaged(server: KnockTestServer, user_id: str, status: str) -> bool:
    return all(status in m.engaged for m in server.state.messages.values() if m.recipient == (None, user_id))


@pytest.mark.parametrize("action,status", [("read", "read"), ("seen", "seen"), ("archived", "archived")])
async def test_bulk_status_with_a_user_token_acts_on_its_users_messages_only(
    server: KnockTestServer, admin: Api, browser: Api, action: str, status: str
) -> None:
    await notify(admin, "ada", "grace")
    token = {TOKEN_HEADER: sign_user_token("ada", signing_key=server.signing_key)}
    # What Knock's browser client sends for "mark all as read": its user's id as user_ids.
    result = await browser.post(_bulk(server, action), json={"user_ids": ["ada"]}, headers=token)
    assert result.ok and result.body["__typename"] == "BulkOperation"
    assert _engaged(server, "ada", status) and not _engaged(server, "grace", status)


async def test_bulk_status_without_filters_still_acts_on_the_tokens_user_only(
    server: KnockTestServer, admin: Api, browser: Api
) -> None:
    await notify(admin, "ada", "grace")
    token = {TOKEN_HEADER: sign_user_token("ada", signing_key=server.signing_key)}
    assert (await browser.post(_bulk(server, "seen"), json={}, headers=token)).ok
    assert _engaged(server, "ada", "seen") and not _engaged(server, "grace", "seen")


async def test_bulk_status_refuses_another_users_ids(
    server: KnockTestServer, admin: Api, browser: Api
) -> None:
    await notify(admin, "ada", "grace")
    token = {TOKEN_HEADER: sign_user_token("ada", signing_key=server.signing_key)}
    for body in ({"user_ids": ["grace"]}, {"recipient_ids": ["ada", "grace"]}):
        assert_error(
            await browser.post(_bulk(server, "read"), json=body, headers=token), 403, "user_token_forbidden"
        )
    assert not _engaged(server, "grace", "read") and not _engaged(server, "ada", "read")
    denied = explicit(server, "ada", Grant.for_user("ada", P.USER_FEED_READ))  # reading is not writing
    assert_error(
        await browser.post(_bulk(server, "read"), json={}, headers=denied), 403, "user_token_forbidden"
    )


async def test_bulk_status_with_a_secret_key_is_unchanged(server: KnockTestServer, admin: Api) -> None:
    await notify(admin, "ada", "grace")
    assert (await admin.post(_bulk(server, "read"), json={})).ok  # every recipient's messages
    assert _engaged(server, "ada", "read") and _engaged(server, "grace", "read")


async def test_bulk_status_takes_user_ids_and_empty_filters(make_server: ServerFactory) -> None:
    """Without enhanced security: `user_ids` filters like `recipient_ids`, an empty string is no
    filter (Knock's mobile clients send them), and a publishable key must name its users."""
    server = await make_server(bulk=BulkPace(mode="instant"))
    server.add_workflow("new-comment", ["in_app_feed"])
    async with Api(server) as admin, Api(server, key=server.publishable_key) as browser:
        await notify(admin, "ada", "grace")
        sent = {"user_ids": ["ada"], "engagement_status": "", "archived": "", "has_tenant": ""}
        assert (await browser.post(_bulk(server, "read"), json=sent)).ok
        assert _engaged(server, "ada", "read") and not _engaged(server, "grace", "read")
        result = await browser.post(_bulk(server, "read"), json={})
        assert (result.status, result.body["code"]) == (422, "invalid_params")
        assert not _engaged(server, "grace", "read")


async def test_a_token_with_a_jti_is_accepted_and_a_bad_explicit_grants_claim_is_not(
    server: KnockTestServer, admin: Api, browser: Api
) -> None:
    with_jti = {TOKEN_HEADER: sign_user_token("ada", signing_key=server.signing_key, jti=True)}
    assert (await browser.get("/v1/users/ada", headers=with_jti)).ok
    now = int(time.time())
    claims = {"sub": "ada", "iat": now, "exp": now + 60, "explicit_grants": "yes"}
    bad = jwt.encode(claims, load_signing_key(server.signing_key), algorithm="RS256")
    assert_error(await browser.get("/v1/users/ada", headers={TOKEN_HEADER: bad}), 401, "invalid_user_token")
