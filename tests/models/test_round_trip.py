"""Every response example of the document structures into its model and comes back unchanged."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest

from knock_async import models
from knock_async._convert import converter
from tests.helpers import generated_operations, spec_operations, success_content

EXAMPLES = [
    (operation["operationId"], content["example"])
    for _, _, operation in spec_operations()
    if (content := success_content(operation)) is not None
]


def test_every_operation_has_generated_code() -> None:
    assert {op["operationId"] for _, _, op in spec_operations()} == set(generated_operations())


@pytest.mark.parametrize(("operation_id", "example"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_response_example_round_trips(operation_id: str, example: Any) -> None:
    operation = generated_operations()[operation_id]
    original = copy.deepcopy(example)
    parsed = converter.structure(example, operation.response)
    assert converter.unstructure(parsed) == original
    assert example == original, "structuring must not mutate its input"


def _models_in(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [m for item in value for m in _models_in(item)]
    return [value] if hasattr(value, "additional_properties") else []


# Examples that are JSON objects; list results hold the same models as items.
OBJECT_EXAMPLES = [(operation_id, example) for operation_id, example in EXAMPLES if isinstance(example, dict)]


@pytest.mark.parametrize(("operation_id", "example"), OBJECT_EXAMPLES, ids=[e[0] for e in OBJECT_EXAMPLES])
def test_unknown_properties_survive(operation_id: str, example: Any) -> None:
    operation = generated_operations()[operation_id]
    extended = {**copy.deepcopy(example), "a_field_knock_adds_later": {"nested": [1, "two", None]}}
    parsed = converter.structure(extended, operation.response)
    assert parsed.additional_properties["a_field_knock_adds_later"] == {"nested": [1, "two", None]}
    assert converter.unstructure(parsed) == extended


def test_datetimes_are_timezone_aware_and_written_back_in_utc() -> None:
    value = converter.structure("2024-05-02T15:04:05.123456Z", dt.datetime)
    assert value == dt.datetime(2024, 5, 2, 15, 4, 5, 123456, tzinfo=dt.timezone.utc)
    assert converter.unstructure(value) == "2024-05-02T15:04:05.123456Z"
    offset = converter.structure("2024-05-02T17:04:05+02:00", dt.datetime)
    assert converter.unstructure(offset) == "2024-05-02T15:04:05Z"
    with pytest.raises(ValueError, match="naive datetime"):
        converter.unstructure(dt.datetime(2024, 5, 2))


def test_unknown_enum_value_round_trips() -> None:
    status = models.BulkOperationStatus("paused_for_review")
    assert status.value == "paused_for_review"
    assert status == "paused_for_review"
    assert models.BulkOperationStatus("completed") is models.BulkOperationStatus.COMPLETED
