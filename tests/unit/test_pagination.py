"""The pager, against a fake transport serving 10 000 items in pages of 50."""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any

import attrs
import pytest

from knock_async import PaginationError
from knock_async._pagination import AsyncPager, Page
from knock_async._types import UNSET, Operation, Pagination, RequestOptions, Unset

TOTAL = 10_000
PAGE_SIZE = 50


# --- page models shaped like the generated ones -----------------------------------------


@attrs.define
class Item:
    n: int


@attrs.define
class PageInfo:
    after: str | Unset | None = UNSET
    before: str | Unset | None = UNSET


@attrs.define
class Meta:
    total_count: int


@attrs.define
class ItemsPage:
    entries: list[Item] | Unset
    page_info: PageInfo | None
    meta: Meta


LIST: Operation[ItemsPage] = Operation(
    id="things.list",
    method="GET",
    path="/v1/things/{kind}",
    tier=4,
    response=ItemsPage,
    pagination=Pagination(items="entries", next="page_info.after", cursor_param="after"),
)


class FakeTransport:
    """Serves `TOTAL` items; the cursor is the index of the next item.

    It keeps no page: `alive` counts the pages not yet garbage (a weakref.finalize per page),
    i.e. those the pager still holds, and `alive_at_request` records it at every request.
    """

    def __init__(self, total: int = TOTAL, *, last_cursor: Any = None) -> None:
        self.total = total
        self.last_cursor = last_cursor  # what the last page says instead of a next cursor
        self.queries: list[dict[str, Any]] = []
        self.calls: list[dict[str, Any]] = []
        self.alive = 0
        self.alive_at_request: list[int] = []

    @property
    def requests(self) -> int:
        return len(self.queries)

    async def request(
        self,
        op: Operation[Any],
        *,
        path: Mapping[str, str] | None = None,
        query: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        options: RequestOptions | None = None,
    ) -> Any:
        assert op is LIST and body is None and extra_body is None
        query = dict(query or {})
        self.alive_at_request.append(self.alive)
        self.queries.append(query)
        self.calls.append({"path": path, "options": options})
        size = query.get("page_size") or PAGE_SIZE
        start = int(query["after"]) if isinstance(query.get("after"), str) else 0
        if isinstance(query.get("before"), str):
            start = max(0, int(query["before"]) - size)
        end = min(start + size, self.total)
        page = ItemsPage(
            entries=[Item(n) for n in range(start, end)],
            page_info=PageInfo(after=str(end) if end < self.total else self.last_cursor, before=str(start)),
            meta=Meta(total_count=self.total),
        )
        self.alive += 1
        weakref.finalize(page, self._gone)
        return page

    def _gone(self) -> None:
        self.alive -= 1


def pager(transport: FakeTransport, *, limit: int | None = None, **query: Any) -> AsyncPager[Item, ItemsPage]:
    query = {"page_size": UNSET, "after": UNSET, "before": UNSET, **query}
    return AsyncPager(transport, LIST, path={"kind": "widgets"}, query=query, limit=limit)


# --- tests ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_every_item_once_in_order_holding_one_page_at_a_time() -> None:
    transport = FakeTransport()
    seen: list[int] = []
    async for item in pager(transport):
        seen.append(item.n)
        if item.n % PAGE_SIZE == PAGE_SIZE - 1:
            assert transport.alive == 1  # the page being read, nothing older
    assert seen == list(range(TOTAL))
    assert transport.requests == TOTAL // PAGE_SIZE == 200
    # When each page was requested, the pager no longer held the one before it.
    assert transport.alive_at_request == [0] * 200
    assert [q.get("after") for q in transport.queries] == [UNSET] + [str(i) for i in range(50, TOTAL, 50)]


@pytest.mark.asyncio
async def test_the_next_page_is_requested_only_when_the_current_one_is_used_up() -> None:
    transport = FakeTransport()
    iterator = aiter(pager(transport))
    assert (await anext(iterator)).n == 0
    assert transport.requests == 1
    for _ in range(PAGE_SIZE - 1):
        await anext(iterator)
    assert transport.requests == 1  # 50 items read: still one page
    assert (await anext(iterator)).n == PAGE_SIZE
    assert transport.requests == 2


@pytest.mark.asyncio
async def test_awaiting_the_pager_gives_the_first_page() -> None:
    transport = FakeTransport()
    page = await pager(transport, status="active")
    assert isinstance(page, Page)
    assert [item.n for item in page.items] == list(range(PAGE_SIZE))
    assert page.data.meta.total_count == TOTAL  # the whole response is reachable
    assert page.next_cursor == "50" and page.has_next
    assert transport.requests == 1
    assert transport.queries[0]["status"] == "active"
    assert transport.calls[0]["path"] == {"kind": "widgets"}


@pytest.mark.asyncio
async def test_pages_page_by_page() -> None:
    transport = FakeTransport(total=120)
    pages = [page async for page in pager(transport).pages()]
    assert [len(page.items) for page in pages] == [50, 50, 20]
    assert [page.next_cursor for page in pages] == ["50", "100", None]
    assert not pages[-1].has_next
    assert transport.requests == 3


