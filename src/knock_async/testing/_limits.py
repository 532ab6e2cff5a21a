"""Payload limits from the operations' `x-knock-limits`, checked on the raw request body.

The SDK checks the same limits before sending, but users' tests may send raw requests, and a
test server that accepted what Knock rejects would hide the bug.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from knock_async._types import Limit

from ._errors import invalid_params


def check_limits(limits: Iterable[Limit], body: Any) -> None:
    errors: list[dict[str, str]] = []
    for limit in limits:
        for value in _values(body, limit.field.split(".")):
            if limit.max_items is not None and isinstance(value, list) and len(value) > limit.max_items:
                errors.append(
                    {
                        "field": limit.field,
                        "message": f"has {len(value)} items; at most {limit.max_items} are allowed",
                        "type": "max_items",
                    }
                )
            if limit.max_bytes is not None and value is not None:
                size = len(json.dumps(value, separators=(",", ":")).encode())
                if size > limit.max_bytes:
                    errors.append(
                        {
                            "field": limit.field,
                            "message": f"is {size} bytes of JSON; at most {limit.max_bytes} are allowed",
                            "type": "max_bytes",
                        }
                    )
    if errors:
        raise invalid_params("The request exceeds a payload limit", errors)


def _values(node: Any, steps: list[str]) -> Iterator[Any]:
    """Every value at a limit path: "a.b" steps into an object, "a[].b" into each element of a."""
    if not steps:
        yield node
        return
    step, rest = steps[0], steps[1:]
    each = step.endswith("[]")
    name = step[:-2] if each else step
    if not isinstance(node, dict) or name not in node:
        return
    child = node[name]
    if not each:
        yield from _values(child, rest)
    elif isinstance(child, list):
        for element in child:
            yield from _values(element, rest)
