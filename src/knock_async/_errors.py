"""The exception hierarchy: every error the SDK raises on purpose is a `KnockError`.

KnockError
├── APIConnectionError          Knock could not be reached (DNS, refused, reset, ...)
│   └── APITimeoutError         no complete answer in time
├── APIStatusError              Knock answered with a non-2xx status
│   ├── RedirectError               3xx: never followed (Knock's API does not redirect)
│   ├── BadRequestError             400
│   ├── AuthenticationError         401
│   ├── PermissionDeniedError       403
│   ├── NotFoundError               404
│   ├── ConflictError               409
│   ├── UnprocessableEntityError    422
│   ├── RateLimitError              429
│   ├── ClientRequestError          any other 4xx
│   └── InternalServerError         5xx
├── APIResponseValidationError  a 2xx body that is not JSON, too deeply nested, or does not fit
├── ResponseTooLargeError       a response body over the client's max_response_bytes
├── PayloadLimitError           (also ValueError) a body over a Knock limit, caught before sending
├── WrongEventLoopError         (also RuntimeError) your session belongs to another event loop
├── ClientClosedError           (also RuntimeError) a call made, queued or in flight at close()
├── PaginationError             a list's next cursor repeats one already followed
└── WebhookSignatureError       (also ValueError) a webhook request refused (`knock_async.webhooks`)

Every error the transport raises names the failed request: `operation_id`, `method` and
`path` (the rendered path) are set on it and lead its message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal

from ._headers import header


class ErrorCode:
    """Knock's documented error `code` strings: compare with `err.code == ErrorCode.X`.

    Knock says to branch on `code` (stable) and not on `message` (may be reworded). Codes not
    listed here still arrive unchanged in `err.code`.
    """

    ACTOR_MISSING: Final = "actor_missing"
    API_KEY_EXPIRED: Final = "api_key_expired"
    API_KEY_MISSING: Final = "api_key_missing"
    AUTHENTICATION_REQUIRED: Final = "authentication_required"
    CHANNEL_INVALID: Final = "channel_invalid"
    INCORRECT_TOKEN_TYPE: Final = "incorrect_token_type"
    INVALID_PARAMS: Final = "invalid_params"
    INVALID_USER_TOKEN: Final = "invalid_user_token"
    MISSING_JWT_SIGNING_KEY: Final = "missing_jwt_signing_key"
    MISSING_USER_TOKEN: Final = "missing_user_token"
    WORKFLOW_INACTIVE: Final = "workflow_inactive"
    WORKFLOW_MISSING: Final = "workflow_missing"


class KnockError(Exception):
    """Base class of every error this SDK raises on purpose.

    `operation_id`, `method` and `path` name the request that failed (None for errors raised
    outside a request).
    """

    operation_id: str | None = None
    method: str | None = None
    path: str | None = None

    def for_request(self, operation_id: str, method: str, path: str) -> KnockError:
        """Name the request on this error, in its attributes and at the head of its message."""
        if self.operation_id is None:
            self.operation_id, self.method, self.path = operation_id, method, path
            first = self.args[0] if self.args else ""
            self.args = (f"{method} {path} ({operation_id}): {first}", *self.args[1:])
        return self


class APIConnectionError(KnockError):
    """The request did not get a complete response: Knock was not reached or hung up."""


class APITimeoutError(APIConnectionError):
    """The request's time budget ran out before a response arrived."""


class ClientClosedError(KnockError, RuntimeError):
    """A request was made on a client (transport) that was already closed."""


class PaginationError(KnockError):
    """A paginated list handed out a cursor it had handed out before: following it would loop."""


class WrongEventLoopError(KnockError, RuntimeError):
    """The aiohttp session given to the client belongs to another event loop than the one
    running the call; create the session and the client inside the running loop."""


class APIResponseValidationError(KnockError):
    """A 2xx response whose body is not valid JSON (or nests too deep) or does not fit its type."""

    def __init__(self, message: str, *, status: int, headers: Mapping[str, str]) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers


