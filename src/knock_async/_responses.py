"""Reading Knock's answers: a JSON body (or why it is unreadable), a non-2xx response as the
matching `APIStatusError` (secrets redacted), and Retry-After.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import enum
import time
from collections.abc import Iterable, Mapping
from typing import Any, Final

from ._errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ClientRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RedirectError,
    UnprocessableEntityError,
)
from ._headers import header
from ._redact import redact, redact_json
from ._wire import loads

MESSAGE_TEXT_LIMIT: Final = 300  # characters of a non-JSON error body kept in the message

_STATUS_ERRORS: Final[dict[int, type[APIStatusError]]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def error_class_for(status: int) -> type[APIStatusError]:
    specific = _STATUS_ERRORS.get(status)
    if specific is not None:
        return specific
    if 300 <= status < 400:
        return RedirectError
    if 400 <= status < 500:
        return ClientRequestError
    if status >= 500:
        return InternalServerError
    return APIStatusError


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date; None if absent/unparsable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # HTTP dates are GMT by definition
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class Unreadable(enum.Enum):
    NOT_JSON = "not JSON"
    TOO_DEEP = "JSON nested too deeply to read"


def decode_json(raw: bytes | str) -> Any:
    """The JSON reader of `_convert` (orjson with the `fast` extra), with a body that is not
    JSON or nests too deep as an `Unreadable` marker."""
    try:
        return loads(raw.encode() if isinstance(raw, str) else raw)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError both are ValueErrors
        return Unreadable.NOT_JSON
    except RecursionError:  # a body nested 100 000 levels deep must not escape as a bare error
        return Unreadable.TOO_DEEP


def error_from_response(
    status: int,
    headers: Mapping[str, str],
    raw: bytes,
    *,
    secrets: Iterable[str | None] = (),
) -> APIStatusError:
    """The exception for a non-2xx response; secrets echoed back in the body are redacted."""
    secrets = tuple(secrets)
    text = raw.decode("utf-8", errors="replace")
    decoded = decode_json(text) if text.strip() else None
    body: Any = redact_json(decoded, secrets) if not isinstance(decoded, Unreadable) else None
    code: str | None = None
    kind: str | None = None
    errors: list[Any] = []
    message: str | None = None
    if decoded is Unreadable.NOT_JSON:  # a proxy's HTML page, say: keep the text
        body = redact(text, secrets)
        message = " ".join(body.split())[:MESSAGE_TEXT_LIMIT]
    elif decoded is Unreadable.TOO_DEEP:
        message = f"the error body could not be read: {decoded.value}"
    elif isinstance(body, dict):
        code = _str_or_none(body.get("code"))
        kind = _str_or_none(body.get("type"))
        message = _str_or_none(body.get("message"))
        listed = body.get("errors")
        if isinstance(listed, list):
            errors = listed
        elif isinstance(listed, dict) and message is None:
            # An unrouted path answers {"errors": {"detail": "404 Not Found"}} instead.
            message = _str_or_none(listed.get("detail"))
    if not message:
        message = "Knock returned an error without a message"
    cls = error_class_for(status)
    fields: dict[str, Any] = {"status": status, "code": code, "type": kind, "errors": errors}
    fields.update(headers=headers, body=body)
    if cls is RateLimitError:
        return RateLimitError(
            message, retry_after=parse_retry_after(header(headers, "Retry-After")), **fields
        )
    if cls is RedirectError:
        location = header(headers, "Location")
        where = redact(location, secrets) if location is not None else None
        message = f"Knock answered {status} redirecting to {where!r}; redirects are never followed"
        return RedirectError(message, location=where, **fields)
    return cls(message, **fields)


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
