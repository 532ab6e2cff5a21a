"""The route table: one route per generated `Operation`, one handler per operationId.

Routes come from the SDK's generated Operation constants (method, path, tier, limits,
publishable), so the document stays the single source of truth: an operation added to it
becomes a route here at once, answering 501 until a handler is registered for it.

A handler registers with what the request path needs to know about its operations: the
access rule a user token must pass (`access=`, for operations a publishable key may call) and
whether an `Idempotency-Key` dedupes it (`idempotent=True`; Knock honours the key only on
workflow triggers).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs

from knock_async._types import Operation

from ._access import Access, no_rule
from ._call import Call
from ._caller import Caller
from ._idempotency import Reply

Handler = Callable[[Call], Reply]


@attrs.frozen
class Route:
    """A handler and what the request path needs to know about the operations it serves."""

    handler: Handler
    access: Access | None = None  # None: a user token reaches nothing here
    idempotent: bool = False  # an Idempotency-Key dedupes it (Knock: only triggers)

    def check_access(self, caller: Caller, call: Call, operation_id: str) -> None:
        """A user token reaches what the access rule allows (403 otherwise); a caller without
        one (a secret key, or no enhanced security) is not checked here."""
        if caller.user is None:
            return
        if self.access is None:
            raise no_rule(operation_id)
        self.access(caller.user, call)


HANDLERS: dict[str, Route] = {}


def handles(
    *operation_ids: str, access: Access | None = None, idempotent: bool = False
) -> Callable[[Handler], Handler]:
    """Register a handler for one or more operationIds, with its access rule."""

    def register(handler: Handler) -> Handler:
        for operation_id in operation_ids:
            if operation_id in HANDLERS:
                raise RuntimeError(f"two handlers for {operation_id}")
            HANDLERS[operation_id] = Route(handler, access, idempotent)
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
