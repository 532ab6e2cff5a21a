"""`Model.to_dict()` / `to_json()`, and reprs that hide credentials Knock may add later."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import attrs
import pytest

from knock_async import UNSET, drifted, models
from knock_async._convert import converter
from knock_async._reading import Drift, read
from knock_async._types import names_credential
from tests.helpers import generated_operations, spec_operations, success_content

MODEL_EXAMPLES = [
    (tp, content["example"])
    for _, _, operation in spec_operations()
    if (content := success_content(operation)) is not None
    and attrs.has(tp := generated_operations()[operation["operationId"]].response)
]


def _has_unset(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_unset(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_unset(v) for v in value)
    return value is UNSET


def test_to_dict_round_trips_every_example_exactly() -> None:
    assert len(MODEL_EXAMPLES) >= 40
    for tp, example in MODEL_EXAMPLES:
        model = converter.structure(example, tp)
        written = model.to_dict()
        assert converter.structure(written, tp) == model
        assert json.loads(model.to_json()) == written == json.loads(model.to_json(indent=None))
        assert not _has_unset(written)
        # Only the text of date-times may differ ("+02:00" is written in UTC, with a Z).
        assert set(written) == set(example) | ({"__typename"} if "__typename" in written else set())


def test_to_dict_uses_wire_names_includes_extras_and_leaves_unset_out() -> None:
    when = dt.datetime(2024, 5, 2, 17, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    user = models.User(id="u1", updated_at=when, name=None, additional_properties={"plan": "pro"})
    assert user.email is UNSET
    expected = {
        "__typename": "User",
        "id": "u1",
        "updated_at": "2024-05-02T15:04:05Z",
        "name": None,
        "plan": "pro",
    }
    assert user.to_dict() == expected
    assert json.loads(user.to_json()) == expected
    assert user.to_json().startswith('{\n  "')  # indented by default, as knockapi's
    assert "\n" not in user.to_json(indent=None)


def test_a_tolerant_model_writes_what_knock_sent_and_reads_back_the_same() -> None:
    sent = {"__typename": "User", "id": "u1", "updated_at": "last tuesday", "email": 42, "plan": "pro"}
    user = read(sent, models.User, Drift(collect=True))
    assert user.updated_at == "last tuesday" and user.email == 42
    assert user.to_dict() == sent
    assert drifted(user) == ["email", "updated_at"]
    gone = read(
        {"__typename": "User", "updated_at": "2024-05-02T15:04:05Z"}, models.User, Drift(collect=True)
    )
    assert gone.id is UNSET and "id" not in gone.to_dict() and drifted(gone) == ["id"]
    with pytest.raises(TypeError, match="takes a model"):
        drifted([user])


@pytest.mark.parametrize(
    ("name", "hidden"),
    [
        ("refresh_token", True),
        ("access_token", True),
        ("refreshToken", True),
        ("api_key", True),
        ("apiKey", True),
        ("client_secret", True),
        ("password", True),
        ("Authorization", True),
        ("signing-key", True),
        ("webhooksecret", True),
        ("plan", False),
        ("team_name", False),
        ("keyboard_layout", False),
        ("monkey", False),
        ("author", False),
    ],
)
def test_credential_names(name: str, hidden: bool) -> None:
    assert names_credential(name) is hidden


def test_reprs_hide_credentials_knock_adds_in_the_extras() -> None:
    slack = models.SlackChannelData(
        connections=[],
        additional_properties={
            "refresh_token": "xoxe-1-SECRET-REFRESH",
            "bot": {"apiKey": "SECRET-NESTED", "name": "helper"},
            "scopes": [{"client_secret": "SECRET-IN-LIST"}],
            "team": "acme",
        },
    )
    text = repr(slack)
    assert "SECRET" not in text
    assert "'refresh_token': <hidden>" in text and "'team': 'acme'" in text and "'name': 'helper'" in text
    assert slack.additional_properties["refresh_token"] == "xoxe-1-SECRET-REFRESH"  # the data is intact
    assert slack.to_dict()["refresh_token"] == "xoxe-1-SECRET-REFRESH"
