"""Knock's error responses: `{code, message, status, type}` (plus `errors` for invalid fields).

Handlers raise `KnockHTTPError`; the request pipeline turns it into the JSON response. Codes are
the ones Knock documents (see `knock_async._errors.ErrorCode`) where one exists.
"""

from __future__ import annotations

import math
from typing import Any

from aiohttp import web


class KnockHTTPError(Exception):
    """An error response to send, in Knock's body shape."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        type: str = "invalid_request_error",  # Knock's field name
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.type = type
        self.errors = errors
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "status": self.status,
            "type": self.type,
        }
        if self.errors:
            body["errors"] = self.errors
        return body

    def response(self) -> web.Response:
        return web.json_response(self.body(), status=self.status, headers=self.headers)


def unauthenticated() -> KnockHTTPError:
    return KnockHTTPError(401, "api_key_missing", "No valid API key provided", "authentication_error")


def wrong_key_type(operation_id: str) -> KnockHTTPError:
    # A publishable key is a valid credential that may not do this: 403, as Knock's
    # reference says for "a valid key but with insufficient permissions".
    return KnockHTTPError(
        403,
        "incorrect_token_type",
        f"{operation_id} needs a secret (sk_) API key; publishable keys may not call it",
        "authentication_error",
    )


def not_found(what: str = "resource") -> KnockHTTPError:
    return KnockHTTPError(404, "resource_missing", f"The {what} you requested does not exist", "api_error")


def workflow_missing(key: str) -> KnockHTTPError:
    return KnockHTTPError(
        404, "workflow_missing", f"No workflow with key {key!r} exists in this environment", "api_error"
    )


def workflow_inactive(key: str) -> KnockHTTPError:
    return KnockHTTPError(
        422, "workflow_inactive", f"The workflow {key!r} is inactive; activate it before triggering it"
    )


def invalid_params(message: str, errors: list[dict[str, str]] | None = None) -> KnockHTTPError:
    return KnockHTTPError(422, "invalid_params", message, errors=errors)


def field_error(field: str, message: str, kind: str = "invalid") -> KnockHTTPError:
    return invalid_params(f"{field}: {message}", [{"field": field, "message": message, "type": kind}])


def invalid_json() -> KnockHTTPError:
    return KnockHTTPError(400, "invalid_json", "The request body is not valid JSON")


def rate_limited(retry_after: float) -> KnockHTTPError:
    # Retry-After takes whole seconds (RFC 9110); round up so a client that obeys it succeeds.
    seconds = max(1, math.ceil(retry_after))
    return KnockHTTPError(
        429,
        "rate_limit_exceeded",
        "Too many requests for this endpoint's rate-limit tier; retry after the Retry-After delay",
        "rate_limit_error",
        headers={"Retry-After": str(seconds)},
    )


def not_implemented(operation_id: str) -> KnockHTTPError:
    return KnockHTTPError(
        501, "not_implemented", f"The test server has no handler for {operation_id} yet", "api_error"
    )


def injected_failure(status: int) -> KnockHTTPError:
    return KnockHTTPError(
        status, "internal_server_error", "Injected fault: the server failed on purpose", "api_error"
    )


def body_too_large(limit: int) -> KnockHTTPError:
    return KnockHTTPError(413, "request_entity_too_large", f"The request body is larger than {limit} bytes")


def too_deep(limit: int) -> KnockHTTPError:
    return KnockHTTPError(
        400, "invalid_json", f"The request body nests arrays and objects deeper than {limit} levels"
    )


def idempotency_key_reused(message: str) -> KnockHTTPError:
    return KnockHTTPError(422, "idempotency_key_reused", message)
