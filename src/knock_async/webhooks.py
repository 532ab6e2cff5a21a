"""Knock's outbound webhooks: check the signature, then read the event as a typed model.

    from knock_async.webhooks import verify

    event = verify(raw_body, request.headers["x-knock-signature"], secret)
    if isinstance(event, models.MessageWebhookEvent):
        print(event.type, event.data.id, event.data.status)

Knock signs each request with `x-knock-signature: t=<timestamp>,s=<signature>`: the timestamp
in *milliseconds* (Stripe's are seconds), the signature the base64 HMAC-SHA256 of
`"<timestamp>.<raw body>"` keyed with the webhook's secret. `verify` compares in constant time,
refuses requests older than `tolerance` seconds, and accepts several secrets while one is being
rotated. Every refusal is a `WebhookSignatureError` whose text never holds the secret or the
signature. For FastAPI, `Depends(verified_event(secret))` answers 400 to a bad signature.
Events are read tolerantly, as answers are (`_reading.read_response`): what does not fit the
document is kept and reported once, unless `strict`.

This module annotates without `from __future__ import annotations`: FastAPI reads the
dependency's annotations at run time.
"""

import base64
import datetime as dt
import hashlib
import hmac
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeAlias

from . import models
from ._config import strict_by_default
from ._errors import WebhookSignatureError
from ._reading import Misfit, read_response
from ._responses import Unreadable, decode_json

SIGNATURE_HEADER = "x-knock-signature"
EVENT_HEADER = "x-knock-event"
ENVIRONMENT_HEADER = "x-knock-environment-id"
DEFAULT_TOLERANCE = 300.0  # seconds: Knock's docs suggest refusing requests older than five minutes

# A timestamp below this many milliseconds (March 1973) is one written in seconds by mistake.
_SECONDS_NOT_MILLISECONDS = 10**11

WebhookEvent: TypeAlias = models.MessageWebhookEvent | models.GenericWebhookEvent
Secret: TypeAlias = str | bytes | Sequence[str | bytes]


def verify(
    body: bytes | str,
    signature: str | None,
    secret: Secret,
    *,
    tolerance: float | None = DEFAULT_TOLERANCE,
    now: dt.datetime | None = None,
    strict: bool | None = None,
) -> WebhookEvent:
    """The event in `body` (the raw request body, exactly as received), once its signature holds.

    `signature` is the x-knock-signature header's value, `secret` the webhook's secret or a list
    of them (any one may match). `tolerance` is in seconds (None: no age check); `now` is the
    instant to measure the age against (default: the system clock). `strict` is `read_event`'s.
    """
    raw = _body_bytes(body)
    secrets = _secret_list(secret)
    timestamp, signatures = _parse_header(signature)
    if tolerance is not None:
        _check_age(timestamp, tolerance, now)
    if not _matches(raw, timestamp, signatures, secrets):
        raise WebhookSignatureError("mismatch", "the signature does not match the body with any given secret")
    return read_event(raw, strict=strict)


def sign(body: bytes | str, secret: str | bytes, *, at: dt.datetime | None = None) -> str:
    """An x-knock-signature value for `body`, as Knock writes it: for testing your own receiver."""
    timestamp = _milliseconds(at or dt.datetime.now(dt.timezone.utc))
    digest = _digest(_body_bytes(body), timestamp, _secret_bytes(secret))
    return f"t={timestamp},s={digest}"


def read_event(body: bytes | str, *, strict: bool | None = None) -> WebhookEvent:
    """The typed event a (verified) body holds: message events carry a `Message`, the rest
    (and types Knock adds later) keep their data as sent.

    The event is read as the client reads answers: a value that does not fit the document is
    kept as sent and reported once (a logged warning, never the value), so a payload Knock
    changed is still received rather than refused and retried. `strict=True` refuses it
    (`malformed_body`) instead; None: strict when $KNOCK_STRICT_RESPONSES is "1", as the client.
    """
    payload = decode_json(body)
    if isinstance(payload, Unreadable):
        raise WebhookSignatureError("malformed_body", "the body is not JSON")
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        raise WebhookSignatureError("malformed_body", "the body is not an event (an object with a type)")
    model = _model_for(payload["type"])
    strict = strict_by_default() if strict is None else strict
    try:
        event: WebhookEvent = read_response(payload, model, f"webhook {model.__name__}", strict=strict)
    except Misfit as misfit:  # names the place, never the value
        problem = f"the body does not fit {model.__name__}: {misfit}"
    else:
        return event
    raise WebhookSignatureError("malformed_body", problem)


