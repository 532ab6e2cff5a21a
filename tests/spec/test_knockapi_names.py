"""A method both SDKs have sends what knockapi's method of the same name sends.

A knockapi user should only need to add `await` and change the import. For every method of
the pinned knockapi release (a dev dependency, read with `ast` by `knockapi_surface`), our
method of the same dotted name must exist and send the same HTTP method to the same path
template, with the same positional parameters in the same order, and give `None` where
knockapi's gives `None`.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import pytest

from knock_async import AsyncKnock
from tests.helpers import SPEC_PATH, generated_operations, resolve, spec_operations
from tests.spec.knockapi_surface import Route, knockapi_routes, knockapi_version

# The latest knockapi release (pip index versions knockapi), pinned in the dev group.
KNOCKAPI_RELEASE = "1.33.0"
KNOCKAPI = knockapi_routes()
# knockapi operations the document does not have (yet).
NOT_IN_DOCUMENT: set[str] = set()
# knockapi keywords that knock-async takes differently, as the README's "Coming from knockapi"
# table says: one keyword per bound (`inserted_at_gt=...`), one per query option
# (`query_options_limit=...`).
SPLIT_KEYWORDS = {"inserted_at", "query_options"}
# knockapi keywords the document does not have yet: (method, keyword).
KEYWORDS_NOT_IN_DOCUMENT = {("users.list", "order")}


def _our_method(knock: AsyncKnock, name: str) -> Any:
    target: Any = knock
    for part in name.split("."):
        target = getattr(target, part)
    return target


def _positional(method: Any) -> tuple[str, ...]:
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return tuple(p.name for p in inspect.signature(method).parameters.values() if p.kind in kinds)


def _ours(name: str) -> Route:
    """What our generated method `name` sends, from its Operation and its signature."""
    operation = generated_operations()[name]
    method = _our_method(AsyncKnock("sk_test", base_url="http://127.0.0.1:9"), name)
    positional = _positional(method)
    return Route(operation.method.upper(), operation.path, positional, operation.response is None)


def test_the_installed_knockapi_is_the_pinned_release() -> None:
    assert knockapi_version() == KNOCKAPI_RELEASE
    # Guards the reader: a knockapi layout it cannot follow must not leave nothing to compare.
    assert len(KNOCKAPI) >= 95 and "users.guides.mark_message_as_seen" in KNOCKAPI
    assert KNOCKAPI["users.delete"].returns_none and not KNOCKAPI["users.get"].returns_none


@pytest.mark.parametrize("name", sorted(set(KNOCKAPI) - NOT_IN_DOCUMENT))
def test_each_knockapi_method_sends_the_same_request_here(name: str) -> None:
    assert name in generated_operations(), f"knockapi's {name} is missing"
    assert _ours(name) == KNOCKAPI[name]


@pytest.mark.parametrize("name", sorted(set(KNOCKAPI) - NOT_IN_DOCUMENT))
def test_each_knockapi_keyword_is_a_keyword_here(name: str) -> None:
    ours = inspect.signature(_our_method(AsyncKnock("sk_test", base_url="http://127.0.0.1:9"), name))
    keyword_only = {p.name for p in ours.parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    missing = set()
    for keyword in KNOCKAPI[name].keywords:
        split = keyword in SPLIT_KEYWORDS and any(k.startswith(f"{keyword}_") for k in keyword_only)
        if keyword not in keyword_only and not split and (name, keyword) not in KEYWORDS_NOT_IN_DOCUMENT:
            missing.add(keyword)
    assert missing == set()


def test_the_listed_keyword_gaps_are_still_gaps() -> None:
    # An entry that the document has since gained must leave the list.
    for name, keyword in KEYWORDS_NOT_IN_DOCUMENT:
        assert keyword in KNOCKAPI[name].keywords
        assert keyword not in inspect.signature(_our_method(AsyncKnock("sk_x"), name)).parameters


def test_only_the_listed_knockapi_operations_are_missing() -> None:
    assert set(KNOCKAPI) >= NOT_IN_DOCUMENT
    assert not NOT_IN_DOCUMENT & set(generated_operations())


def test_the_other_guide_forms_keep_names_of_their_own() -> None:
    # The per-message routes knockapi does not have stay reachable under their own names.
    for engagement in ("seen", "interacted", "archived"):
        route = _ours(f"users.guides.mark_message_as_{engagement}_by_id")
        path = f"/v1/users/{{user_id}}/guides/messages/{{message_id}}/{engagement}"
        assert route == Route("PUT", path, ("user_id", "message_id"), returns_none=False)


def test_positional_parameters_follow_the_path_placeholders() -> None:
    # Positional parameters follow the path's placeholders, so a path's order is the call's.
    for path, _, op in spec_operations():
        assert _ours(op["operationId"]).positional == tuple(re.findall(r"\{([^}]+)\}", path))


def _inputs(path: str, method: str) -> set[str]:
    op = next(op for p, m, op in spec_operations() if (p, m) == (path, method))
    params = {resolve(p)["name"] for p in op.get("parameters", [])}
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    return params | set(resolve(body).get("properties", {}) if body else ())


def test_inputs_knock_does_not_publish_are_absent() -> None:
    # Neither Knock's API reference nor knockapi has these; the document once did.
    assert not {"page_size", "after", "before"} & _inputs("/v1/audiences/{key}/members", "get")
    assert "tenant" not in _inputs("/v1/objects/{collection}/{object_id}/preferences/{id}", "get")
    assert "preferences" not in _inputs("/v1/tenants/{id}", "put")
    assert "recipient_gids" not in _inputs("/v1/channels/{channel_id}/messages/bulk/{action}", "post")


def _namespaces(names: set[str]) -> set[str]:
    return {name.rsplit(".", 1)[0] for name in names if "." in name}


def test_the_readme_lists_every_namespace_and_each_is_knockapis() -> None:
    readme = (SPEC_PATH.parent.parent / "README.md").read_text()
    start, end = readme.index("Every namespace of the API hangs off"), readme.index("Path parameters are")
    listing = readme[start:end]
    listed = set(re.findall(r"`([\w.]+)`", listing)) - {"knockapi"}
    assert listed == _namespaces(set(generated_operations()))
    assert listed <= _namespaces(set(KNOCKAPI))  # e.g. users.preference_center is knockapi's too
