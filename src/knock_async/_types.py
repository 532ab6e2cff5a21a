"""The small vocabulary shared by the generated code and the runtime.

Generated resource methods describe each call with an `Operation` (made once, at import)
and hand it to the transport; the runtime never imports generated modules.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import Any, Final, Generic, TypeVar

import attrs

T = TypeVar("T")


class Unset(enum.Enum):
    """The type of `UNSET`: "not given", as opposed to an explicit `None` (JSON null)."""

    UNSET = "UNSET"

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset.UNSET


class OpenEnum(str, enum.Enum):
    """A string enum that accepts values it does not know yet.

    Knock adds enum values over time; an unknown value becomes a pseudo-member whose
    `.value` is the exact string received, so it round-trips unchanged.
    """

    @classmethod
    def _missing_(cls, value: object) -> OpenEnum | None:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return member


@attrs.frozen
class Limit:
    """A payload limit checked before sending (from `x-knock-limits`).

    `field` is a path into the JSON body: "a.b" steps into an object, "a[].b" into every
    element of the list `a`.
    """

    field: str
    max_items: int | None = None
    max_bytes: int | None = None


@attrs.frozen
class Pagination:
    """Where a cursor-paginated response keeps its items and its next cursor."""

    items: str  # Python attribute on the response model that holds the page's items
    next: str  # dotted Python attribute path to the next cursor, e.g. "page_info.after"
    cursor_param: str  # query parameter (wire name) that takes the cursor


@attrs.frozen
class Deferred:
    """A type looked up on first use: `Deferred(lambda: models.User)`.

    Generated operations name their response models this way, so that importing
    `knock_async` does not build every model class (see `knock_async.models`).
    """

    lookup: Callable[[], Any]


@attrs.frozen
class Operation(Generic[T]):
    """Everything the runtime needs to know about one API operation."""

    id: str  # the operationId, e.g. "users.identify"
    method: str
    path: str  # template with {name} placeholders, e.g. "/v1/users/{user_id}"
    tier: int
    # The type the 2xx JSON body is structured into (None: no body), or a `Deferred` one;
    # read it through `response`. Not compared: resolving it must not change equality or hash.
    response_type: Any = attrs.field(default=None, alias="response", eq=False)
    batch_tier: int | None = None
    pagination: Pagination | None = None
    bulk: bool = False
    limits: tuple[Limit, ...] = ()
    publishable: bool = False
    # Query and body parameters (wire names) that take a list: a lone string there would be
    # sent as it is (mypy accepts it, `str` being a Sequence), so the transport refuses it.
    lists: frozenset[str] = frozenset()

    @property
    def response(self) -> Any:
        """The type the 2xx JSON body is structured into; None: no body."""
        if type(self.response_type) is Deferred:
            # Looked up once, then kept in its place.
            object.__setattr__(self, "response_type", self.response_type.lookup())
        return self.response_type


@attrs.frozen
class RequestOptions:
    """Per-call overrides; every generated method accepts `options=`."""

    idempotency_key: str | None = None
    timeout: float | None = None  # total seconds for this call, retries included
    max_retries: int | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict)