def verified_event(
    secret: Secret | Callable[[], Secret],
    *,
    tolerance: float | None = DEFAULT_TOLERANCE,
    now: Callable[[], dt.datetime] | None = None,
    strict: bool | None = None,
) -> Callable[..., Awaitable[WebhookEvent]]:
    """A FastAPI dependency: `event: WebhookEvent = Depends(verified_event(secret))`.

    It reads the raw body and the x-knock-signature header and answers 400 (with the reason)
    when `verify` refuses them. `secret` may be a function, asked on every request, so a secret
    read from the environment or rotated at run time needs no new app; `now` likewise.
    `strict` is `read_event`'s.
    """
    from fastapi import HTTPException, Request  # FastAPI is the app's dependency, not the SDK's

    if not callable(secret):
        _secret_list(secret)  # a bad secret is refused now, not on the first request

    async def knock_webhook_event(request: Request) -> WebhookEvent:
        current = secret() if callable(secret) else secret
        try:
            return verify(
                await request.body(),
                request.headers.get(SIGNATURE_HEADER),
                current,
                tolerance=tolerance,
                now=now() if now is not None else None,
                strict=strict,
            )
        except WebhookSignatureError as exc:
            raise HTTPException(status_code=400, detail={"reason": exc.reason, "message": str(exc)}) from None

    return knock_webhook_event


# ---------------------------------------------------------------------------- internals


def _model_for(event_type: str) -> type[WebhookEvent]:
    # Every message.* event carries the message, also the ones Knock adds later.
    if event_type.startswith("message."):
        return models.MessageWebhookEvent
    return models.GenericWebhookEvent


def _parse_header(value: str | None) -> tuple[int, list[str]]:
    """(timestamp in ms, signatures) of an x-knock-signature value."""
    if value is not None and not isinstance(value, str):
        raise TypeError(f"the {SIGNATURE_HEADER} value must be a str")
    if value is None or not value.strip():
        raise WebhookSignatureError("no_signature", f"no {SIGNATURE_HEADER} header")
    fields: dict[str, list[str]] = {}
    for part in value.split(","):
        key, equals, field = part.strip().partition("=")
        if not equals:
            raise WebhookSignatureError("malformed_header", "expected t=<milliseconds>,s=<signature>")
        fields.setdefault(key, []).append(field)
    stamps = fields.get("t", [])
    if len(stamps) != 1 or not stamps[0].isascii() or not stamps[0].isdigit():
        raise WebhookSignatureError("malformed_header", "expected one t=<milliseconds since the epoch>")
    signatures = [field for field in fields.get("s", []) if field]
    if not signatures:
        raise WebhookSignatureError("no_signature", "the header has no s=<signature>")
    return int(stamps[0]), signatures


def _check_age(timestamp: int, tolerance: float, now: dt.datetime | None) -> None:
    if tolerance < 0:
        raise ValueError("tolerance must be zero or more seconds, or None")
    if timestamp < _SECONDS_NOT_MILLISECONDS:
        raise WebhookSignatureError("stale", "the timestamp is in seconds; Knock's are in milliseconds")
    current = _milliseconds(now or dt.datetime.now(dt.timezone.utc))
    age = (current - timestamp) / 1000
    if abs(age) > tolerance:
        when = "old" if age > 0 else "in the future"
        raise WebhookSignatureError(
            "stale", f"the timestamp is {abs(age):.0f} s {when} (tolerance {tolerance:g} s)"
        )


def _matches(raw: bytes, timestamp: int, signatures: list[str], secrets: list[bytes]) -> bool:
    # Every pair is compared, in constant time each: how long it takes says nothing of which matched.
    found = False
    for key in secrets:
        expected = _digest(raw, timestamp, key).encode()
        for given in signatures:
            found |= hmac.compare_digest(expected, given.encode("utf-8", "replace"))
    return found


def _digest(raw: bytes, timestamp: int, key: bytes) -> str:
    mac = hmac.new(key, f"{timestamp}.".encode() + raw, hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def _milliseconds(moment: dt.datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("`now` / `at` must be timezone-aware")
    return round(moment.timestamp() * 1000)


def _body_bytes(body: bytes | str) -> bytes:
    if isinstance(body, str):
        return body.encode()
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    raise TypeError(f"the body must be the raw bytes (or str) as received, not {type(body).__name__}")


def _secret_bytes(secret: Any) -> bytes:
    if isinstance(secret, str):
        secret = secret.encode()
    if not isinstance(secret, bytes):
        raise TypeError(f"a webhook secret must be a str or bytes, not {type(secret).__name__}")
    if not secret.strip():
        raise ValueError("a webhook secret must not be empty")
    return secret


def _secret_list(secret: Secret) -> list[bytes]:
    if isinstance(secret, (str, bytes)):
        return [_secret_bytes(secret)]
    if not isinstance(secret, Sequence) or not secret:
        raise ValueError("give a webhook secret, or a non-empty list of them")
    return [_secret_bytes(item) for item in secret]
