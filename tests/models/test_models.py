"""How the generated models behave: wire names, unions, unknown values, secrets."""

from __future__ import annotations

import datetime as dt

import attrs

from knock_async import UNSET, models
from knock_async._convert import converter

UPDATED = "2024-05-02T15:04:05Z"


def test_wire_names_are_python_names_and_written_back() -> None:
    user = converter.structure({"__typename": "User", "id": "u1", "updated_at": UPDATED}, models.User)
    assert user.typename == "User"
    assert user.updated_at == dt.datetime(2024, 5, 2, 15, 4, 5, tzinfo=dt.timezone.utc)
    assert converter.unstructure(user)["__typename"] == "User"


def test_custom_properties_are_kept_and_absent_fields_stay_absent() -> None:
    payload = {
        "__typename": "User",
        "id": "u1",
        "updated_at": UPDATED,
        "plan": "pro",
        "seats": 3,
    }
    user = converter.structure(payload, models.User)
    assert user.additional_properties == {"plan": "pro", "seats": 3}
    assert user.email is UNSET
    assert converter.unstructure(user) == payload


def test_explicit_null_is_not_confused_with_absent() -> None:
    payload = {"__typename": "User", "id": "u1", "updated_at": UPDATED, "email": None}
    user = converter.structure(payload, models.User)
    assert user.email is None
    assert converter.unstructure(user) == payload


def test_recipient_union_picks_user_or_object() -> None:
    user = {"__typename": "User", "id": "u1", "updated_at": UPDATED}
    obj = {"__typename": "Object", "id": "p1", "collection": "projects", "updated_at": UPDATED}
    structured = converter.structure([user, obj], list[models.Recipient])
    assert [type(r) for r in structured] == [models.User, models.Object]


def test_request_recipients_accept_ids_and_inline_identifications() -> None:
    recipients = ["u1", {"id": "u2", "email": "ada@example.com"}, {"id": "p1", "collection": "projects"}]
    structured = converter.structure(recipients, list[models.RecipientRequest])
    assert structured[0] == "u1"
    assert isinstance(structured[1], models.InlineIdentifyUserRequest)
    assert isinstance(structured[2], models.InlineObjectRequest)
    assert converter.unstructure(structured) == recipients


def test_message_content_data_follows_its_typename() -> None:
    sms = {"__typename": "MessageSmsContent", "to": "+15555550100", "body": "Hi"}
    content = converter.structure(sms, models.MessageSmsContent)
    assert converter.unstructure(content) == sms
    field = attrs.fields_dict(models.MessageContent)["data"]
    parsed = converter.structure(
        sms, field.type if not isinstance(field.type, str) else eval(field.type, vars(models))
    )
    assert isinstance(parsed, models.MessageSmsContent)


def test_unknown_enum_values_are_kept() -> None:
    payload = {
        "__typename": "BulkOperation",
        "id": "b1",
        "name": "users.identify",
        "status": "archived_by_ops",
        "estimated_total_rows": 1,
        "processed_rows": 0,
        "success_count": 0,
        "progress_path": "/v1/bulk_operations/b1",
        "inserted_at": "2024-05-02T15:04:05Z",
        "updated_at": UPDATED,
    }
    operation = converter.structure(payload, models.BulkOperation)
    assert operation.status.value == "archived_by_ops"
    assert converter.unstructure(operation)["status"] == "archived_by_ops"


def test_credentials_stay_out_of_reprs() -> None:
    connection = models.SlackTokenConnection(access_token="xoxb-secret-token", channel_id="C1")
    assert "xoxb-secret-token" not in repr(connection)
    assert "C1" in repr(connection)
    webhook = models.ChatIncomingWebhook(url="https://hooks.slack.com/services/T0/B0/secret")
    assert "secret" not in repr(webhook)
