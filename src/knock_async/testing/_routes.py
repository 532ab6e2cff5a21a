"""The route table: one route per generated `Operation`, one handler per operationId.

Routes come from the SDK's generated Operation constants (method, path, tier, limits,
publishable), so the document stays the single source of truth: an operation added to it
becomes a route here at once, answering 501 until a handler is registered for it.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
from multidict import MultiMapping

from knock_async._types import Operation

from ._errors import field_error
from ._idempotency import Reply

if TYPE_CHECKING:
    from ._server import Backend


@attrs.frozen
class Call:
    """One request as a handler sees it."""

    operation: Operation[Any]
    path: Mapping[str, str]
    query: MultiMapping[str]
    body: Any
    backend: Backend

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


Handler = Callable[[Call], Reply]
HANDLERS: dict[str, Handler] = {}


def handles(*operation_ids: str) -> Callable[[Handler], Handler]:
    """Register a handler for one or more operationIds."""

    def register(handler: Handler) -> Handler:
        for operation_id in operation_ids:
            if operation_id in HANDLERS:
                raise RuntimeError(f"two handlers for {operation_id}")
            HANDLERS[operation_id] = handler
        return handler

    return register


def ok(body: object) -> Reply:
    return Reply(200, body)


NO_CONTENT = Reply(204)


# Routes Knock serves besides the document's own, each answering as an operation of it:
# (method, path, operationId). The /v1/notify pair names the workflow in the body.
TWINS = (
    ("POST", "/v1/notify", "workflows.trigger"),
    ("POST", "/v1/notify/cancel", "workflows.cancel"),
    ("DELETE", "/v1/messages/{message_id}/unread", "messages.mark_as_unread"),
    ("DELETE", "/v1/messages/{message_id}/unseen", "messages.mark_as_unseen"),
    ("DELETE", "/v1/messages/{message_id}/unarchived", "messages.unarchive"),
)


def discover_operations() -> list[Operation[Any]]:
    """Every Operation constant of the generated `knock_async.resources` modules."""
    import knock_async.resources as resources

    found: dict[str, Operation[Any]] = {}
    for info in pkgutil.iter_modules(resources.__path__):
        module = importlib.import_module(f"{resources.__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, Operation):
                found[value.id] = value
    return sorted(found.values(), key=lambda op: op.id)


def route_order(operations: Iterable[Operation[Any]]) -> Sequence[Operation[Any]]:
    """Operations in the order to register their routes.

    aiohttp tries routes in registration order, so at each path segment a literal must come
    before a placeholder: /v1/messages/batch/content before /v1/messages/{message_id}/content.
    """

    def specificity(operation: Operation[Any]) -> tuple[tuple[int, ...], str]:
        segments = operation.path.strip("/").split("/")
        return tuple(1 if segment.startswith("{") else 0 for segment in segments), operation.path

    ordered = sorted(operations, key=specificity)
    seen: set[tuple[str, str]] = set()
    for operation in ordered:
        slot = (operation.method, operation.path)
        if slot in seen:
            raise RuntimeError(f"two operations for {operation.method} {operation.path}")
        seen.add(slot)
    return ordered
