"""The one cattrs converter: JSON values <-> attrs models.

- wire names: a field whose wire name is not a Python name carries it in
  `metadata={"wire": "__typename"}`;
- nothing is lost: keys a model does not declare are kept in its `additional_properties`
  and written back on unstructure; fields left `UNSET` are not written;
- values are written by what they are, not by what the field declares: a value a tolerant
  read kept as Knock sent it (see `knock_async._reading`) is written back as it came;
- scalars are structured only from their own JSON kind (no "7" -> 7): what the document
  declares, as the readers check it;
- structuring a generated model runs its generated reader (models/_readers.py); when that
  meets a value that does not fit, the cattrs-made function structures the object instead,
  so that errors are cattrs' own, with every field and its path (`readers=False` leaves
  every model to cattrs alone: the oracle of tests/models/test_converter_equivalence.py).
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override

from ._reading import EXTRAS, TRIAL, Choice, Misfit, discriminator, json_kind, reader_for, shape, wire_name
from ._types import UNSET, OpenEnum, Unset
from ._wire import JSON_LIBRARY, JSON_SCALARS, format_datetime, loads, parse_datetime

__all__ = [
    "JSON_LIBRARY",
    "converter",
    "format_datetime",
    "loads",
    "make_converter",
    "wire_name",
]

# The generated readers are always on (the name is what bench/ reports).


# --- scalars ------------------------------------------------------------------------------


def structure_datetime(value: Any, _: Any = None) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else parse_datetime(value)


def _structure_date(value: Any, _: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def _exactly(kind: type) -> tuple[Callable[[Any], bool], Callable[[Any, Any], Any]]:
    """(predicate, hook) for exactly `kind`: its enums (str and int subclasses) keep
    cattrs' own hook, which a hook registered for the class itself would take over."""

    def structure(value: Any, _: Any) -> Any:
        if type(value) is kind:
            return value
        raise TypeError(f"expected {kind.__name__}, got {json_kind(value)}")

    return (lambda tp: tp is kind), structure


def _structure_float(value: Any, _: Any) -> float:
    if type(value) in (int, float):
        return float(value)
    raise TypeError(f"expected a number, got {json_kind(value)}")


def _register_scalars(conv: cattrs.Converter) -> None:
    for kind in (str, int, bool):
        conv.register_structure_hook_func(*_exactly(kind))
    conv.register_structure_hook_func(lambda tp: tp is float, _structure_float)
    conv.register_structure_hook(dt.datetime, structure_datetime)
    conv.register_unstructure_hook(dt.datetime, format_datetime)
    conv.register_structure_hook(dt.date, _structure_date)
    conv.register_unstructure_hook(dt.date, dt.date.isoformat)
    conv.register_structure_hook_func(lambda tp: tp is Any, lambda v, _: v)  # free-form JSON stays as it is
    conv.register_unstructure_hook(Unset, lambda v: v)
    # The models' enums are written as plain str (cattrs would pass a str subclass through).
    conv.register_unstructure_hook(OpenEnum, lambda v: v.value)


# --- attrs models -------------------------------------------------------------------------


def _model_fields(cls: type) -> list[attrs.Attribute[Any]]:
    return [f for f in attrs.fields(cls) if f.name != EXTRAS]


def _has_extras(cls: type) -> bool:
    return any(f.name == EXTRAS for f in attrs.fields(cls))


def _structure_model_factory(
    cls: type, conv: cattrs.Converter, use_readers: bool
) -> Callable[[Any, Any], Any]:
    exact = _exact_structure_fn(cls, conv)
    reader = reader_for(cls) if use_readers else None
    if reader is None:  # not a generated model (or the oracle): cattrs alone
        return exact

    def structure(value: Any, _: Any) -> Any:
        try:
            return reader(value, TRIAL, "")
        except Misfit:
            pass  # outside the `except`: cattrs' error does not chain the misfit
        return exact(value, cls)

    return structure


