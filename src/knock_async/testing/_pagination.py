"""Cursor pagination as Knock does it: `after` / `before` / `page_size` in, `page_info` out.

A cursor names the position of one item (its insertion sequence number), so pages stay stable
while items are added or removed elsewhere in the list. Cursors are opaque to clients.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from ._errors import field_error

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 50  # the document's PageSize parameter: minimum 1, maximum 50
_PREFIX = "kts1:"


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str, param: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if text.startswith(_PREFIX):
            return int(text[len(_PREFIX) :])
    except (ValueError, UnicodeDecodeError):
        pass
    raise field_error(param, "is not a cursor this API handed out")


def page_size(query: Mapping[str, str]) -> int:
    raw = query.get("page_size")
    if raw is None:
        return DEFAULT_PAGE_SIZE
    try:
        size = int(raw)
    except ValueError:
        raise field_error("page_size", "must be an integer") from None
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise field_error("page_size", f"must be between 1 and {MAX_PAGE_SIZE}")
    return size


def paginate(
    items: Sequence[T],
    query: Mapping[str, str],
    *,
    position: Callable[[T], int],
    render: Callable[[T], Any],
    key: str = "entries",
) -> dict[str, Any]:
    """One page of `items` (already in the documented order) as `{key: [...], page_info}`.

    `position` gives each item's unique, never reused number; an `after` cursor selects what
    follows that item in the list's order and `before` what precedes it, whatever the order.
    """
    size = page_size(query)
    index = {position(item): i for i, item in enumerate(items)}
    start, stop = 0, len(items)
    if (after := query.get("after")) is not None:
        start = _locate(items, index, decode_cursor(after, "after"), position) + 1
        stop = min(len(items), start + size)
    elif (before := query.get("before")) is not None:
        stop = _locate(items, index, decode_cursor(before, "before"), position, before=True)
        start = max(0, stop - size)
    else:
        stop = min(len(items), size)
    page = items[start:stop]
    return {
        key: [render(item) for item in page],
        "page_info": {
            "__typename": "PageInfo",
            "after": encode_cursor(position(page[-1])) if page and stop < len(items) else None,
            "before": encode_cursor(position(page[0])) if page and start > 0 else None,
            "page_size": size,
        },
    }


def _locate(
    items: Sequence[T],
    index: Mapping[int, int],
    cursor: int,
    position: Callable[[T], int],
    *,
    before: bool = False,
) -> int:
    """The list index of the cursor's item; if it is gone, where it would sit."""
    if cursor in index:
        return index[cursor]
    # The item was deleted: lists are ordered by position, ascending or descending, so find
    # the first item on the far side of the cursor in the list's own direction.
    descending = len(items) > 1 and position(items[0]) > position(items[-1])
    for i, item in enumerate(items):
        beyond = position(item) < cursor if descending else position(item) > cursor
        if beyond:
            return i if before else i - 1
    return len(items) if before else len(items) - 1
