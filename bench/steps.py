"""`python -m bench --profile steps`: each step of knock-async's request path timed alone.

The steps are knock-async's own internals, so this module follows them by name: when one is
renamed or moved (the runtime is being restructured), its line says so instead of a figure,
and the other steps are still timed. Each figure is timeit's best of 5, in µs per call; the
raw side's equivalent stands beside it where there is one.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import timeit
from collections.abc import Callable
from typing import Any, Final

from . import payloads

_REPEAT: Final = 5


def _time(step: Callable[[], object], number: int) -> float:
    step()  # warm: hooks made, caches filled
    return min(timeit.repeat(step, number=number, repeat=_REPEAT)) / number * 1e6


def _line(label: str, make: Callable[[], Callable[[], object]], number: int = 20_000) -> str:
    try:
        step = make()
    except (ImportError, AttributeError) as missing:  # an internal renamed or moved
        return f"  {'--':>8}     {label}: not found ({type(missing).__name__}: {missing})"
    return f"  {_time(step, number):8.2f} µs  {label}"


def _internal(module: str, name: str) -> Any:
    return getattr(importlib.import_module(f"knock_async.{module}"), name)


def _transport() -> Any:
    from knock_async import AsyncKnock

    return AsyncKnock("sk_bench_steps", base_url="http://127.0.0.1:9", rate_limiter=None)._transport


def _trigger_body() -> dict[str, Any]:
    unset = _internal("_types", "UNSET")
    absent = dict.fromkeys(("actor", "cancellation_key", "tenant", "settings"), unset)
    return {"recipients": ["user-1", "user-2"], "data": payloads.TRIGGER_DATA, **absent}


def _op(module: str, name: str) -> Any:
    return getattr(importlib.import_module(f"knock_async.resources.{module}"), name)


def _raw_body(body: dict[str, Any]) -> bytes:
    sent = {"recipients": body["recipients"], "data": body["data"]}
    return json.dumps(sent, separators=(",", ":")).encode()


def _prepare_lines() -> list[str]:
    body = _trigger_body()

    def prepare(op: Any, path: Any, query: Any = None, body: Any = None) -> Callable[[], object]:
        transport = _transport()
        return lambda: transport._prepare(op, path, query, body, None, None)

    def payload_step(name: str) -> Callable[[], object]:
        build = _internal("_encode", "build_payload")
        payload = build(body, None)
        plan = _internal("_encode", "plan_for")(_op("workflows", "_WORKFLOWS_TRIGGER"))
        encoded = _internal("_encode", "encode_json")(payload).encode()
        steps: dict[str, Callable[[], object]] = {
            "build_payload": lambda: build(body, None),
            "encode_json": lambda: _internal("_encode", "encode_json")(payload).encode(),
            "check_limits": lambda: _internal("_encode", "check_limits")(plan, payload, len(encoded)),
            "check_lists": lambda: _internal("_encode", "check_lists")(plan, None, payload),
        }
        return steps[name]

    uuid = importlib.import_module("uuid")
    return [
        "users.get, before sending",
        _line(
            "_prepare (path, URL, headers)", lambda: prepare(_op("users", "_USERS_GET"), {"user_id": "u1"})
        ),
        "workflows.trigger, before sending",
        _line(
            "_prepare (all of the below, and the path)",
            lambda: prepare(_op("workflows", "_WORKFLOWS_TRIGGER"), {"key": "k"}, None, body),
        ),
        _line(
            "  body: build_payload (UNSET dropped, values copied or unstructured)",
            lambda: payload_step("build_payload"),
        ),
        _line("  body: encode_json(...).encode()", lambda: payload_step("encode_json")),
        _line(
            "  raw side's body: json.dumps(compact).encode()",
            lambda: lambda: json.dumps(body["data"]).encode(),
        ),
        _line("  limit checks: check_limits", lambda: payload_step("check_limits")),
        _line("  limit checks: check_lists", lambda: payload_step("check_lists")),
        _line(
            "  the idempotency key: new_idempotency_key()",
            lambda: _internal("_transport", "new_idempotency_key"),
        ),
        _line("  (the same made by str(uuid.uuid4()))", lambda: lambda: str(uuid.uuid4())),
    ]


def _decode_lines() -> list[str]:
    from knock_async import models
    from knock_async._convert import converter, loads

    user, feed, page = payloads.user_body(), payloads.feed_body(), payloads.users_pages()[None]
    parsed_user, parsed_feed, parsed_page = loads(user), loads(feed), loads(page)
    return [
        "after the answer",
        _line("users.get: loads (knock-async's reader)", lambda: lambda: loads(user)),
        _line("users.get: structure(User)", lambda: lambda: converter.structure(parsed_user, models.User)),
        _line("feed page: loads", lambda: lambda: loads(feed), 300),
        _line("feed page: json.loads (the raw floor without orjson)", lambda: lambda: json.loads(feed), 300),
        _line(
            "feed page: structure(ListFeedItemsResponse)",
            lambda: lambda: converter.structure(parsed_feed, models.ListFeedItemsResponse),
            300,
        ),
        _line("users page: loads", lambda: lambda: loads(page), 2000),
        _line(
            "users page: structure(ListUsersResponse)",
            lambda: lambda: converter.structure(parsed_page, models.ListUsersResponse),
            2000,
        ),
    ]


async def _deadline_scope_us(timeout: Callable[[float], Any], calls: int = 50_000) -> float:
    """An asyncio.timeout scope around one await, less the bare await."""

    async def answer() -> int:
        await asyncio.sleep(0)  # one turn of the loop, as a request takes: timer handles are reaped
        return 1

    async def scoped() -> int:
        async with timeout(60):
            return await answer()

    loop = asyncio.get_running_loop()
    timings = {}
    for name, call in (("bare", answer), ("scoped", scoped)):
        started = loop.time()
        for _ in range(calls):
            await call()
        timings[name] = (loop.time() - started) / calls * 1e6
    return timings["scoped"] - timings["bare"]


def report() -> str:
    lines = ["Steps of the request path, each timed alone (timeit best of 5, µs per call)"]
    lines += _prepare_lines() + _decode_lines()
    timeout = getattr(asyncio, "timeout", None)  # 3.11+: the transport's deadline scope
    if timeout is not None:
        scope_us = asyncio.run(_deadline_scope_us(timeout))
        lines.append(f"  {scope_us:8.2f} µs  the call's deadline scope (asyncio.timeout)")
    return "\n".join(lines)