def _exact_structure_fn(cls: type, conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
    """The cattrs-made structure function of a model (plus the extras, kept by our code)."""
    overrides: dict[str, Any] = {
        f.name: override(rename=wire_name(f)) for f in _model_fields(cls) if wire_name(f) != f.name
    }
    if not _has_extras(cls):
        base: Callable[[Any, Any], Any] = make_dict_structure_fn(cls, conv, **overrides)
        return base
    overrides[EXTRAS] = override(omit=True)
    base = make_dict_structure_fn(cls, conv, **overrides)
    known = shape(cls)[1]

    def structure(value: Mapping[str, Any], _: Any) -> Any:
        if not isinstance(value, Mapping):
            raise TypeError(f"{cls.__name__} expects a JSON object, got {json_kind(value)}")
        obj = base(value, cls)
        if not known.issuperset(value):
            setattr(obj, EXTRAS, {k: v for k, v in value.items() if k not in known})
        return obj

    return structure


def _unstructure_model_factory(cls: type, conv: cattrs.Converter) -> Callable[[Any], Any]:
    """Wire names; the extras first (declared fields win); UNSET left out; every value
    written by its own type (see the module doc)."""
    fields = [(f.name, wire_name(f)) for f in _model_fields(cls)]
    keeps_extras = _has_extras(cls)

    def unstructure(obj: Any) -> dict[str, Any]:
        extras = getattr(obj, EXTRAS) if keeps_extras else None
        written: dict[str, Any] = conv.unstructure(extras) if extras else {}
        for name, wire in fields:
            value = getattr(obj, name)
            if value is not UNSET:
                written[wire] = value if type(value) in JSON_SCALARS else conv.unstructure(value)
        return written

    return unstructure


# --- unions ---------------------------------------------------------------------------------


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _structure_union_factory(tp: Any, conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
    members = [m for m in typing.get_args(tp) if m is not Unset]
    models = [m for m in members if attrs.has(m)]
    nullable = type(None) in members
    others = [m for m in members if not attrs.has(m) and m is not type(None)]
    fitters = [(_fitter(m), m) for m in others]
    choice = Choice(tuple(models), tag=discriminator(models))

    def structure(value: Any, _: Any) -> Any:
        if value is None and nullable:
            return None
        if models and isinstance(value, Mapping):
            return _structure_variant(conv, choice, value)
        for fits, member in fitters:
            if fits(value):
                return conv.structure(value, member)
        raise TypeError(f"{json_kind(value)} does not fit {tp}")

    return structure


def _structure_variant(conv: cattrs.Converter, choice: Choice, value: Mapping[str, Any]) -> Any:
    """The variant `choice` names or ranks first that structures (the one home of the choice:
    `Choice`, which the readers use too)."""
    index = choice.tagged(value)
    if index is not None:
        try:
            return conv.structure(value, choice.models[index])
        except Exception:  # the ranking below reports why no variant fits
            pass
    errors: list[Exception] = []
    for index in choice.ranked(value):
        try:
            return conv.structure(value, choice.models[index])
        except Exception as error:  # the next variant may fit; every error is kept
            errors.append(error)
    names = [m.__name__ for m in choice.models]
    raise cattrs.BaseValidationError(f"no variant of {names} fits", errors, dict)


def _fitter(tp: Any) -> Callable[[Any], bool]:
    """Whether a JSON value is of the kind a non-model union member reads."""
    origin = typing.get_origin(tp) or tp
    if origin is Any:
        return lambda value: True
    if origin is typing.Literal:
        args = typing.get_args(tp)
        return lambda value: value in args
    if origin in (dt.datetime, dt.date):
        kinds = (str, origin)
        return lambda value: isinstance(value, kinds)
    if origin in (list, tuple):
        return lambda value: isinstance(value, list)
    if origin in (dict, Mapping):
        return lambda value: isinstance(value, Mapping)
    if origin is float:
        return lambda value: type(value) in (int, float)
    if isinstance(origin, type) and issubclass(origin, str):  # str and string enums
        return lambda value: isinstance(value, str)
    if isinstance(origin, type):
        kind = origin
        return lambda value: type(value) is kind
    return lambda value: False


# --- the converter ----------------------------------------------------------------------------


def make_converter(*, readers: bool = True) -> cattrs.Converter:
    """A converter with every hook above; `readers=False` leaves the models to cattrs alone."""
    conv = cattrs.Converter()
    _register_scalars(conv)
    conv.register_structure_hook_factory(attrs.has, lambda cls: _structure_model_factory(cls, conv, readers))
    conv.register_unstructure_hook_factory(attrs.has, lambda cls: _unstructure_model_factory(cls, conv))
    conv.register_structure_hook_factory(_is_union, lambda tp: _structure_union_factory(tp, conv))
    return conv


converter = make_converter()
