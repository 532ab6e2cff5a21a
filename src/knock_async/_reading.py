"""What the generated readers (`knock_async.models._readers`) run on: drift reporting, the
one home of union choice, and the entry points the transport and the converter call.

A reader turns parsed JSON into models. What fits the document is typed; what does not is
a *misfit*, handed to a `Drift`, which decides:
- tolerant (the default): keep the value as Knock sent it (`UNSET` for a missing required
  field), and warn once per process per (operation, field path), never showing the value;
- strict: raise `Misfit` (the transport turns it into `APIResponseValidationError`);
- collecting: note the path (what `drifted()` lists).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import sys
import threading
import typing
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs

from ._types import UNSET
from ._wire import parse_datetime

# Reads every aware ISO 8601 text parse_datetime reads, the same way, from 3.11 on (which
# reads a trailing "Z"); before, every text goes to parse_datetime.
_iso_datetime = dt.datetime.fromisoformat if sys.version_info >= (3, 11) else parse_datetime

logger = logging.getLogger("knock_async")

EXTRAS = "additional_properties"
Reader = Callable[[Any, "Drift", str], Any]


class Misfit(Exception):
    """A value that does not fit the document (strict mode). Names the place, never the value."""

    def __init__(self, path: str, model: str, declared: str, kind: str) -> None:
        super().__init__(f"{model} at {path or '(the body)'}: declared {declared}, got {kind}")
        self.path, self.model, self.declared, self.kind = path, model, declared, kind


def json_kind(value: Any) -> str:
    """The JSON kind of a value, as a report names it (never the value itself)."""
    if value is UNSET:
        return "nothing (the field is missing)"
    if value is None:
        return "null"
    kinds = {bool: "boolean", int: "number", float: "number", str: "string", list: "array", dict: "object"}
    return kinds.get(type(value), type(value).__name__)


_reported: set[tuple[str, str]] = set()
_reported_lock = threading.Lock()


class Drift:
    """Decides what happens to a misfit; one per decoded response (see the module doc)."""

    __slots__ = ("found", "operation", "strict")

    def __init__(self, operation: str = "", *, strict: bool = False, collect: bool = False) -> None:
        self.operation = operation
        self.strict = strict
        self.found: list[str] | None = [] if collect else None

    def misfit(self, at: str, model: str, field: str, declared: str, value: Any) -> Any:
        """`value` (the JSON value as sent) after reporting it; raises in strict mode."""
        path = at + field if field else at[:-1]
        if self.strict:
            raise Misfit(path, model, declared, json_kind(value))
        if self.found is not None:
            self.found.append(path)
        else:
            _warn_once(self.operation, path, model, declared, value)
        return value


def _warn_once(operation: str, path: str, model: str, declared: str, value: Any) -> None:
    with _reported_lock:
        if (operation, path) in _reported:
            return
        _reported.add((operation, path))
    logger.warning(
        "knock %s: the response does not fit the document at %s (%s): declared %s, got %s; "
        "the value is kept as Knock sent it (reported once per process)",
        operation, path or "(the body)", model, declared, json_kind(value),
    )  # fmt: skip


# Tries a union's variants: the first that fits without a single misfit is the one.
TRIAL = Drift(strict=True)


# --- unions -------------------------------------------------------------------------------


@functools.cache
def shape(cls: type) -> tuple[frozenset[str], frozenset[str]]:
    """(required wire names, all wire names) of a model."""
    fields = [f for f in attrs.fields(cls) if f.name != EXTRAS]
    required = frozenset(wire_name(f) for f in fields if f.default is attrs.NOTHING)
    return required, frozenset(wire_name(f) for f in fields)


def wire_name(field: attrs.Attribute[Any]) -> str:
    return str(field.metadata.get("wire", field.name))


def discriminator(models: list[type]) -> tuple[str, dict[str, int]] | None:
    """(wire name, variant index by value) when every variant has a str literal field of that
    wire name and no value is shared: the value then names the only variant that can fit."""
    if len(models) < 2:
        return None
    candidates: dict[str, dict[str, int]] | None = None
    for index, cls in enumerate(models):
        literals = _literals(cls)
        if literals is None:
            return None
        if candidates is None:
            candidates = {wire: {} for wire in literals}
        for wire in list(candidates):
            values = literals.get(wire)
            if values is None or any(v in candidates[wire] for v in values):
                del candidates[wire]  # missing from this variant, or not disjoint
            else:
                candidates[wire].update(dict.fromkeys(values, index))
    if not candidates:
        return None
    wire = min(candidates)  # any will do; the choice is only made deterministic
    return wire, candidates[wire]


def _literals(cls: type) -> dict[str, tuple[str, ...]] | None:
    """The str literal fields with a default (consts such as `__typename`), by wire name."""
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # an unresolvable annotation: no shortcut, the ranking decides
        return None
    literals: dict[str, tuple[str, ...]] = {}
    for field in attrs.fields(cls):
        tp = hints.get(field.name)
        if field.default is not UNSET and typing.get_origin(tp) is typing.Literal:
            args = typing.get_args(tp)
            if all(isinstance(arg, str) for arg in args):  # str only: no 1 == True surprises
                literals[wire_name(field)] = args
    return literals


@attrs.frozen
class Choice:
    """The model variants of a union, and how a JSON object picks among them: the variant its
    discriminating literal names, else the variants ranked by fit (all required keys present,
    then the most keys known; ties keep the document's order)."""

    models: tuple[type, ...]
    readers: tuple[Reader, ...] = ()
    tag: tuple[str, Mapping[str, int]] | None = None

    def tagged(self, value: Mapping[str, Any]) -> int | None:
        if self.tag is None:
            return None
        key = value.get(self.tag[0])
        return self.tag[1].get(key) if isinstance(key, str) else None

    def ranked(self, value: Mapping[str, Any]) -> Iterator[int]:
        def score(index: int) -> tuple[bool, int]:
            required, known = shape(self.models[index])
            return required.issubset(value.keys()), len(known.intersection(value.keys()))

        return iter(sorted(range(len(self.models)), key=score, reverse=True))


def read_union(
    value: Any,
    kinds: tuple[type, ...],
    choice: Choice,
    r: Drift,
    at: str,
    model: str,
    field: str,
    declared: str,
) -> Any:
    """A value of a union of JSON kinds (`kinds`, kept as they are) and models (`choice`)."""
    if type(value) in kinds:
        return value
    if type(value) is dict and choice.models:
        inner = at + field + "."
        tag = choice.tag
        if tag is not None:  # Choice.tagged, inlined: this runs for every element of a union list
            key = value.get(tag[0])
            index = tag[1].get(key) if isinstance(key, str) else None
            if index is not None:  # the variant it names, misfits and all
                return choice.readers[index](value, r, inner)
        for index in choice.ranked(value):
            try:
                return choice.readers[index](value, TRIAL, inner)
            except Misfit:  # the next variant may fit
                continue
    return r.misfit(at, model, field, declared, value)  # matches no variant: kept as sent


# --- scalars the readers do not inline ---------------------------------------------------


def read_datetime(value: Any, r: Drift, at: str, model: str, field: str) -> Any:
    if type(value) is str:
        try:
            parsed = _iso_datetime(value)  # parse_datetime's first step, without its frame
            if parsed.tzinfo is not None:
                return parsed  # what parse_datetime gives; anything else is left to it
        except ValueError:
            pass  # parse_datetime decides: its fallback reading, or a misfit below
        try:
            return parse_datetime(value)
        except ValueError:
            pass  # not a date-time: kept as sent, and reported
    return r.misfit(at, model, field, "datetime", value)


def read_date(value: Any, r: Drift, at: str, model: str, field: str) -> Any:
    if type(value) is str:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    return r.misfit(at, model, field, "date", value)


def read_other(value: Any, tp: Any, r: Drift, at: str, model: str, field: str) -> Any:
    """A type the generator does not inline: the converter reads it (the fallback)."""
    from ._convert import converter

    try:
        return converter.structure(value, tp)
    except Exception:  # whatever cattrs raised, the value is a misfit; its error may quote it
        pass
    return r.misfit(at, model, field, getattr(tp, "__name__", str(tp)), value)


# --- entry points -------------------------------------------------------------------------


_readers: dict[type, Reader] = {}


def register(cls: type, reader: Reader) -> None:
    """Called by each generated model module: `reader` reads JSON into `cls`."""
    _readers[cls] = reader


def reader_for(tp: Any) -> Reader | None:
    """The generated reader of a model class, if it has one."""
    return _readers.get(tp) if isinstance(tp, type) else None


def read(value: Any, tp: Any, r: Drift) -> Any:
    """`value` (parsed JSON) read into `tp`: a model, a list of models, or anything the
    converter structures."""
    reader = reader_for(tp)
    if reader is not None:
        return reader(value, r, "")
    if typing.get_origin(tp) is list:
        (item,) = typing.get_args(tp)
        reader = reader_for(item)
        if reader is not None:
            if type(value) is not list:
                return r.misfit(".", "", "", f"list[{item.__name__}]", value)
            return [reader(element, r, "[].") for element in value]
    return read_other(value, tp, r, ".", getattr(tp, "__name__", ""), "")


def read_response(value: Any, tp: Any, operation: str, *, strict: bool) -> Any:
    """A 2xx body read into its type; strict: `Misfit` on the first value that does not fit."""
    return read(value, tp, TRIAL if strict else Drift(operation))


def drifted(model: Any) -> list[str]:
    """The field paths of `model` (a response model) whose values do not fit the document:
    what a tolerant read kept as Knock sent it (e.g. `["entries[].actors"]`); [] when all fit."""
    from ._convert import converter

    if reader_for(type(model)) is None:
        raise TypeError(f"drifted() takes a model, got {type(model).__name__} (for a list: each element)")
    found = Drift(collect=True)
    read(converter.unstructure(model), type(model), found)
    return sorted(set(found.found or ()))
