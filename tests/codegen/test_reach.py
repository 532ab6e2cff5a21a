"""What codegen.reach finds in a request body: secrets (Operation.secret_fields, hidden reprs)
and nested lists (Operation.lists)."""

from __future__ import annotations

from typing import Any

from codegen.generate import SPEC
from codegen.reach import holds_secret, list_paths, secret_fields
from codegen.spec import load_spec

from knock_async import models

from .conftest import FIXTURES

SHAPES = load_spec(FIXTURES / "shapes.yaml")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def test_secrets_are_found_through_refs_unions_arrays_and_maps() -> None:
    body = SHAPES["components"]["schemas"]["SetPetRequest"]
    assert secret_fields(SHAPES, body) == {"api_key", "token"}  # owners[] and data / vault
    props = body["properties"]
    assert [name for name, prop in props.items() if holds_secret(SHAPES, prop)] == ["owners", "data", "vault"]
    assert secret_fields(SHAPES, _ref("TreeNode")) == frozenset()  # recursive, and no secret


def test_nested_lists_get_paths_and_a_union_that_also_takes_a_string_does_not() -> None:
    assert list_paths(SHAPES, _ref("SetPetRequest")) == ["owners", "owners[].keys"]
    spec: dict[str, Any] = {
        "components": {
            "schemas": {
                "A": {"properties": {"ids": {"type": "array", "items": {"type": "string"}}}},
                "B": {"properties": {"ids": {"type": "string"}}},
                "Body": {"properties": {"item": {"oneOf": [_ref("A"), _ref("B")]}, "tree": _ref("Node")}},
                "Node": {"properties": {"kids": {"type": "array", "items": _ref("Node")}}},
            }
        }
    }
    # `item.ids` may be a string (B); a recursive schema is walked once
    assert list_paths(spec, _ref("Body")) == ["tree.kids"]


def test_the_knock_document_names_secrets_and_nested_lists() -> None:
    spec = load_spec(SPEC)
    schemas = spec["components"]["schemas"]
    assert secret_fields(spec, schemas["ChannelDataRequest"]) == {"access_token", "token", "tokens", "url"}
    assert "subscriptions[].recipients" in list_paths(spec, schemas["BulkAddSubscriptionsRequest"])


def test_a_model_field_that_can_hold_a_secret_hides_its_value() -> None:
    request = models.ChannelDataRequest(data={"access_token": "xoxb-s3cret"})  # type: ignore[arg-type]
    assert repr(request) == "ChannelDataRequest(data=<hidden>)"
