"""Check the test server's responses against openapi/knock.yaml.

`ContractChecker.middleware` is installed on every server the tests start, so every response
of every test is validated against the document: status code documented for the operation,
body valid against the response schema (JSON Schema 2020-12, formats checked), no body on
204. Violations are collected, and the `server` fixtures fail the test that produced them.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any

import jsonschema
import referencing
import referencing.jsonschema
from aiohttp import web

from knock_async._types import Operation
from knock_async.testing._server import OPERATION_KEY
from tests.helpers import spec, spec_operations

_DOCUMENT_URI = "urn:knock-openapi"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@cache
def _registry() -> referencing.Registry[Any]:
    resource = referencing.Resource.from_contents(
        spec(), default_specification=referencing.jsonschema.DRAFT202012
    )
    registry: referencing.Registry[Any] = referencing.Registry().with_resource(_DOCUMENT_URI, resource)
    return registry


@cache
def _operations() -> dict[str, tuple[str, str]]:
    """operationId -> (path, method) in the document."""
    return {op["operationId"]: (path, method) for path, method, op in spec_operations()}


def _pointer(*parts: str) -> str:
    return "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def _validator(pointer: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(
        {"$ref": f"{_DOCUMENT_URI}#/{pointer}"},
        registry=_registry(),
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )


def response_problems(operation_id: str, status: int, body: bytes, content_type: str | None) -> list[str]:
    """What is wrong with one response to `operation_id`, by the document (empty: nothing)."""
    if operation_id not in _operations():
        return [f"{operation_id} is not in the document"]
    path, method = _operations()[operation_id]
    responses = spec()["paths"][path][method]["responses"]
    code = str(status)
    key = code if code in responses else f"{code[0]}XX" if f"{code[0]}XX" in responses else None
    if key is None:
        if status >= 500:  # the document lists no 5XX responses; injected faults use the Error body
            return _check(
                _validator("components/schemas/Error"), body, content_type, f"{operation_id} {status}"
            )
        return [f"{operation_id}: status {status} is not documented (documented: {sorted(responses)})"]
    response = responses[key]
    base: tuple[str, ...] = ("paths", path, method, "responses", key)
    if "$ref" in response:  # a shared response, e.g. '4XX': {$ref: '#/components/responses/Error'}
        name = str(response["$ref"]).rsplit("/", 1)[1]
        response, base = spec()["components"]["responses"][name], ("components", "responses", name)
    pointer = _pointer(*base, "content", "application/json", "schema")
    if "application/json" not in (response.get("content") or {}):
        return [] if not body else [f"{operation_id} {status}: the document has no body, got {body[:80]!r}"]
    return _check(_validator(pointer), body, content_type, f"{operation_id} {status}")


def _check(
    validator: jsonschema.Draft202012Validator, body: bytes, content_type: str | None, where: str
) -> list[str]:
    if not (content_type or "").startswith("application/json"):
        return [f"{where}: content type {content_type!r}, not JSON"]
    try:
        document = json.loads(body)
    except ValueError:
        return [f"{where}: body is not JSON: {body[:80]!r}"]
    return [
        f"{where}: {'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message[:300]}"
        for error in validator.iter_errors(document)
    ]


def request_problems(operation_id: str, body: Any) -> list[str]:
    """What is wrong with a request body for `operation_id`, by the document."""
    path, method = _operations()[operation_id]
    request_body = spec()["paths"][path][method].get("requestBody")
    if request_body is None:
        return [] if body is None else [f"{operation_id}: the document takes no body"]
    pointer = _pointer("paths", path, method, "requestBody", "content", "application/json", "schema")
    validator = _validator(pointer)
    return [
        f"{operation_id} request: {'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}"
        for e in validator.iter_errors(body)
    ]


class ContractChecker:
    """An aiohttp middleware that validates every response and remembers what was wrong."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.checked = 0

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        operation: Operation[Any] | None = request.get(OPERATION_KEY)
        transport = request.transport
        if operation is None or transport is None or transport.is_closing():
            return response  # an unrouted path (Knock's own 404 shape) or a dropped connection
        if not isinstance(response, web.Response):
            self.problems.append(f"{operation.id}: streamed response")
            return response
        body = response.body if isinstance(response.body, bytes) else b""
        self.problems.extend(response_problems(operation.id, response.status, body, response.content_type))
        if response.status == 501:
            self.problems.append(f"{operation.id}: answered 501 (no handler)")
        self.checked += 1
        return response
