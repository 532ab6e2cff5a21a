"""The small vocabulary shared by the generated code and the runtime.

Generated resource methods describe each call with an `Operation` (made once, at import)
and hand it to the transport; the runtime never imports generated modules.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable, Mapping
from typing import Any, Final, Generic, TypeAlias, TypeVar

import attrs

from ._headers import header_names

T = TypeVar("T")


class Unset(enum.Enum):
    """The type of `UNSET`: "not given", as opposed to an explicit `None` (JSON null)."""

    UNSET = "UNSET"

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset.UNSET

Nullable: TypeAlias = T | Unset | None
"""`Nullable[str]` reads `str | None | Unset`: a value, an explicit null, or not given (UNSET)."""


# Words of a property name that say its value is a credential (`refresh_token`, `apiKey`,
# `client-secret`, ...): in the extras of a model, whose keys the document does not declare,
# their values are hidden from reprs as declared secret fields are.
_CREDENTIAL_WORDS = frozenset(
    {"token", "tokens", "secret", "secrets", "password", "passwd", "pwd", "key", "keys", "apikey",
     "credential", "credentials", "authorization", "auth", "cookie", "signature", "jwt", "bearer"}
)  # fmt: skip
_CREDENTIAL_PARTS = ("token", "secret", "password", "credential")  # also inside a word: "refreshtoken"


def names_credential(name: str) -> bool:
    """Whether a property name names a credential (see `_CREDENTIAL_WORDS`)."""
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()
    return any(part in words for part in _CREDENTIAL_PARTS) or bool(
        _CREDENTIAL_WORDS.intersection(re.split(r"[^a-z0-9]+", words))
    )


def hide_credentials(value: Any) -> Any:
    """`value` (JSON) with the values of credential-named keys, at any depth, as `<hidden>`."""
    if isinstance(value, dict):
        return {k: _HIDDEN if names_credential(str(k)) else hide_credentials(v) for k, v in value.items()}
    if isinstance(value, list):
        return [hide_credentials(item) for item in value]
    return value


class _Hidden:
    def __repr__(self) -> str:
        return "<hidden>"


_HIDDEN: Final = _Hidden()


class Model:
    """The base of every generated model: a repr a reader can scan, and `to_dict`/`to_json`.

    Fields left `UNSET` (and empty extras) are left out of the repr; fields that may hold a
    credential (`x-knock-secret`, or a type that can contain one), and the values of
    undeclared keys named like one (`refresh_token`, `api_key`...), show `<hidden>`.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        shown = []
        for field in attrs.fields(type(self)):  # type: ignore[arg-type]  # subclasses are attrs classes
            value = getattr(self, field.name)
            if value is UNSET or (isinstance(field.default, attrs.Factory) and not value):  # type: ignore[arg-type]
                continue
            if field.name == "additional_properties":
                value = hide_credentials(value)
            shown.append(f"{field.name}={value!r}" if field.repr else f"{field.name}=<hidden>")
        return f"{type(self).__name__}({', '.join(shown)})"

    def to_dict(self) -> dict[str, Any]:
        """The model as JSON values, as Knock writes it: wire names (`__typename`), the extras
        included, `UNSET` fields left out, date-times as text. Structuring it gives the model
        back: `converter.structure(m.to_dict(), type(m)) == m`. Secrets included: it is data."""
        from ._convert import converter  # the converter imports this module

        written: dict[str, Any] = converter.unstructure(self)
        return written

    def to_json(self, *, indent: int | None = 2) -> str:
        """`to_dict()` as JSON text (`indent=None`: on one line)."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)


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

    id: str  # the operationId, e.g. "users.update"
    method: str
    path: str  # template with {name} placeholders, e.g. "/v1/users/{user_id}"
    tier: int
    # The type the 2xx JSON body is structured into (None: no body), or a `Deferred` one;
    # read it through `response`. Not compared: resolving it must not change equality or hash.
    response_type: Any = attrs.field(default=None, alias="response", eq=False)
    pagination: Pagination | None = None
    limits: tuple[Limit, ...] = ()
    publishable: bool = False
    # Parameters (wire names) that take a list: a lone string there would be sent as it is
    # (mypy accepts it, `str` being a Sequence), so the transport refuses it. An entry is a
    # top-level name ("user_ids", "workflow_categories[]") or a path into the body in the
    # syntax of `Limit.field` ("subscriptions[].recipients").
    lists: frozenset[str] = frozenset()
    # Body properties (wire names, at any depth) marked `x-knock-secret`: their string values
    # are redacted from every error this call raises.
    secret_fields: frozenset[str] = frozenset()
    # Every declared query parameter and body property (wire names), with the JSON kinds the
    # document allows there, checked before sending: kinds joined by "|", each one of string,
    # integer, number, boolean, null, object, array, or array[...] naming its items' kinds;
    # "any" when the document does not constrain it. E.g. ("recipients", "array[string|object]").
    query_kinds: tuple[tuple[str, str], ...] = ()
    body_kinds: tuple[tuple[str, str], ...] = ()

    @property
    def response(self) -> Any:
        """The type the 2xx JSON body is structured into; None: no body."""
        if type(self.response_type) is Deferred:
            # Looked up once, then kept in its place.
            object.__setattr__(self, "response_type", self.response_type.lookup())
        return self.response_type


def check_timeout(name: str, value: float | None) -> None:
    """A timeout is a positive number of seconds, or None for "no deadline"."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        # 0 used to mean "no deadline" silently; now None says that and says it on purpose.
        raise ValueError(
            f"{name} must be a number of seconds above 0, or None for no deadline; got {value!r}"
        )


def _check_options_timeout(_: object, attribute: attrs.Attribute[Any], value: float | Unset | None) -> None:
    if not isinstance(value, Unset):
        check_timeout(f"RequestOptions.{attribute.name}", value)


def _check_extras(_: object, attribute: attrs.Attribute[Any], value: Mapping[str, Any] | None) -> None:
    if value is None:
        return
    if not isinstance(value, Mapping):
        raise TypeError(f"RequestOptions.{attribute.name} must be a mapping, got {type(value).__name__}")
    for key in value:
        if not isinstance(key, str) or not key:
            raise TypeError(
                f"RequestOptions.{attribute.name}: every key must be a non-empty str, got {key!r}"
            )


def _extra_names(value: Mapping[str, Any] | None) -> str:
    # The values may be credentials: the repr shows the names only.
    return "None" if value is None else f"<{sorted(value)}>"


@attrs.frozen
class RequestOptions:
    """Per-call overrides; every generated method accepts `options=`.

        `timeout`: seconds for this whole call (rate-limit queueing, retries and backoff included);
        None: no deadline for this call; UNSET (the default): the client's timeout.

        `extra_query` and `extra_body`: parameters Knock accepts and the document lacks, added to
        the query string and the JSON body. A key that names a parameter the operation declares
        (with or without "[]"), or a key the call already gives, is refused before sending, naming
        both: a declared parameter is passed as its argument. A GET takes no extra_body.

    `attempt_timeout`: seconds for each attempt of this call (None: no limit of its own);
        UNSET: the client's.
    """

    idempotency_key: str | None = None
    timeout: float | Unset | None = attrs.field(default=UNSET, validator=_check_options_timeout)
    attempt_timeout: float | Unset | None = attrs.field(default=UNSET, validator=_check_options_timeout)
    max_retries: int | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=header_names)
    extra_query: Mapping[str, Any] | None = attrs.field(
        default=None, validator=_check_extras, repr=_extra_names
    )
    extra_body: Mapping[str, Any] | None = attrs.field(
        default=None, validator=_check_extras, repr=_extra_names
    )
