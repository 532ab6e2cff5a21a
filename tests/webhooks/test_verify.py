"""knock_async.webhooks.verify against signatures made with the standard library alone."""

from __future__ import annotations

import datetime as dt
import json
import traceback
from typing import Any

import pytest

from knock_async import KnockError, drifted, models
from knock_async import WebhookSignatureError as ExportedError
from knock_async.webhooks import WebhookSignatureError, read_event, sign, verify
from tests.helpers import spec
from tests.webhooks.support import knock_signature, signature_holds

SECRET = "whsec_test_5f3c9a"
NOW = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
NOW_MS = int(NOW.timestamp() * 1000)


def _example(event_type: str) -> dict[str, Any]:
    example: dict[str, Any] = spec()["webhooks"][event_type]["post"]["requestBody"]["content"][
        "application/json"
    ]["example"]
    return example


BODY = json.dumps(_example("message.read")).encode()


def refusal(
    body: bytes | str, header: str | None, secret: Any = SECRET, **options: Any
) -> WebhookSignatureError:
    options.setdefault("now", NOW)
    with pytest.raises(WebhookSignatureError) as refused:
        verify(body, header, secret, **options)
    return refused.value


def test_a_body_signed_as_knock_signs_verifies_into_the_typed_event() -> None:
    event = verify(BODY, knock_signature(BODY, SECRET, NOW_MS), SECRET, now=NOW)
    assert isinstance(event, models.MessageWebhookEvent)
    assert event.type == "message.read" and event.type is models.MessageEventType.MESSAGE_READ
    assert event.created_at == dt.datetime(2024, 5, 2, 15, 21, 30, 123456, tzinfo=dt.timezone.utc)
    assert isinstance(event.data, models.Message)
    assert event.data.id == "2fYtA1bC2dE3fG4hI5jK6lM7nO8" and event.data.workflow == "new-comment"
    assert event.event_data is None


def test_str_bodies_and_bytes_secrets_verify_too() -> None:
    text = BODY.decode()
    assert (
        verify(text, knock_signature(BODY, SECRET, NOW_MS), SECRET.encode(), now=NOW).type == "message.read"
    )


def test_what_sign_writes_verifies_by_hand() -> None:
    header = sign(BODY, SECRET, at=NOW)
    assert header.startswith(f"t={NOW_MS},s=")
    assert signature_holds(BODY, header, SECRET)


def test_any_of_several_secrets_verifies_while_a_secret_is_rotated() -> None:
    header = knock_signature(BODY, "whsec_new", NOW_MS)
    assert verify(BODY, header, ["whsec_old", "whsec_new"], now=NOW).type == "message.read"
    assert refusal(BODY, header, ["whsec_old", "whsec_older"]).reason == "mismatch"


def test_a_tampered_body_is_refused() -> None:
    header = knock_signature(BODY, SECRET, NOW_MS)
    tampered = BODY.replace(b"new-comment", b"new-commenT")
    assert refusal(tampered, header).reason == "mismatch"
    # Re-serialising the JSON (other spacing) is a different body: verify the raw bytes.
    assert refusal(json.dumps(json.loads(BODY), indent=1), header).reason == "mismatch"


def test_a_wrong_secret_is_refused() -> None:
    assert refusal(BODY, knock_signature(BODY, SECRET, NOW_MS), "whsec_other").reason == "mismatch"


def test_a_signature_for_another_timestamp_is_refused() -> None:
    header = knock_signature(BODY, SECRET, NOW_MS).replace(f"t={NOW_MS}", f"t={NOW_MS + 1}")
    assert refusal(BODY, header).reason == "mismatch"


def test_stale_and_future_timestamps_are_refused_within_the_tolerance_only() -> None:
    old = NOW_MS - 301_000
    assert refusal(BODY, knock_signature(BODY, SECRET, old)).reason == "stale"
    assert refusal(BODY, knock_signature(BODY, SECRET, NOW_MS + 301_000)).reason == "stale"
    assert verify(BODY, knock_signature(BODY, SECRET, NOW_MS - 299_000), SECRET, now=NOW)
    assert verify(BODY, knock_signature(BODY, SECRET, old), SECRET, now=NOW, tolerance=600)
    assert verify(BODY, knock_signature(BODY, SECRET, old), SECRET, now=NOW, tolerance=None)
    assert refusal(BODY, knock_signature(BODY, SECRET, NOW_MS - 2_000), tolerance=1).reason == "stale"


def test_a_timestamp_in_seconds_is_refused_with_a_message_that_says_so() -> None:
    seconds = NOW_MS // 1000
    error = refusal(BODY, knock_signature(BODY, SECRET, seconds))
    assert error.reason == "stale" and "milliseconds" in str(error)


def test_the_age_is_measured_against_the_system_clock_by_default() -> None:
    now_ms = int(dt.datetime.now(dt.timezone.utc).timestamp() * 1000)
    assert verify(BODY, knock_signature(BODY, SECRET, now_ms), SECRET).type == "message.read"
    with pytest.raises(WebhookSignatureError, match="stale"):
        verify(BODY, knock_signature(BODY, SECRET, NOW_MS - 3_600_000), SECRET)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "no_signature"),
        ("", "no_signature"),
        ("   ", "no_signature"),
        (f"t={NOW_MS}", "no_signature"),
        (f"t={NOW_MS},s=", "no_signature"),
        ("s=abc", "malformed_header"),
        (f"t={NOW_MS};s=abc", "malformed_header"),
        ("t=,s=abc", "malformed_header"),
        ("t=12.5,s=abc", "malformed_header"),
        ("t=-1700000000000,s=abc", "malformed_header"),
        ("t=\uff11\uff17,s=abc", "malformed_header"),  # full-width digits: isdigit() but not ASCII
        (f"t={NOW_MS},t={NOW_MS},s=abc", "malformed_header"),
        ("garbage", "malformed_header"),
        (f"t={NOW_MS},s=not-the-signature", "mismatch"),
        (f"t={NOW_MS},s=ünïcode", "mismatch"),
    ],
)
def test_malformed_and_missing_parts_are_refused(header: str | None, reason: str) -> None:
    assert refusal(BODY, header).reason == reason