@pytest.mark.asyncio
async def test_limit_stops_fetching_once_reached() -> None:
    transport = FakeTransport()
    items = [item.n async for item in pager(transport, limit=120)]
    assert items == list(range(120))
    assert transport.requests == 3

    transport = FakeTransport()
    assert len([item async for item in pager(transport, limit=100)]) == 100
    assert transport.requests == 2  # the limit falls on a page boundary: no third request

    transport = FakeTransport()
    pages = [page async for page in pager(transport, limit=70).pages()]
    assert [len(page.items) for page in pages] == [50, 20]
    assert pages[-1].next_cursor is None  # cut short: its cursor would skip items

    transport = FakeTransport()
    page = await pager(transport, limit=10)
    assert len(page.items) == 10 and page.data.meta.total_count == TOTAL

    transport = FakeTransport()
    assert [item async for item in pager(transport, limit=0)] == []
    assert transport.requests == 0

    with pytest.raises(ValueError, match="limit"):
        pager(transport, limit=-1)


@pytest.mark.asyncio
async def test_break_sends_no_further_request() -> None:
    transport = FakeTransport()
    async for item in pager(transport):
        if item.n == 60:
            break
    assert transport.requests == 2

    transport = FakeTransport()
    async for _page in pager(transport).pages():
        break
    assert transport.requests == 1


@pytest.mark.asyncio
async def test_every_async_for_starts_from_the_first_page() -> None:
    transport = FakeTransport(total=120)
    the_pager = pager(transport)
    async for item in the_pager:
        if item.n == 70:
            break
    assert [item.n async for item in the_pager] == list(range(120))  # not 71..119
    assert (await the_pager).items[0].n == 0


@pytest.mark.asyncio
async def test_the_callers_cursor_page_size_and_filters_are_honoured() -> None:
    transport = FakeTransport(total=300)
    items = [item.n async for item in pager(transport, page_size=25, after="200", status="active")]
    assert items == list(range(200, 300))
    assert [q["after"] for q in transport.queries] == ["200", "225", "250", "275"]
    assert all(q["page_size"] == 25 and q["status"] == "active" for q in transport.queries)

    # `before` is for the first request only; after that the next cursor leads.
    transport = FakeTransport(total=300)
    items = [item.n async for item in pager(transport, before="100", limit=80)]
    assert items == list(range(50, 130))
    assert "before" not in transport.queries[1] and transport.queries[1]["after"] == "100"


@pytest.mark.asyncio
async def test_options_reach_the_transport() -> None:
    transport = FakeTransport(total=10)
    options = RequestOptions(timeout=3.0)
    the_pager: AsyncPager[Item, ItemsPage] = AsyncPager(transport, LIST, query={}, options=options)
    assert len([item async for item in the_pager]) == 10
    assert transport.calls[0]["options"] is options


@pytest.mark.asyncio
@pytest.mark.parametrize("last_cursor", [None, UNSET, ""])
async def test_a_null_absent_or_empty_cursor_ends_the_list(last_cursor: Any) -> None:
    transport = FakeTransport(total=75, last_cursor=last_cursor)
    assert len([item async for item in pager(transport)]) == 75
    assert transport.requests == 2


class EmptyPageTransport(FakeTransport):
    async def request(self, op: Operation[Any], **kwargs: Any) -> Any:
        self.queries.append(dict(kwargs.get("query") or {}))
        return ItemsPage(entries=UNSET, page_info=PageInfo(after="more"), meta=Meta(total_count=0))


class NoPageInfoTransport(FakeTransport):
    async def request(self, op: Operation[Any], **kwargs: Any) -> Any:
        self.queries.append(dict(kwargs.get("query") or {}))
        return ItemsPage(entries=[Item(1)], page_info=None, meta=Meta(total_count=1))


@pytest.mark.asyncio
async def test_an_empty_page_ends_the_list_even_with_a_cursor() -> None:
    transport = EmptyPageTransport()
    assert [item async for item in pager(transport)] == []
    assert transport.requests == 1
    page = await pager(transport)
    assert page.items == [] and page.next_cursor == "more"


@pytest.mark.asyncio
async def test_a_missing_parent_of_the_cursor_ends_the_list() -> None:
    transport = NoPageInfoTransport()
    assert [item.n async for item in pager(transport)] == [1]
    assert transport.requests == 1


def test_a_pager_needs_a_paginated_operation() -> None:
    plain: Operation[ItemsPage] = Operation(id="things.get", method="GET", path="/v1/things", tier=4)
    with pytest.raises(ValueError, match="not a paginated operation"):
        AsyncPager(FakeTransport(), plain)


def test_making_a_pager_sends_nothing() -> None:
    transport = FakeTransport()
    pager(transport)
    assert transport.requests == 0


class LoopingTransport(FakeTransport):
    """A misbehaving server: the page that should lead to "150" points back to `back_to`."""

    def __init__(self, back_to: str) -> None:
        super().__init__(total=10_000)
        self.back_to = back_to

    async def request(self, op: Operation[Any], **kwargs: Any) -> Any:
        page = await super().request(op, **kwargs)
        if page.page_info.after == "150":
            page.page_info = PageInfo(after=self.back_to, before=page.page_info.before)
        return page


@pytest.mark.parametrize("back_to", ["100", "50"])  # the same cursor again, or a cycle
async def test_a_repeated_cursor_raises_instead_of_looping(back_to: str) -> None:
    transport = LoopingTransport(back_to)
    seen: list[int] = []
    with pytest.raises(PaginationError, match=f"cursor '{back_to}' a second time"):
        async for item in pager(transport):
            seen.append(item.n)
    # Each page was yielded once before the loop was noticed; nothing more was requested.
    assert transport.requests == 3
    assert len(seen) == transport.requests * PAGE_SIZE
