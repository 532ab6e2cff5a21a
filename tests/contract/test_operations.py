"""Every generated method sends a request that the document accepts, and parses its example.

For each operation the arguments are built from the document itself (every required value,
plus every optional query parameter), the method is called against a mocked Knock, the request
it sent is validated by openapi-core against openapi/knock.yaml, and the response example the
mock answered with comes back as the declared model, unchanged.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from codegen.spec import keyword_name
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest
from werkzeug.datastructures import ImmutableMultiDict

from knock_async import AsyncKnock
from knock_async._convert import converter
from tests.conftest import KnockMock
from tests.helpers import SPEC_PATH, resolve, spec_operations, success_content

BASE_URL = "https://api.knock.app"
OPERATIONS = list(spec_operations())


@pytest.fixture(scope="module")
def openapi() -> OpenAPI:
    return OpenAPI.from_file_path(str(SPEC_PATH))


STRINGS = {
    "date-time": "2024-05-02T15:04:05Z",
    "date": "2024-05-02",
    "uuid": "7f1f5a9e-2b1c-4c3d-9e8f-0a1b2c3d4e5f",
    "uri": "https://example.com/a",
    "email": "ada@example.com",
}


def sample(node: dict[str, Any]) -> Any:
    """A small value that validates against the schema."""
    node = resolve(node)
    if "enum" in node:
        return node["enum"][0]
    for key in ("oneOf", "anyOf"):
        if key in node:
            return sample(node[key][0])
    kind = node.get("type", "object")
    if isinstance(kind, list):
        kind = next(k for k in kind if k != "null")
    if kind == "object":
        return {name: sample(node["properties"][name]) for name in node.get("required", [])}
    if kind == "array":
        return [sample(node.get("items", {}))]
    if kind == "string":
        return STRINGS.get(node.get("format", ""), "sample-1")
    return {"integer": 1, "number": 1.5, "boolean": True}[kind]


def query_sample(param: dict[str, Any]) -> Any:
    """A value for a query parameter; None leaves out an optional one OpenAPI cannot describe."""
    schema = resolve(param["schema"])
    value = sample(schema)
    objects = isinstance(value, dict) or (isinstance(value, list) and any(isinstance(v, dict) for v in value))
    if objects:
        # OpenAPI's query styles cannot describe objects the way Knock reads them
        # (key[field]=value, key[][field]=value); the transport's unit tests cover that.
        assert not param.get("required"), param["name"]
        return None
    return value


def arguments(path: str, operation: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """Path parameters in path order, then query and body values by their Python names."""
    params = [resolve(p) for p in operation.get("parameters", [])]
    in_path = sorted(
        (p for p in params if p["in"] == "path"), key=lambda p: path.index("{" + p["name"] + "}")
    )
    positional = [sample(p["schema"]) for p in in_path]
    keywords = {keyword_name(p["name"]): query_sample(p) for p in params if p["in"] == "query"}
    keywords = {name: value for name, value in keywords.items() if value is not None}
    keywords.pop("after", None), keywords.pop("before", None)  # cursors are opaque
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body and "x-knock-body-map" in operation:  # the whole body is one argument: a map
        entry = sample(resolve(body["schema"])["additionalProperties"])
        keywords[keyword_name(operation["x-knock-body-map"])] = {"sample-key": entry}
    elif body:
        keywords.update({keyword_name(k): v for k, v in sample(body["schema"]).items()})
    return positional, keywords


def _deprecation(operation: dict[str, Any]) -> contextlib.AbstractContextManager[Any]:
    """A method for an operation Knock deprecated warns, naming itself; others do not warn."""
    if operation.get("deprecated"):
        return pytest.warns(DeprecationWarning, match=re.escape(f"{operation['operationId']} is deprecated"))
    return _deprecations_fail()


@contextlib.contextmanager
def _deprecations_fail() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        yield


@pytest.mark.parametrize(
    ("path", "method", "operation"), OPERATIONS, ids=[o[2]["operationId"] for o in OPERATIONS]
)
async def test_operation_contract(
    path: str, method: str, operation: dict[str, Any], openapi: OpenAPI
) -> None:
    operation_id: str = operation["operationId"]
    content = success_content(operation)
    example = content["example"] if content else None
    status = next(int(c) for c in operation["responses"] if str(c).startswith("2"))
    sent: list[MockRequest] = []

    def answer(url: Any, **kwargs: Any) -> None:
        query = ImmutableMultiDict(list(url.query.items()))
        data = kwargs.get("data")
        sent.append(MockRequest(BASE_URL, method, url.raw_path, args=query, headers=kwargs["headers"],
                                data=data if isinstance(data, bytes) else None))  # fmt: skip

    positional, keywords = arguments(path, operation)
    async with AsyncKnock("sk_test_contract", base_url=BASE_URL, rate_limiter=None, max_retries=0) as knock:
        target: Any = knock
        for part in operation_id.split("."):
            target = getattr(target, part)
        with KnockMock() as api, _deprecation(operation):
            api.add(re.compile(".*"), method.upper(), status=status, payload=example, callback=answer)
            result = await target(*positional, **keywords)
    assert len(sent) == 1
    openapi.validate_request(sent[0])
    if example is None:
        assert result is None
    else:
        data = result.data if operation.get("x-knock-pagination") else result
        assert converter.unstructure(data) == example