def test_refusals_never_show_the_secret_or_the_signature() -> None:
    good = knock_signature(BODY, SECRET, NOW_MS)
    signature = good.split("s=", 1)[1]
    for error in (
        refusal(BODY + b" ", good),
        refusal(BODY, knock_signature(BODY, SECRET, NOW_MS - 10**6)),
        refusal(BODY, good, "whsec_wrong_one"),
        refusal(b"not json", knock_signature(b"not json", SECRET, NOW_MS)),
    ):
        shown = "".join(traceback.format_exception(error)) + repr(error.args)
        assert SECRET not in shown and "whsec_wrong_one" not in shown and signature not in shown
        assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)


def test_a_verified_body_that_is_no_event_is_refused_as_malformed() -> None:
    for body in (b"not json", b"[1, 2]", b'{"data": {}}', b'{"type": 7}'):
        for strict in (False, True):
            error = refusal(body, knock_signature(body, SECRET, NOW_MS), strict=strict)
            assert error.reason == "malformed_body", body


def _drifted_body() -> bytes:
    """A message.read event as a changed Knock might send it: `data.status` now an object."""
    event = _example("message.read")
    event["data"]["status"] = {"state": "read", "secret_hint": "sk_live_leaked"}
    return json.dumps(event).encode()


def test_a_drifted_event_is_received_tolerantly_and_reported_once(caplog: pytest.LogCaptureFixture) -> None:
    body = _drifted_body()
    header = knock_signature(body, SECRET, NOW_MS)
    with caplog.at_level("WARNING", logger="knock_async"):
        first = verify(body, header, SECRET, now=NOW, strict=False)
        again = verify(body, header, SECRET, now=NOW, strict=False)
    assert isinstance(first, models.MessageWebhookEvent) and first == again
    assert first.data.status == {"state": "read", "secret_hint": "sk_live_leaked"}  # kept as sent
    assert first.data.id == "2fYtA1bC2dE3fG4hI5jK6lM7nO8"  # what fits is typed as usual
    assert drifted(first) == ["data.status"]
    reports = [r.getMessage() for r in caplog.records if "data.status" in r.getMessage()]
    assert len(reports) == 1  # once per process (no other test drifts at this place)
    assert "webhook MessageWebhookEvent" in reports[0] and "got object" in reports[0]
    assert "sk_live_leaked" not in caplog.text


def test_a_drifted_event_is_refused_when_read_strictly() -> None:
    body = _drifted_body()
    error = refusal(body, knock_signature(body, SECRET, NOW_MS), strict=True)
    assert error.reason == "malformed_body"
    assert "data.status" in str(error) and "sk_live_leaked" not in str(error)
    assert error.__cause__ is None and error.__suppress_context__ is False and error.__context__ is None


def test_unknown_event_types_are_kept_not_refused() -> None:
    later = {"type": "guide.published", "created_at": "2026-03-01T12:00:00Z", "data": {"key": "g"}, "x": 1}
    event = read_event(json.dumps(later))
    assert isinstance(event, models.GenericWebhookEvent)
    assert (event.type, event.data, event.additional_properties) == (
        "guide.published",
        {"key": "g"},
        {"x": 1},
    )
    message_event = {**_example("message.sent"), "type": "message.complaint"}
    complaint = read_event(json.dumps(message_event))
    assert isinstance(complaint, models.MessageWebhookEvent)
    assert complaint.type.value == "message.complaint" and complaint.data.status == "sent"


def test_event_data_is_typed() -> None:
    event = read_event(json.dumps(_example("message.delivery_attempted")))
    assert isinstance(event, models.MessageWebhookEvent) and isinstance(
        event.event_data, models.WebhookEventData
    )
    assert (event.event_data.attempt, event.event_data.max_attempts, event.event_data.retryable) == (
        2,
        8,
        True,
    )
    clicked = read_event(json.dumps(_example("message.link_clicked")))
    assert isinstance(clicked.event_data, models.WebhookEventData)
    assert clicked.event_data.url == "https://app.example.com/comments/c_42"


BAD_SECRETS = [
    ("", ValueError), ("  ", ValueError), ([], ValueError), ([SECRET, ""], ValueError),
    (None, ValueError), (42, ValueError), ([42], TypeError),
]  # fmt: skip


@pytest.mark.parametrize(("secret", "error"), BAD_SECRETS)
def test_bad_secrets_are_refused_before_anything_is_checked(secret: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        verify(BODY, knock_signature(BODY, SECRET, NOW_MS), secret, now=NOW)


def test_bad_arguments_are_refused_clearly() -> None:
    header = knock_signature(BODY, SECRET, NOW_MS)
    with pytest.raises(TypeError, match="raw bytes"):
        verify(json.loads(BODY), header, SECRET, now=NOW)
    with pytest.raises(ValueError, match="tolerance"):
        verify(BODY, header, SECRET, now=NOW, tolerance=-1)
    with pytest.raises(ValueError, match="timezone-aware"):
        verify(BODY, header, SECRET, now=dt.datetime(2026, 3, 1))


def test_the_refusal_is_one_class_in_the_error_hierarchy() -> None:
    assert ExportedError is WebhookSignatureError
    assert issubclass(WebhookSignatureError, KnockError) and issubclass(WebhookSignatureError, ValueError)
    assert WebhookSignatureError.__module__ == "knock_async"
