"""Cursor pagination: one list call as an awaitable first page and an async iterable of items.

A generated list method returns an `AsyncPager` without sending anything. The pager is a
description of the query, like the call itself: `await pager` fetches the first page, and
every `async for` (over items, or over `pager.pages()`) starts again from the first page with
a fresh iterator, so a half-consumed iteration is never resumed by accident.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Generator, Mapping
from typing import Any, Generic, Protocol, TypeVar

import attrs

from ._errors import PaginationError
from ._types import Operation, Pagination, RequestOptions

T = TypeVar("T")
ItemT = TypeVar("ItemT")
PageT = TypeVar("PageT")

# Knock's cursor parameters. Only the first request carries the caller's own `after` or
# `before`; later ones carry just the next cursor, in `Pagination.cursor_param`.
_CURSOR_PARAMS = frozenset({"after", "before"})


class _Transport(Protocol):
    async def request(
        self,
        op: Operation[T],
        *,
        path: Mapping[str, str] | None = None,
        query: Mapping[str, Any] | None = None,
        options: RequestOptions | None = None,
    ) -> T: ...


@attrs.frozen
class Page(Generic[ItemT, PageT]):
    """One page: its items, the whole structured response (`data`, e.g. a feed's `meta`), and
    the cursor of the next page (None on the last one)."""

    items: list[ItemT]
    data: PageT
    next_cursor: str | None

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None


class AsyncPager(Generic[ItemT, PageT]):
    """The result of a list method.

    - `await pager`: the first page, as a `Page`.
    - `async for item in pager`: every item of every page, fetched lazily; one page is held at
      a time and the next is requested only when the current one is used up.
    - `async for page in pager.pages()`: page by page.

    `limit` caps the number of items (and so the pages fetched). Leaving a loop early sends no
    further request.
    """

    def __init__(
        self,
        transport: _Transport,
        op: Operation[PageT],
        *,
        path: Mapping[str, str] | None = None,
        query: Mapping[str, Any] | None = None,
        options: RequestOptions | None = None,
        limit: int | None = None,
    ) -> None:
        if op.pagination is None:
            raise ValueError(f"{op.id} is not a paginated operation")
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be 0 or more, got {limit}")
        self._transport = transport
        self._op = op
        self._pagination: Pagination = op.pagination
        self._path = path
        self._query: Mapping[str, Any] = query or {}
        self._options = options
        self._limit = limit

    def __repr__(self) -> str:
        return f"AsyncPager({self._op.id}, limit={self._limit})"

    def __await__(self) -> Generator[Any, None, Page[ItemT, PageT]]:
        return self._first_page().__await__()

    def __aiter__(self) -> AsyncIterator[ItemT]:
        return self._items()

    def pages(self) -> AsyncIterator[Page[ItemT, PageT]]:
        """Iterate page by page (the last page is cut short when `limit` is reached)."""
        return self._pages()

    async def _first_page(self) -> Page[ItemT, PageT]:
        page = await self._fetch(None)
        return page if self._limit is None else _truncate(page, self._limit)

    async def _items(self) -> AsyncIterator[ItemT]:
        pages = self._pages()
        try:
            async for page in pages:
                items = page.items
                del page  # the page's response goes now, before the next one is fetched
                for item in items:
                    yield item
                del items
        finally:
            await pages.aclose()

    async def _pages(self) -> AsyncGenerator[Page[ItemT, PageT], None]:
        remaining = self._limit
        cursor: str | None = None
        # Every cursor this iteration followed: a server that hands one out again would
        # otherwise be paged through forever. Cursors are short, so this stays small.
        followed: set[str] = set()
        while remaining is None or remaining > 0:
            page = await self._fetch(cursor)
            if remaining is not None:
                page = _truncate(page, remaining)
                remaining -= len(page.items)
            cursor = page.next_cursor
            empty = not page.items
            yield page
            del page  # hold no page while the next one is fetched
            if cursor is None or empty:
                return
            if cursor in followed:
                raise PaginationError(
                    f"{self._op.id}: Knock returned the cursor {cursor!r} a second time; "
                    f"stopping after {len(followed) + 1} pages instead of looping"
                )
            followed.add(cursor)

    async def _fetch(self, cursor: str | None) -> Page[ItemT, PageT]:
        query = self._query
        if cursor is not None:
            later = {k: v for k, v in query.items() if k not in _CURSOR_PARAMS}
            later[self._pagination.cursor_param] = cursor
            query = later
        data = await self._transport.request(self._op, path=self._path, query=query, options=self._options)
        items = getattr(data, self._pagination.items, None)  # None or UNSET: an empty page
        if not isinstance(items, list):
            items = list(items) if items else []
        return Page(items=items, data=data, next_cursor=_cursor(data, self._pagination.next))


def _cursor(data: object, dotted: str) -> str | None:
    """The next cursor at `dotted` in `data`; None when absent, null, UNSET or empty."""
    value: object = data
    for name in dotted.split("."):
        value = getattr(value, name, None)
    return value if isinstance(value, str) and value else None


def _truncate(page: Page[ItemT, PageT], limit: int) -> Page[ItemT, PageT]:
    if len(page.items) <= limit:
        return page
    # Once the limit is reached there is no next page to speak of.
    return attrs.evolve(page, items=page.items[:limit], next_cursor=None)
