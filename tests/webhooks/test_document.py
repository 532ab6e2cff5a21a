"""The webhooks of openapi/knock.yaml: every event Knock documents is there, and each example
validates against its schema and round-trips through the generated model."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from knock_async import models
from knock_async._convert import converter
from knock_async.webhooks import read_event
from tests.helpers import resolve, spec
from tests.spec.test_document import _validator

# Knock's documented outbound webhook events (docs.knock.app, "Outbound webhooks: event types").
MESSAGE_EVENTS = {
    "message.sent", "message.delivered", "message.delivery_attempted", "message.undelivered",
    "message.bounced", "message.seen", "message.unseen", "message.read", "message.unread",
    "message.archived", "message.unarchived", "message.interacted", "message.link_clicked",
}  # fmt: skip
OTHER_EVENTS = {
    "workflow.updated", "workflow.committed", "email_layout.updated", "email_layout.committed",
    "translation.updated", "translation.committed",
}  # fmt: skip


def _bodies() -> list[tuple[str, dict[str, Any]]]:
    return [
        (name, item["post"]["requestBody"]["content"]["application/json"])
        for name, item in spec()["webhooks"].items()
    ]


BODIES = _bodies()


def test_every_documented_event_type_is_described() -> None:
    assert {name for name, _ in BODIES} == MESSAGE_EVENTS | OTHER_EVENTS
    message_types = set(resolve({"$ref": "#/components/schemas/MessageEventType"})["enum"])
    assert message_types >= MESSAGE_EVENTS


@pytest.mark.parametrize(("name", "content"), BODIES, ids=[name for name, _ in BODIES])
def test_each_example_validates_and_round_trips(name: str, content: dict[str, Any]) -> None:
    example = content["example"]
    assert example["type"] == name
    errors = sorted(_validator(content["schema"]).iter_errors(example), key=str)
    assert not errors, [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]]
    model = models.MessageWebhookEvent if name in MESSAGE_EVENTS else models.GenericWebhookEvent
    assert content["schema"] == {"$ref": f"#/components/schemas/{model.__name__}"}
    original = copy.deepcopy(example)
    parsed = converter.structure(example, model)
    assert converter.unstructure(parsed) == original and example == original

    assert type(read_event(json.dumps(example))) is model
