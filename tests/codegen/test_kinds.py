"""codegen/kinds.py: the JSON kinds a parameter's schema allows, as the runtime checks them."""

from __future__ import annotations

from typing import Any

import pytest
from codegen.kinds import kind_spec

SPEC: dict[str, Any] = {
    "components": {
        "schemas": {
            "Recipient": {"oneOf": [{"type": "string"}, {"$ref": "#/components/schemas/Inline"}]},
            "Inline": {"type": "object", "properties": {"id": {"type": "string"}}},
            "Mood": {"type": "string", "enum": ["calm", "grumpy"]},
        }
    }
}


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "string", "format": "date-time"}, "string"),
        ({"type": ["object", "null"], "additionalProperties": True}, "object|null"),
        ({"type": "integer", "nullable": True}, "integer|null"),
        ({"type": ["integer", "number"]}, "number"),  # a number takes every integer
        ({"properties": {"a": {"type": "string"}}}, "object"),  # an object without "type"
        ({"$ref": "#/components/schemas/Mood"}, "string"),
        ({"enum": [1, "a", None]}, "string|integer|null"),
        ({"const": True}, "boolean"),
        ({"type": "array", "items": {"$ref": "#/components/schemas/Recipient"}}, "array[string|object]"),
        ({"type": "array", "items": {"type": "array", "items": {"type": "string"}}}, "array[array]"),
        ({"type": "array"}, "array"),  # items of any kind
        ({"anyOf": [{"$ref": "#/components/schemas/Recipient"}, {"type": "null"}]}, "string|object|null"),
        (
            {
                "oneOf": [
                    {"type": "array", "items": {"type": "string"}},
                    {"type": "array", "items": {"type": "integer"}},
                ]
            },
            "array[string|integer]",
        ),
        ({"oneOf": [{"type": "array"}, {"type": "array", "items": {"type": "integer"}}]}, "array"),
    ],
)
def test_the_kind_spec_of_a_schema(schema: dict[str, Any], expected: str) -> None:
    assert kind_spec(SPEC, schema) == expected


@pytest.mark.parametrize(
    "schema",
    [
        {},  # anything
        {"description": "no type"},
        {"anyOf": [{"type": "string"}, {}]},  # one member takes anything
        {"allOf": [{"type": "object"}, {"type": "object"}]},  # intersections are not described
        {"enum": [{"a": 1}]},  # an enum of objects
    ],
)
def test_a_schema_that_does_not_constrain_the_kind_has_no_spec(schema: dict[str, Any]) -> None:
    assert kind_spec(SPEC, schema) is None