class ResponseTooLargeError(KnockError):
    """The response body is larger than the client's `max_response_bytes`; it was not read."""

    def __init__(self, status: int, limit: int, size: int | None) -> None:
        told = f"announced {size} bytes" if size is not None else f"went past {limit} bytes"
        super().__init__(f"Knock's {status} response {told}; max_response_bytes is {limit}")
        self.status = status
        self.limit = limit
        self.size = size


class PayloadLimitError(KnockError, ValueError):
    """A request body over one of Knock's documented limits; raised before anything is sent."""

    def __init__(self, field: str, kind: Literal["max_items", "max_bytes"], limit: int, actual: int) -> None:
        unit = "items" if kind == "max_items" else "bytes of JSON"
        super().__init__(f"{field} has {actual} {unit}; Knock accepts at most {limit}")
        self.field = field
        self.kind = kind
        self.limit = limit
        self.actual = actual


class APIStatusError(KnockError):
    """Knock answered with a non-2xx status.

    `code`, `message`, `type` and `errors` come from Knock's JSON error body
    `{code, message, status, type, errors?}`; `body` is that parsed body, or the raw text when
    the body was not JSON (a proxy's HTML page, say).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str | None = None,
        type: str | None = None,  # Knock's own field name, shadowing the builtin on purpose
        errors: list[Any] | None = None,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.type = type
        self.errors: list[Any] = errors if errors is not None else []
        self.headers: Mapping[str, str] = headers if headers is not None else {}
        self.body = body
        self.request_id: str | None = header(self.headers, "x-request-id")
        super().__init__(self._describe())

    @property
    def status_code(self) -> int:
        """The HTTP status; the official Knock SDK's name for `status`."""
        return self.status

    def _describe(self) -> str:
        text = f"{self.status} {self.code}: {self.message}" if self.code else f"{self.status}: {self.message}"
        return f"{text} (request id {self.request_id})" if self.request_id else text


class RedirectError(APIStatusError):
    """3xx: Knock's API never redirects, so the client follows no redirect (credentials and
    bodies would go to wherever `Location` points); `location` is where it pointed."""

    def __init__(self, message: str, *, location: str | None = None, **kwargs: Any) -> None:
        self.location = location
        super().__init__(message, **kwargs)


class BadRequestError(APIStatusError):
    """400: the request is malformed or its parameters are invalid."""


class AuthenticationError(APIStatusError):
    """401: the API key (or user token) is missing, invalid or expired."""


class PermissionDeniedError(APIStatusError):
    """403: the credentials are valid but may not do this."""


class NotFoundError(APIStatusError):
    """404: the resource (or the route) does not exist."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the resource's current state."""


class UnprocessableEntityError(APIStatusError):
    """422: the request is well-formed but its content was rejected; see `errors`."""


class RateLimitError(APIStatusError):
    """429: too many requests; `retry_after` is Knock's requested wait in seconds, if given."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class ClientRequestError(APIStatusError):
    """A 4xx status without a more specific class (405, 408, 410, 413, ...)."""


class InternalServerError(APIStatusError):
    """5xx: Knock failed to handle the request."""


WebhookRefusal = Literal["malformed_header", "no_signature", "stale", "mismatch", "malformed_body"]


class WebhookSignatureError(KnockError, ValueError):
    """A webhook request was refused; `reason` says why.

    malformed_header: the x-knock-signature value is not `t=<ms>,s=<signature>`;
    no_signature: it carries no signature (or there is no header at all);
    stale: its timestamp is further than the tolerance from now (or in seconds, not milliseconds);
    mismatch: no secret gives its signature (a tampered body, a wrong secret);
    malformed_body: the signature holds but the body is not a Knock event (or, read strictly,
        does not fit the document).
    """

    def __init__(self, reason: WebhookRefusal, message: str) -> None:
        super().__init__(f"Knock webhook refused ({reason}): {message}")
        self.reason: WebhookRefusal = reason
