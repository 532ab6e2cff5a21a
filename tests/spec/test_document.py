"""openapi/knock.yaml is a valid document that keeps our own conventions."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
import referencing
import referencing.jsonschema
from openapi_spec_validator import validate

from tests.helpers import resolve, spec, spec_operations, success_content

EXTENSIONS = {
    "x-knock-tier",
    "x-knock-batch-tier",
    "x-knock-pagination",
    "x-knock-bulk",
    "x-knock-limits",
    "x-knock-retention",
    "x-knock-publishable",
    "x-knock-body-map",
}
OPERATIONS = list(spec_operations())
IDS = [op["operationId"] for _, _, op in OPERATIONS]

# Keywords a schema in this document may use; anything else is a typo or a YAML slip
# (an unquoted comma in a flow mapping turns the rest of a description into a key).
SCHEMA_KEYWORDS = {
    "type", "format", "description", "properties", "required", "items", "enum", "const",
    "additionalProperties", "oneOf", "anyOf", "allOf", "$ref", "discriminator", "example",
    "examples", "minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems",
    "pattern", "default", "title", "nullable", "readOnly", "writeOnly", "deprecated",
    "propertyNames", "x-knock-secret", "uniqueItems", "maxProperties", "minProperties", "not",
}  # fmt: skip


def test_document_validates() -> None:
    validate(spec())


def test_operation_ids_are_unique_namespaced_names() -> None:
    assert len(IDS) == len(set(IDS))
    for operation_id in IDS:
        *namespace, method = operation_id.split(".")
        assert namespace, operation_id
        assert all(part.isidentifier() and part.islower() for part in [*namespace, method]), operation_id


@pytest.mark.parametrize(("path", "method", "operation"), OPERATIONS, ids=IDS)
def test_operation_carries_the_facts_the_runtime_needs(
    path: str, method: str, operation: dict[str, Any]
) -> None:
    assert operation.get("tags"), "a tag"
    assert operation.get("summary"), "a summary"
    assert operation.get("x-knock-tier") in {1, 2, 3, 4, 5}
    assert {k for k in operation if k.startswith("x-")} <= EXTENSIONS
    refs = {p.get("$ref") for p in operation.get("parameters", [])}
    if method != "get":
        assert "#/components/parameters/IdempotencyKey" in refs
    pagination = operation.get("x-knock-pagination")
    content = success_content(operation)
    if pagination:
        assert set(pagination) == {"items", "next", "cursor_param"}
        assert content is not None
        page = resolve(content["schema"])
        assert pagination["items"] in page["properties"]
        names = {resolve(p)["name"] for p in operation.get("parameters", [])}
        assert pagination["cursor_param"] in names
    for limit in operation.get("x-knock-limits", []):
        assert set(limit) in ({"field", "max_items"}, {"field", "max_bytes"})
    if operation.get("x-knock-bulk"):
        assert content is not None
        assert content["schema"] == {"$ref": "#/components/schemas/BulkOperation"}


def _schemas(node: Any, where: str) -> list[tuple[str, dict[str, Any]]]:
    """Every schema object below `node` (a schema), with a readable location."""
    found = [(where, node)]
    for key in ("properties",):
        for name, child in node.get(key, {}).items():
            found += _schemas(child, f"{where}.{name}")
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            found += _schemas(node[key], f"{where}[{key}]")
    for key in ("oneOf", "anyOf", "allOf"):
        for index, child in enumerate(node.get(key, [])):
            found += _schemas(child, f"{where}.{key}[{index}]")
    return found


def test_schemas_use_known_keywords_only() -> None:
    unknown = [
        f"{where}: {sorted(set(schema) - SCHEMA_KEYWORDS)}"
        for name, root in spec()["components"]["schemas"].items()
        for where, schema in _schemas(root, name)
        if set(schema) - SCHEMA_KEYWORDS
    ]
    assert not unknown


def _validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    resource = referencing.Resource.from_contents(
        spec(), default_specification=referencing.jsonschema.DRAFT202012
    )
    registry: referencing.Registry[Any] = referencing.Registry().with_resource("urn:knock", resource)
    wrapped = {"$ref": "urn:knock#" + schema["$ref"][1:]} if "$ref" in schema else _rebase(schema)
    return jsonschema.Draft202012Validator(
        wrapped, registry=registry, format_checker=jsonschema.FormatChecker()
    )


def _rebase(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: ("urn:knock" + v if k == "$ref" else _rebase(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_rebase(v) for v in node]
    return node


@pytest.mark.parametrize(("path", "method", "operation"), OPERATIONS, ids=IDS)
def test_every_response_has_an_example_that_validates(
    path: str, method: str, operation: dict[str, Any]
) -> None:
    for code, response in operation["responses"].items():
        content = (resolve(response).get("content") or {}).get("application/json")
        if not content:
            assert str(code) == "204" or not str(code).startswith("2"), f"{code} without content"
            continue
        assert "example" in content, f"{code} has no example"
        errors = sorted(_validator(content["schema"]).iter_errors(content["example"]), key=str)
        assert not errors, [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]]


# The operations of the API reference this project started from (each message status
# counted on its own): the document must keep covering all of them.
SEED_OPERATIONS = {
    "workflows.trigger", "workflows.cancel",
    "messages.list", "messages.get", "messages.list_events", "messages.list_activities",
    "messages.get_content", "messages.batch.get_content", "messages.list_delivery_logs",
    "messages.mark_as_seen", "messages.mark_as_read", "messages.mark_as_interacted", "messages.archive",
    "messages.mark_as_unseen", "messages.mark_as_unread", "messages.unarchive",
    "messages.batch.mark_as_seen", "messages.batch.mark_as_unseen", "messages.batch.mark_as_read",
    "messages.batch.mark_as_unread", "messages.batch.mark_as_interacted", "messages.batch.archive",
    "messages.batch.unarchive", "channels.bulk.update_message_status",
    "users.feeds.list_items",
    "users.update", "users.list", "users.get", "users.list_messages", "users.delete", "users.merge",
    "users.bulk.identify", "users.bulk.delete",
    "objects.list", "objects.get", "objects.list_messages", "objects.set", "objects.delete",
    "objects.bulk.set", "objects.bulk.delete",
    "objects.list_subscriptions", "users.list_subscriptions", "objects.add_subscriptions",
    "objects.bulk.add_subscriptions", "objects.delete_subscriptions",
    "users.list_preferences", "users.get_preferences", "users.set_preferences",
    "objects.list_preferences", "objects.get_preferences", "objects.set_preferences",
    "users.bulk.set_preferences",
    "tenants.list", "tenants.get", "tenants.set", "tenants.delete",
    "schedules.list", "users.list_schedules", "objects.list_schedules", "schedules.create",
    "schedules.update", "schedules.delete",
    "users.get_channel_data", "users.set_channel_data", "users.unset_channel_data",
    "objects.get_channel_data", "objects.set_channel_data", "objects.unset_channel_data",
    "bulk_operations.get",
    "providers.slack.check_auth", "providers.slack.list_channels", "providers.slack.revoke_access",
    "providers.ms_teams.check_auth", "providers.ms_teams.revoke_access",
    "audiences.list_members", "audiences.add_members", "audiences.remove_members",
}  # fmt: skip


def test_every_seed_operation_is_covered() -> None:
    assert len(SEED_OPERATIONS) == 77
    assert not SEED_OPERATIONS - set(IDS)


def test_deprecated_operations_are_the_per_part_preference_updates() -> None:
    """Knock still serves them; each says what to use instead."""
    deprecated = {op["operationId"]: op for _, _, op in OPERATIONS if op.get("deprecated")}
    parts = ("channel_types", "channel_type", "categories", "category", "workflows", "workflow")
    assert set(deprecated) == {
        f"{owner}.set_{part}_preferences" for owner in ("users", "objects") for part in parts
    }
    assert all("set_preferences" in op["description"] for op in deprecated.values())


def test_every_published_operation_is_served() -> None:
    """Knock publishes 118 operations: the document's own, and five routes served twice."""
    from knock_async.testing._routes import TWINS

    assert len(IDS) + len(TWINS) == 118
    assert {operation_id for _, _, operation_id in TWINS} <= set(IDS)
