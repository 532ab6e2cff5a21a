"""Rate tiers, per API key, in a rolling window; 429 with Retry-After."""

from __future__ import annotations

import asyncio

from knock_async import RateLimiter
from knock_async.testing import KNOCK_TIER_RATES, RateLimits
from tests.conftest import ServerFactory
from tests.server.support import Api

BULK_DELETE = "/v1/users/bulk/delete"  # tier 1: one request a second


async def test_tier_one_allows_one_request_a_second(make_server: ServerFactory) -> None:
    server = await make_server(rate_limits=RateLimits())
    async with Api(server) as api:
        assert (await api.post(BULK_DELETE, json={"user_ids": []})).ok
        limited = await api.post(BULK_DELETE, json={"user_ids": []})
        assert limited.status == 429
        assert limited.headers["Retry-After"] == "1"
        assert limited.body["status"] == 429
        assert (await api.get("/v1/users")).ok  # another tier has its own window


async def test_tier_two_allows_five(make_server: ServerFactory) -> None:
    server = await make_server(rate_limits=RateLimits())
    async with Api(server) as api:
        statuses = [(await api.delete("/v1/users/nobody")).status for _ in range(6)]  # users.delete: tier 2
    assert statuses == [404] * 5 + [429]


async def test_limits_are_per_api_key(make_server: ServerFactory) -> None:
    server = await make_server(rate_limits=RateLimits())
    server.add_api_key("sk_test_other")
    async with Api(server) as api:
        assert (await api.post(BULK_DELETE, json={"user_ids": []})).ok
        assert (await api.post(BULK_DELETE, json={"user_ids": []})).status == 429
        assert (await api.post(BULK_DELETE, json={"user_ids": []}, key="sk_test_other")).ok


async def test_window_rolls(make_server: ServerFactory) -> None:
    server = await make_server(rate_limits=RateLimits(window=0.05))
    async with Api(server) as api:
        assert (await api.post(BULK_DELETE, json={"user_ids": []})).ok
        assert (await api.post(BULK_DELETE, json={"user_ids": []})).status == 429
        await asyncio.sleep(0.06)
        assert (await api.post(BULK_DELETE, json={"user_ids": []})).ok


async def test_rates_are_configurable_and_can_be_switched_off(make_server: ServerFactory) -> None:
    server = await make_server(rate_limits=RateLimits(rates={1: 3}))
    async with Api(server) as api:
        statuses = [(await api.post(BULK_DELETE, json={"user_ids": []})).status for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        server.rate_limits = RateLimits.off()
        assert all([(await api.post(BULK_DELETE, json={"user_ids": []})).ok for _ in range(5)])


def test_the_server_limits_by_the_tiers_the_client_paces_by() -> None:
    # One table of Knock's tiers: a client on default pacing never meets the server's 429s.
    assert dict(RateLimits().rates) == dict(KNOCK_TIER_RATES) == dict(RateLimiter().rates)
    assert KNOCK_TIER_RATES[2] == 5 and KNOCK_TIER_RATES[5] == 1000
