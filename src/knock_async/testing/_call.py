"""One request as a handler (and an access rule) sees it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs
from multidict import MultiMapping

from knock_async._grants import TENANTS_COLLECTION
from knock_async._types import Operation

from ._backend import Backend
from ._caller import Caller
from ._errors import field_error
from ._records import Ref


@attrs.frozen
class Call:
    """One request as a handler sees it."""

    operation: Operation[Any]
    path: Mapping[str, str]
    query: MultiMapping[str]
    body: Any
    backend: Backend
    caller: Caller

    def text(self, name: str) -> str | None:
        return self.query.get(name)

    def texts(self, name: str) -> list[str]:
        return list(self.query.getall(name, []))

    def references(self, name: str) -> list[Any]:
        """The recipients a query array `name` (e.g. "recipients[]") names, in order.

        Each is a user id (`name=u1`), an object as JSON text (`name={"id": ..., "collection": ...}`)
        or an object sent deepObject-style, the way the SDK sends it:
        `name[id]=p1&name[collection]=projects` (a field seen twice starts the next object).
        Values come back as `ref_of` takes them: strings, or dicts.
        """
        found: list[Any] = []
        building: dict[str, str] | None = None
        prefix = f"{name}["
        for key, value in self.query.items():
            if key == name:
                found.append(_parse_reference(value))
                building = None
            elif key.startswith(prefix) and key.endswith("]"):
                field = key[len(prefix) : -1]
                if building is None or field in building:
                    building = {}
                    found.append(building)
                building[field] = value
        return found

    def reference(self, name: str) -> Any:
        """The one recipient a query parameter names (see `references`), or None."""
        found = self.references(name)
        if len(found) > 1:
            raise field_error(name, "names more than one recipient")
        return found[0] if found else None

    def flag(self, name: str) -> bool | None:
        value = self.query.get(name)
        return None if value is None else value.lower() in ("true", "1")

    def json_body(self) -> dict[str, Any]:
        """The body as a JSON object; an absent body counts as `{}`."""
        if self.body is None:
            return {}
        if not isinstance(self.body, dict):
            raise field_error("body", "must be a JSON object")
        return self.body

    def field(self, name: str, kind: type | tuple[type, ...], *, required: bool = True) -> Any:
        body = self.json_body()
        value = body.get(name)
        if value is None:
            if required:
                raise field_error(name, "is required", "required")
            return None
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
            raise field_error(name, "has the wrong type", "type")
        return value

    def token_object(self, param: str) -> Ref:
        """The object (a tenant unless a collection is given) a provider call names in its JSON
        query parameter `param`, e.g. `access_token_object={"object_id": "acme"}`."""
        raw = self.text(param)
        try:
            named = json.loads(raw) if raw is not None else None
        except ValueError:
            named = None
        if not isinstance(named, Mapping) or not isinstance(named.get("object_id"), str):
            raise field_error(param, 'must be JSON like {"object_id": "...", "collection": "..."}')
        return (str(named.get("collection") or TENANTS_COLLECTION), named["object_id"])


def _parse_reference(text: str) -> Any:
    """A recipient as one query value: a user id, or an object reference as JSON text."""
    if text.startswith("{"):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)
