"""Tolerant decoding against a real local aiohttp server answering with realistic drift.

Each case takes a response example of the document and changes one thing the way an API
drifts (a field now null, a number sent as a string, a required field gone, a feed block
of a new type, ...). Tolerant (the default): the call returns its model, the drifted value
is kept as sent (UNSET when gone), `drifted()` names its path, and one WARNING names the
operation and the path but not the value. Strict: `APIResponseValidationError` naming the
operation and the path instead.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import attrs
import pytest
from aiohttp import web

from knock_async import UNSET, APIResponseValidationError, AsyncKnock, _reading, drifted, models
from tests.helpers import spec_operations, success_content

_GONE = object()


@attrs.frozen
class Case:
    operation: str
    call: Callable[[AsyncKnock], Any]
    route: str
    wire: tuple[Any, ...]  # where the drift is, in the JSON
    sent: Any  # what Knock sends there now (_GONE: the key is gone)
    path: str  # the field path reported
    attr: tuple[Any, ...] = ()  # where the value is kept on the model (default: as `wire`)


def _user(k: AsyncKnock) -> Any:
    return k.users.get("user_8f2k1")


def _message(k: AsyncKnock) -> Any:
    return k.messages.get("m1")


async def _feed(k: AsyncKnock) -> Any:
    page = await k.users.feeds.list_items("user_8f2k1", "feed-1")
    return page.data  # the whole response (the page keeps its items too)


def _bulk(k: AsyncKnock) -> Any:
    return k.bulk_operations.get("b1")


def _channel_data(k: AsyncKnock) -> Any:
    return k.users.get_channel_data("user_8f2k1", "ch1")


USER, MESSAGE, FEED = "/v1/users/user_8f2k1", "/v1/messages/m1", "/v1/users/user_8f2k1/feeds/feed-1"
BULK, CHANNEL = "/v1/bulk_operations/b1", "/v1/users/user_8f2k1/channel_data/ch1"
IMAGE_BLOCK = {"type": "image", "name": "hero", "url": "https://cdn.example/hero.png"}
ENTRY = ("entries", 0)

CASES = [
    Case("users.get", _user, USER, ("updated_at",), None, "updated_at"),
    Case("users.get", _user, USER, ("email",), 4207, "email"),
    Case("users.get", _user, USER, ("id",), _GONE, "id"),
    Case("users.get", _user, USER, ("created_at",), 1714662245, "created_at"),
    Case("messages.get", _message, MESSAGE, ("engagement_statuses",), None, "engagement_statuses"),
    Case("messages.get", _message, MESSAGE, ("source",), "workflow", "source"),
    Case("messages.get", _message, MESSAGE, ("inserted_at",), "2024-05-02 15:04:05 UTC", "inserted_at"),
    Case("messages.get", _message, MESSAGE, ("recipient",), {"kind": "user", "ref": "u1"}, "recipient"),
    Case("messages.get", _message, MESSAGE, ("status",), 3, "status"),
    Case("users.feeds.list_items", _feed, FEED, (*ENTRY, "blocks", 2), IMAGE_BLOCK, "entries[].blocks[]"),
    Case("users.feeds.list_items", _feed, FEED, (*ENTRY, "total_actors"), "12", "entries[].total_actors"),
    Case("users.feeds.list_items", _feed, FEED, (*ENTRY, "actors", 0), "user_17", "entries[].actors[]"),
    Case("users.feeds.list_items", _feed, FEED, ("meta", "unread_count"), None, "meta.unread_count"),
    Case("users.feeds.list_items", _feed, FEED, ("page_info", "page_size"), "50", "page_info.page_size"),
    Case("users.feeds.list_items", _feed, FEED, (*ENTRY, "source"), _GONE, "entries[].source"),
    Case("users.feeds.list_items", _feed, FEED, (*ENTRY, "data"), ["c_981"], "entries[].data"),
    Case("users.feeds.list_items", _feed, FEED, ("vars",), None, "vars"),
    Case("bulk_operations.get", _bulk, BULK, ("processed_rows",), "3", "processed_rows"),
    Case("bulk_operations.get", _bulk, BULK, ("error_items", 0), "user_bad_email", "error_items[]"),
    Case("bulk_operations.get", _bulk, BULK, ("status",), None, "status"),
    Case("users.get_channel_data", _channel_data, CHANNEL, ("data",), {"tokens": "5d2b"}, "data"),
    Case("users.get_channel_data", _channel_data, CHANNEL, ("channel_id",), 8209, "channel_id"),
]

EXAMPLES = {
    operation["operationId"]: content["example"]
    for _, _, operation in spec_operations()
    if (content := success_content(operation)) is not None
}


def drifted_body(case: Case) -> Any:
    body = copy.deepcopy(EXAMPLES[case.operation])
    parent = body
    for step in case.wire[:-1]:
        parent = parent[step]
    last = case.wire[-1]
    if case.sent is _GONE:
        del parent[last]
    elif isinstance(parent, list) and last == len(parent):
        parent.append(case.sent)  # a new element (a block of a new type)
    else:
        parent[last] = case.sent
    return body


def kept(result: Any, steps: tuple[Any, ...]) -> Any:
    for step in steps:
        result = result[step] if isinstance(step, int) else getattr(result, step)
    return result


@pytest.fixture
async def knock_url() -> AsyncIterator[tuple[str, dict[str, Any]]]:
    bodies: dict[str, Any] = {}

    async def answer(request: web.Request) -> web.Response:
        return web.json_response(bodies[request.path])

    app = web.Application()
    app.router.add_get("/{tail:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]  # the port the OS picked
    try:
        yield f"http://127.0.0.1:{port}", bodies
    finally:
        await runner.cleanup()


@pytest.fixture(autouse=True)
def fresh_reports() -> None:
    _reading._reported.clear()  # "once per process": each test starts from none reported


def test_the_cases_are_many_distinct_and_real() -> None:
    assert len(CASES) >= 16
    assert len({(c.operation, c.path) for c in CASES}) == len(CASES)
    assert len({c.operation for c in CASES}) >= 5


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.operation}:{c.path}")
async def test_tolerant_returns_the_data_and_reports_the_drift_once(
    case: Case, knock_url: tuple[str, dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    url, bodies = knock_url
    bodies[case.route] = drifted_body(case)
    async with AsyncKnock("sk_test", base_url=url, rate_limiter=None, strict_responses=False) as knock:
        with caplog.at_level(logging.WARNING, logger="knock_async"):
            result = await case.call(knock)
            again = await case.call(knock)
    assert type(result).__name__ == type(again).__name__ != "dict"
    value = kept(result, case.attr or case.wire)
    assert value is UNSET if case.sent is _GONE else value == case.sent
    assert drifted(result) == [case.path]
    warnings = [r for r in caplog.records if r.name == "knock_async" and r.levelno == logging.WARNING]
    assert len(warnings) == 1, "reported once per process per (operation, field path)"
    text = warnings[0].getMessage()
    assert case.operation in text and case.path in text
    if case.sent is not _GONE and case.sent is not None:
        assert repr(case.sent) not in text and str(case.sent) not in text


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.operation}:{c.path}")
async def test_strict_raises_naming_the_operation_and_the_path(
    case: Case, knock_url: tuple[str, dict[str, Any]]
) -> None:
    url, bodies = knock_url
    bodies[case.route] = drifted_body(case)
    async with AsyncKnock("sk_test", base_url=url, rate_limiter=None, strict_responses=True) as knock:
        with pytest.raises(APIResponseValidationError) as raised:
            await case.call(knock)
    message = str(raised.value)
    assert case.operation in message and f" at {case.path}:" in message
    if case.sent is not _GONE and case.sent is not None:
        assert str(case.sent) not in message
    assert raised.value.__cause__ is None and raised.value.__context__ is None


async def test_well_formed_answers_are_not_drift(knock_url: tuple[str, dict[str, Any]]) -> None:
    url, bodies = knock_url
    routes = {c.route: c for c in CASES}
    for route, case in routes.items():
        bodies[route] = EXAMPLES[case.operation]
    async with AsyncKnock("sk_test", base_url=url, rate_limiter=None, strict_responses=True) as knock:
        for case in routes.values():
            assert drifted(await case.call(knock)) == []


def test_the_extra_element_is_the_only_untyped_block() -> None:
    case = next(c for c in CASES if c.path == "entries[].blocks[]")
    page = _reading.read(drifted_body(case), models.ListFeedItemsResponse, _reading.Drift(collect=True))
    kinds = [type(block).__name__ for block in page.entries[0].blocks]
    assert kinds == ["MessageInAppFeedContentBlock", "MessageInAppFeedButtonSetBlock", "dict"]
