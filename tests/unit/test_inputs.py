"""Careful inputs: what the document declares is checked before anything is sent.

- a value whose JSON kind contradicts the declared type is refused (TypeError), at the top
  level of each parameter and one level into lists, naming the parameter and the type;
- a value JSON (or a URL) cannot carry, nested too deep, circular or holding a lone
  surrogate (or nan), is refused (ValueError), naming the parameter, with no exception of
  the encoder chained to it (its `.object` would hold the whole body).

Every call goes to the embedded Knock server over a real socket; a refused call must leave
its request log empty, and an accepted one must arrive as sent.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import math
import random
import sys
import types
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from knock_async import AsyncKnock, RequestOptions, models
from knock_async._encode import encode_json, json_kind, nests_deeper
from knock_async.testing import KnockTestServer
from tests.helpers import generated_operations, resolve, spec_operations

Call = Callable[[AsyncKnock], Awaitable[Any]]


@pytest.fixture
async def knock(server: KnockTestServer) -> AsyncIterator[AsyncKnock]:
    server.add_workflow("welcome")
    async with AsyncKnock(server.api_key, base_url=server.url, rate_limiter=None, max_retries=0) as client:
        yield client


def nested(depth: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    node = root
    for _ in range(depth - 1):
        node["a"] = {}
        node = node["a"]
    return root


def circular_dict() -> dict[str, Any]:
    node: dict[str, Any] = {"name": "loop"}
    node["self"] = {"back": node}
    return node


def circular_list() -> dict[str, Any]:
    items: list[Any] = [1]
    items.append(items)
    return {"items": items}


# --- JSON kinds that contradict the declared type --------------------------------------

WRONG_KINDS: list[tuple[str, Call, str]] = [
    (
        "recipients a dict",
        lambda k: k.workflows.trigger("welcome", recipients={"id": "u1"}),  # type: ignore[arg-type]
        r"workflows\.trigger: 'recipients' takes array\[string\|object\], got dict$",
    ),
    (
        "recipients a lone string",
        lambda k: k.workflows.trigger("welcome", recipients="u1"),
        r"'recipients' takes array\[string\|object\], got str$",
    ),
    (
        "recipients [None]",
        lambda k: k.workflows.trigger("welcome", recipients=[None]),  # type: ignore[list-item]
        r"'recipients\[0\]' takes string\|object \(the items of 'recipients': array\[string\|object\]\), "
        r"got None$",
    ),
    (
        "recipients [.., 123]",
        lambda k: k.workflows.trigger("welcome", recipients=["u1", 123]),  # type: ignore[list-item]
        r"'recipients\[1\]' takes string\|object .*, got int$",
    ),
    (
        "data a list",
        lambda k: k.workflows.trigger("welcome", recipients=["u1"], data=[1, 2]),  # type: ignore[arg-type]
        r"'data' takes object\|null, got list$",
    ),
    (
        "data a string",
        lambda k: k.workflows.trigger("welcome", recipients=["u1"], data="{}"),  # type: ignore[arg-type]
        r"'data' takes object\|null, got str$",
    ),
    (
        "name an int",
        lambda k: k.users.update("u1", name=123),  # type: ignore[arg-type]
        r"users\.update: 'name' takes string\|null, got int$",
    ),
    (
        "email bytes",
        lambda k: k.users.update("u1", email=b"ada@example.com"),  # type: ignore[arg-type]
        r"'email' takes string\|null, got bytes$",
    ),
    (
        "page_size a string",
        lambda k: k.users.list(page_size="abc"),  # type: ignore[arg-type]
        r"users\.list: 'page_size' takes integer, got str$",
    ),
    (
        "page_size True",
        lambda k: k.users.list(page_size=True),
        r"'page_size' takes integer, got bool$",
    ),
    (
        "page_size a float",
        lambda k: k.users.list(page_size=2.5),  # type: ignore[arg-type]
        r"'page_size' takes integer, got float$",
    ),
    (
        "a required body property None",
        lambda k: k.users.bulk.delete(user_ids=None),  # type: ignore[arg-type]
        r"'user_ids' takes array\[string\], got None$",
    ),
]


@pytest.mark.parametrize(
    ("call", "message"), [case[1:] for case in WRONG_KINDS], ids=[c[0] for c in WRONG_KINDS]
)
async def test_a_value_of_the_wrong_kind_is_refused_before_sending(
    knock: AsyncKnock, server: KnockTestServer, call: Call, message: str
) -> None:
    with pytest.raises(TypeError, match=message):
        await call(knock)
    assert server.requests == []


async def test_the_refusal_does_not_show_the_value(knock: AsyncKnock, server: KnockTestServer) -> None:
    # A credential given in the wrong place must not reach a log through the error.
    with pytest.raises(TypeError) as refused:
        await knock.workflows.trigger("welcome", recipients="sk_live_not_for_logs")
    assert "sk_live_not_for_logs" not in str(refused.value)
    assert server.requests == []


class Mood(enum.Enum):
    CALM = "calm"


async def test_every_form_of_a_declared_kind_is_accepted_and_arrives_as_json(
    knock: AsyncKnock, server: KnockTestServer
) -> None:
    await knock.workflows.trigger(
        "welcome",
        recipients=("u1", models.InlineIdentifyUserRequest(id="u2", name="Ada"), {"id": "u3"}),
        actor=None,  # nullable: an explicit null
        data=types.MappingProxyType({"mood": Mood.CALM.value, "at": "2026-01-01"}),
    )
    (sent,) = server.calls("workflows.trigger")
    assert sent.body == {
        "recipients": ["u1", {"id": "u2", "name": "Ada"}, {"id": "u3"}],
        "actor": None,
        "data": {"mood": "calm", "at": "2026-01-01"},
    }
    await knock.users.list(page_size=2)
    assert ("page_size", "2") in server.calls("users.list")[0].query


async def test_none_in_the_query_means_not_given(knock: AsyncKnock, server: KnockTestServer) -> None:
    await knock.users.list(page_size=None)  # type: ignore[arg-type]
    (listed,) = server.calls("users.list")
    assert [name for name, _ in listed.query if name == "page_size"] == []


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("a", "string"),
        (Mood.CALM, "string"),
        (dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), "string"),
        (dt.date(2026, 1, 1), "string"),
        (True, "boolean"),
        (3, "integer"),
        (3.5, "number"),
        (None, "null"),
        ({}, "object"),
        (types.MappingProxyType({}), "object"),
        (models.InlineIdentifyUserRequest(id="u1"), "object"),
        ([], "array"),
        ((), "array"),
        (frozenset(), "array"),
        (b"x", None),  # no JSON kind: refused where kinds are declared
        (object(), None),
    ],
)
def test_the_json_kind_of_a_python_value(value: Any, kind: str | None) -> None:
    assert json_kind(value) == kind


def test_every_declared_parameter_of_the_document_carries_its_kind() -> None:
    # The clash rule of extra_query/extra_body and the kind checks both rely on it.
    operations = generated_operations()
    for _, _, operation in spec_operations():
        op = operations[operation["operationId"]]
        params = [resolve(p) for p in operation.get("parameters", [])]
        query = [p["name"] for p in params if p["in"] == "query"]
        assert [name for name, _ in op.query_kinds] == query, op.id
        content = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if content and "x-knock-body-map" not in operation:
            assert [name for name, _ in op.body_kinds] == list(resolve(content["schema"])["properties"]), (
                op.id
            )


# --- values JSON or a URL cannot carry ---------------------------------------------------

UNENCODABLE: list[tuple[str, Call, str]] = [
    (
        "data nested 5000 deep",
        lambda k: k.workflows.trigger("welcome", recipients=["u1"], data=nested(5000)),
        r"workflows\.trigger: 'data' is nested 5000 levels deep, more than the 127 a parameter may nest; "
        r"nothing was sent",
    ),
    (
        "data circular through a dict",
        lambda k: k.workflows.trigger("welcome", recipients=["u1"], data=circular_dict()),
        r"'data' contains itself \(a circular reference\)",
    ),
    (
        "data circular through a list",
        lambda k: k.workflows.trigger("welcome", recipients=["u1"], data=circular_list()),
        r"'data' contains itself \(a circular reference\)",
    ),
    (
        "a lone surrogate in a body string",
        lambda k: k.users.update("u1", name="Ad\ud800a"),
        r"users\.update: 'name' holds a lone surrogate \(U\+D800, at position 2 of a string\)",
    ),
    (
        "a lone surrogate in a key deep in data",
        lambda k: k.workflows.trigger("welcome", recipients=["u1"], data={"a": [{"\udfff": 1}]}),
        r"'data' holds a lone surrogate \(U\+DFFF",
    ),
    (
        "a lone surrogate in a recipient",
        lambda k: k.workflows.trigger("welcome", recipients=["u1", {"id": "u\ud83d"}]),
        r"'recipients' holds a lone surrogate",
    ),
    (
        "a lone surrogate in the name of a custom property",
        lambda k: k.users.update("u1", custom_properties={"plan\ud800": "pro"}),
        r"users\.update: the name 'plan\\ud800' holds a lone surrogate",
    ),
    (
        "nan in data",
        lambda k: k.workflows.trigger("welcome", recipients=["u1"], data={"score": math.nan}),
        r"'data' holds nan, which JSON cannot carry",
    ),
    (
        "a lone surrogate in a query parameter",
        lambda k: k.users.list(after="\ud800"),
        r"users\.list: 'after' holds a lone surrogate",
    ),
    (
        "a lone surrogate in a path parameter",
        lambda k: k.users.get("user-\ud800"),
        r"path parameter 'user_id' holds a lone surrogate",
    ),
    (
        "a query object nested 5000 deep",
        lambda k: k.users.list(options=RequestOptions(extra_query={"filter": nested(5000)})),
        r"users\.list: 'filter' is nested 5000 levels deep, more than the 127",
    ),
    (
        "a circular query object",
        lambda k: k.users.list(options=RequestOptions(extra_query={"filter": circular_dict()})),
        r"'filter' contains itself",
    ),
    (
        "a circular extra body",
        lambda k: k.users.update("u1", options=RequestOptions(extra_body={"loop": circular_dict()})),
        r"users\.update: 'loop' contains itself",
    ),
]


@pytest.mark.parametrize(
    ("call", "message"), [case[1:] for case in UNENCODABLE], ids=[c[0] for c in UNENCODABLE]
)
async def test_a_value_that_cannot_be_encoded_is_refused_by_its_name(
    knock: AsyncKnock, server: KnockTestServer, call: Call, message: str
) -> None:
    with pytest.raises(ValueError, match=message) as refused:
        await call(knock)
    # Raised on its own: no RecursionError or UnicodeEncodeError (holding the body) rides along.
    assert refused.value.__cause__ is None and refused.value.__context__ is None
    assert server.requests == []


async def test_a_refused_body_does_not_leak_its_other_values(
    knock: AsyncKnock, server: KnockTestServer
) -> None:
    with pytest.raises(ValueError) as refused:
        await knock.users.update("u1", name="x\ud800", custom_properties={"api_token": "tok_secret_123"})
    assert "tok_secret_123" not in repr(refused.value) and "tok_secret_123" not in str(refused.value)
    assert server.requests == []


@pytest.fixture(params=["default", "raised"])
def recursion_limit(request: pytest.FixtureRequest) -> Iterator[None]:
    """Python's recursion limit as it comes, and raised as some programs raise it (mypy does):
    what is refused must not depend on it."""
    before = sys.getrecursionlimit()
    if request.param == "raised":
        sys.setrecursionlimit(max(before, 30_000))
    yield
    sys.setrecursionlimit(before)


@pytest.mark.usefixtures("recursion_limit")
async def test_nesting_is_refused_past_a_fixed_depth(knock: AsyncKnock, server: KnockTestServer) -> None:
    # The body is level 1, so a parameter may nest 127 levels: the most a 128-level body holds.
    await knock.workflows.trigger("welcome", recipients=["u1"], data=nested(127))
    (sent,) = server.calls("workflows.trigger")
    assert sent.body["data"] == nested(127)
    for depth in (128, 5000):
        with pytest.raises(ValueError, match=f"'data' is nested {depth} levels deep, more than the 127"):
            await knock.workflows.trigger("welcome", recipients=["u1"], data=nested(depth))
    with pytest.raises(ValueError, match="'filter' is nested 128 levels deep"):
        await knock.users.list(options=RequestOptions(extra_query={"filter": nested(128)}))
    assert len(server.requests) == 1


def json_depth(value: Any) -> int:
    """Levels of arrays and objects in a decoded JSON value, the reference `nests_deeper` must match."""
    if isinstance(value, dict):
        return 1 + max(map(json_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(json_depth, value), default=0)
    return 0


TRICKY_STRINGS = ["x", "[[[", "}}}", 'a"[', "\\", '"\\"{', "\n]", '""[', "\\", "{\\}", ""]


def test_the_depth_of_encoded_json_is_read_exactly_whatever_its_strings_hold() -> None:
    picks = random.Random(16)
    for _ in range(400):
        value: Any = picks.choice(TRICKY_STRINGS)
        for _ in range(picks.randrange(0, 40)):
            value = picks.choice(
                [
                    lambda v: {"a": v, "s": picks.choice(TRICKY_STRINGS)},
                    lambda v: [picks.choice(TRICKY_STRINGS), v],
                ]
            )(value)
        data = encode_json(
            {"p": value, picks.choice(TRICKY_STRINGS): [picks.choice(TRICKY_STRINGS)]}
        ).encode()
        depth = json_depth(json.loads(data))
        for limit in (depth - 1, depth, depth + 1):
            assert nests_deeper(data, limit) is (depth > limit), (data, limit)


async def test_a_shared_value_is_not_mistaken_for_a_cycle(knock: AsyncKnock, server: KnockTestServer) -> None:
    shared = {"plan": "pro"}
    await knock.workflows.trigger("welcome", recipients=["u1"], data={"a": shared, "b": [shared, shared]})
    (sent,) = server.calls("workflows.trigger")
    assert sent.body["data"] == {"a": shared, "b": [shared, shared]}


async def test_a_name_given_twice_is_still_refused_as_before(
    knock: AsyncKnock, server: KnockTestServer
) -> None:
    # Not a value that fails to encode: the existing refusal comes through unchanged.
    with pytest.raises(ValueError, match="'name' is given both as a parameter and in extra_body"):
        await knock.users.update("u1", name="Ada", custom_properties={"name": "Bob"})
    assert server.requests == []
