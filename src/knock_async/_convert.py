"""The one cattrs converter: JSON values <-> attrs models.

Every hook is made here, once per class, the first time a class is seen:
- wire names: a field whose wire name is not a Python name carries it in
  `metadata={"wire": "__typename"}`;
- nothing is lost: keys a model does not declare are kept in its `additional_properties`
  and written back on unstructure; optional fields left `UNSET` are not written;
- date-times are timezone-aware `datetime`s, written back in UTC with a `Z`;
- unions of models pick the variant that fits the payload best (when every variant has a
  distinct literal such as `__typename`, that literal names it straight away);
- speed: each model gets a generated structure function that does the common cases inline
  and hands anything else to the cattrs-made one, so results and errors are cattrs' own.
  It stands in for a few cattrs internals; where it does not recognise them (another cattrs),
  it stays off and the cattrs-made functions do everything (`FAST_PATH` says which);
- JSON text is read by orjson when the `fast` extra is installed, else by `json`.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import linecache
import sys
import types
import typing
import warnings
from collections.abc import Callable, Mapping
from typing import Any, Final

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from ._types import UNSET, Unset

EXTRAS = "additional_properties"


# --- JSON text --------------------------------------------------------------------------


def _json_loads() -> tuple[str, Callable[[bytes], Any]]:
    try:
        import orjson
    except ImportError:  # without the `fast` extra
        return "json", json.loads

    # orjson reads an integer past 64 bits as a float where json keeps it exact: a text with
    # 19 digits in a row (rare: a long numeric id, say) is left to json. Checked in C, in a
    # fraction of what orjson saves.
    digits_as_zeros = bytes.maketrans(b"123456789", b"000000000")
    long_number = b"0" * 19

    def loads(raw: bytes) -> Any:
        if long_number in raw.translate(digits_as_zeros):
            return json.loads(raw)
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            # What orjson refuses but json reads (NaN, UTF-16, a BOM...): json decides, so
            # that both give the same values and the same errors.
            return json.loads(raw)

    return "orjson", loads


JSON_LIBRARY, loads = _json_loads()


# --- date-times -------------------------------------------------------------------------


def _fromisoformat_z(value: str) -> dt.datetime:
    # Before 3.11, fromisoformat does not read a trailing "Z".
    return dt.datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)


# 3.11+ reads "Z" itself, without the string copy: worth it on the hot path of every response.
_fromisoformat = dt.datetime.fromisoformat if sys.version_info >= (3, 11) else _fromisoformat_z


def structure_datetime(value: Any, _: Any = None) -> dt.datetime:
    """The datetime hook (one function: it runs for every timestamp of every response)."""
    if isinstance(value, dt.datetime):
        return value
    try:
        parsed = _fromisoformat(value)
    except (TypeError, ValueError):
        # What 3.11+ still rejects with the "Z" ("2024-05-02Z"), or a failure exactly as before.
        parsed = _fromisoformat_z(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def parse_datetime(value: str) -> dt.datetime:
    return structure_datetime(value)


def format_datetime(value: dt.datetime) -> str:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: give it a timezone (Knock times are UTC)")
    text = value.astimezone(dt.timezone.utc).isoformat()
    return text[:-6] + "Z"


def _structure_date(value: Any, _: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def _register_scalars(conv: cattrs.Converter) -> None:
    conv.register_structure_hook(dt.datetime, structure_datetime)
    conv.register_unstructure_hook(dt.datetime, format_datetime)
    conv.register_structure_hook(dt.date, _structure_date)
    conv.register_unstructure_hook(dt.date, dt.date.isoformat)
    conv.register_structure_hook_func(lambda tp: tp is Any, lambda v, _: v)  # free-form JSON stays as it is


# --- attrs models -----------------------------------------------------------------------


def wire_name(field: attrs.Attribute[Any]) -> str:
    return str(field.metadata.get("wire", field.name))


def _model_fields(cls: type) -> list[attrs.Attribute[Any]]:
    return [f for f in attrs.fields(cls) if f.name != EXTRAS]


def _has_extras(cls: type) -> bool:
    return any(f.name == EXTRAS for f in attrs.fields(cls))


def _overrides(cls: type) -> dict[str, Any]:
    """cattrs overrides of a model: wire names, and extras handled by our own code."""
    overrides: dict[str, Any] = {
        # Only UNSET defaults are left out on unstructure: a const's default (a `__typename`) is written.
        f.name: override(rename=wire_name(f), omit_if_default=f.default is UNSET)
        for f in _model_fields(cls)
        if wire_name(f) != f.name or f.default not in (UNSET, attrs.NOTHING)
    }
    if _has_extras(cls):
        overrides[EXTRAS] = override(omit=True)
    return overrides


def _structure_model_factory(cls: type, conv: cattrs.Converter, fast: bool) -> Callable[[Any, Any], Any]:
    exact = _exact_structure_fn(cls, conv)
    return _fast_structure_fn(cls, exact, conv) if fast else exact


def _exact_structure_fn(cls: type, conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
    """The cattrs-made structure function of a model (plus the extras, kept by our code)."""
    fields = _model_fields(cls)
    overrides = _overrides(cls)
    base: Callable[[Any, Any], Any] = make_dict_structure_fn(cls, conv, **overrides)
    if EXTRAS not in overrides:
        return base
    known = frozenset(wire_name(f) for f in fields)

    def structure(value: Mapping[str, Any], _: Any) -> Any:
        if not isinstance(value, Mapping):
            raise TypeError(f"{cls.__name__} expects a JSON object, got {type(value).__name__}")
        obj = base(value, cls)
        # Most payloads carry no unknown keys: check that in C before building anything.
        if not known.issuperset(value):
            setattr(obj, EXTRAS, {k: v for k, v in value.items() if k not in known})
        return obj

    return structure


# The fast path: per model, one generated function that structures the common kinds of field
# inline rather than through one hook call per field. A field is structured inline only where
# the result is plainly the one its hook gives (an exact `str` is itself, a date-time string
# parses as structure_datetime parses it, ...), by that very hook otherwise. On any exception,
# the whole object goes to the cattrs-made function instead, which reports the errors as it
# always has (every field, with its path) or, where the inline code was merely stricter,
# structures the object. Either way: the same results, the same errors.

_ABSENT = object()  # a key the payload does not have


def recognises_internals(conv: cattrs.Converter) -> bool:
    """Whether the cattrs internals the fast path stands in for behave as it expects.

    It inlines what these hooks do: `_structure_call` (str, int, float, bool and enums:
    `tp(value)`), `_structure_simple_literal` (the value, if one of the literal's), and
    the hooks of `list[X]` and `dict[str, Any]` (a new list or dict, keys made `str`).
    """
    call = getattr(conv, "_structure_call", None)
    literal = getattr(conv, "_structure_simple_literal", None)
    abc = typing.Literal["a", "b"]
    try:
        return (
            call is not None
            and literal is not None
            and all(conv.get_structure_hook(tp) == call for tp in (str, int, float, bool))
            and call("7", int) == 7
            and conv.get_structure_hook(abc) == literal
            and literal("a", abc) == "a"
            and _raises(lambda: literal("c", abc))
            and conv.structure(["1"], list[int]) == [1]
            and conv.structure({1: [2]}, dict[str, Any]) == {"1": [2]}
        )
    except Exception:  # an internal that moved or changed its signature
        return False


def _raises(call: Callable[[], Any]) -> bool:
    try:
        call()
    except Exception:
        return True
    return False


class _LateHook:
    """A hook looked up on first use (the hook of a nested model may still be in the making),
    which then takes its own place in `where[key]`."""

    def __init__(self, conv: cattrs.Converter, where: dict[Any, Any], key: Any) -> None:
        self.conv, self.where, self.key = conv, where, key

    def __call__(self, value: Any, tp: Any) -> Any:
        hook = self.where[self.key] = self.conv.get_structure_hook(tp)
        return hook(value, tp)


class _Inliner:
    """Writes the expressions of one generated function; `namespace` becomes its globals."""

    def __init__(self, conv: cattrs.Converter) -> None:
        self.conv = conv
        self.namespace: dict[str, Any] = {"ABSENT": _ABSENT, "UTC": dt.timezone.utc, "parse": _fromisoformat}

    def bind(self, value: Any, prefix: str = "c") -> str:
        name = f"{prefix}{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def hook(self, tp: Any, v: str) -> str:
        """`v` structured by the hook of `tp`."""
        name = f"hook{len(self.namespace)}"
        self.namespace[name] = _LateHook(self.conv, self.namespace, name)
        return f"{name}({v}, {self.bind(tp, 'tp')})"

    def expr(self, tp: Any, v: str, union_hook: str | None = None) -> str:
        """`v` structured into `tp`, as the hook of `tp` does. Given `union_hook`, `tp` is the
        one member of a union (besides None): the inline check must then also imply that the
        union's hook would pick `tp`."""
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if _is_union(tp):
            return self.union_expr(tp, v)
        if tp is Any:
            return v
        leaf = self.leaf_hook(tp)
        if leaf == self.conv._structure_call and not union_hook:  # str, int, float, bool, enums
            call = self.bind(tp, "tp")
            if tp in (str, int, float, bool):  # `tp(v)` is `v` itself when of exactly that type
                return f"{v} if type({v}) is {call} else {call}({v})"
            return f"{call}({v})"
        otherwise = union_hook or self.hook(tp, v)
        if tp is dt.datetime and (leaf is structure_datetime or union_hook):
            parsed = f"(d if (d := parse({v})).tzinfo else d.replace(tzinfo=UTC))"  # structure_datetime
            return f"{parsed} if type({v}) is str else {otherwise}"
        if leaf == self.conv._structure_simple_literal:  # `v` if one of the values
            return f"{v} if {v} in {self.bind(args)} else {otherwise}"
        if origin is list and len(args) == 1:  # cattrs: [hook(e) for e in v]
            e = f"e{len(self.namespace)}"
            return f"[{self.expr(args[0], e)} for {e} in {v}] if type({v}) is list else {otherwise}"
        if origin is dict and args == (str, Any):  # cattrs: {str(k): x for k, x in v.items()}
            copied = f"{{k if type(k) is str else str(k): x for k, x in {v}.items()}}"
            return f"{copied} if type({v}) is dict else {otherwise}"
        if union_hook and attrs.has(tp):  # the union's only model: structure_best calls its hook
            return f"{self.hook(tp, v)} if type({v}) is dict else {union_hook}"
        return otherwise

    def leaf_hook(self, tp: Any) -> Any:
        """The hook of a type that holds no other (`str`, an enum, a literal), else None."""
        if attrs.has(tp) or typing.get_origin(tp) not in (None, typing.Literal):
            return None  # (a model's hook may still be in the making: no lookup now)
        return self.conv.get_structure_hook(tp)

    def union_expr(self, tp: Any, v: str) -> str:
        """As the hook of _structure_union_factory does."""
        members = [m for m in typing.get_args(tp) if m is not Unset]
        union_hook = self.hook(tp, v)
        if all(m in _SCALARS for m in members):
            allowed = frozenset(members) | ({int} if float in members else set())
            return f"{v} if type({v}) in {self.bind(allowed)} else {union_hook}"
        rest = [m for m in members if m is not type(None)]
        found = _discriminator(rest) if all(attrs.has(m) for m in rest) else None
        if found:  # the variant that the literal names (should it not fit: an exception)
            wire, classes = found
            hooks: dict[type, Any] = {}
            hooks.update({cls: _LateHook(self.conv, hooks, cls) for cls in classes.values()})
            by_class, by_value, cls = self.bind(hooks, "hooks"), self.bind(classes), f"k{len(self.namespace)}"
            picked = f"{by_class}[({cls} := {by_value}[{v}[{wire!r}]])]({v}, {cls})"
            inline = f"{picked} if type({v}) is dict else {union_hook}"
        elif len(rest) == 1:
            inline = self.expr(rest[0], v, union_hook)
        else:
            return union_hook
        return f"None if {v} is None else ({inline})" if len(rest) < len(members) else inline


def _plain_init(cls: Any) -> bool:
    """Whether `cls(**values)` only makes the object and stores the values (no validator,
    converter, __setattr__ hook, pre- or post-init, hash cache or custom __new__)."""
    return (
        type(cls).__call__ is type.__call__
        and cls.__new__ is object.__new__
        and cls.__setattr__ is object.__setattr__
        and "attrs generated" in getattr(getattr(cls.__init__, "__code__", None), "co_filename", "")
        and not hasattr(cls, "__attrs_pre_init__")
        and not hasattr(cls, "__attrs_post_init__")
        and "_attrs_cached_hash" not in getattr(cls, "__slots__", ())
        and all(f.init and f.validator is None and f.converter is None for f in attrs.fields(cls))
    )


def _fast_structure_fn(
    cls: type, exact: Callable[[Any, Any], Any], conv: cattrs.Converter
) -> Callable[[Any, Any], Any]:
    """`exact` (the cattrs-made structure function) with the fast path in front."""
    if getattr(cls, "__parameters__", ()):
        return exact  # a generic model: the cattrs-made function alone
    hints = typing.get_type_hints(cls)
    inliner = _Inliner(conv)
    lines = ["def structure(o, _=None):", "    if type(o) is not dict:", "        return exact(o, _)"]
    lines.append("    try:")
    values = []
    for i, field in enumerate(attrs.fields(cls)):
        wire = repr(wire_name(field))
        if field.name == EXTRAS:
            known = inliner.bind(frozenset(wire_name(f) for f in _model_fields(cls)))
            value = f"{{}} if {known}.issuperset(o) else {{k: x for k, x in o.items() if k not in {known}}}"
        elif not field.init or isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            return exact  # not in the generated models
        elif field.default is attrs.NOTHING:
            lines.append(f"        v = o[{wire}]")
            value = inliner.expr(hints[field.name], "v")
        else:  # when absent, the default, as __init__ gives it
            lines.append(f"        v = o.get({wire}, ABSENT)")
            default = inliner.bind(field.default)
            value = f"{default} if v is ABSENT else {inliner.expr(hints[field.name], 'v')}"
        lines.append(f"        f{i} = {value}")
        values.append((field, f"f{i}"))
    if _plain_init(cls):  # what `cls(...)` does, but cheaper than passing 10-20 keyword arguments
        lines.append("        obj = new(cls)")
        lines.extend(f"        obj.{field.name} = {value}" for field, value in values)
        lines.append("        return obj")
    else:
        lines.append(f"        return cls({', '.join(f'{field.alias}={value}' for field, value in values)})")
    # After the `try` statement rather than in it: its errors then do not chain the one here.
    lines += ["    except Exception:", "        pass", "    return exact(o, _)"]
    namespace = inliner.namespace  # the late hooks replace themselves in it
    namespace.update(cls=cls, exact=exact, new=object.__new__)
    source = "\n".join(lines)
    filename = f"<knock_async structure {cls.__module__}.{cls.__qualname__}>"
    exec(compile(source, filename, "exec"), namespace)
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)  # tracebacks
    fn: Callable[[Any, Any], Any] = namespace["structure"]
    return fn


def _unstructure_model_factory(cls: type, conv: cattrs.Converter) -> Callable[[Any], Any]:
    overrides = _overrides(cls)
    keeps_extras = EXTRAS in overrides
    # Optional fields default to UNSET: omitting defaults writes exactly what was given.
    base: Callable[[Any], dict[str, Any]] = make_dict_unstructure_fn(
        cls, conv, _cattrs_omit_if_default=True, **overrides
    )
    if not keeps_extras:
        return base

    def unstructure(obj: Any) -> dict[str, Any]:
        extras: dict[str, Any] = getattr(obj, EXTRAS)
        if not extras:
            return base(obj)
        return {**conv.unstructure(extras), **base(obj)}

    return unstructure


# --- UNSET and unions -------------------------------------------------------------------


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


_SCALARS = (str, int, float, bool, type(None))


def _structure_union_factory(tp: Any, conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
    members = [m for m in typing.get_args(tp) if m is not Unset]
    models = [m for m in members if attrs.has(m)]
    others = [m for m in members if not attrs.has(m)]
    if not models and all(m in _SCALARS for m in others):
        # The common case (`str | None | Unset`): JSON already has the right type.
        allowed = frozenset(others) | ({int} if float in others else set())

        def structure_scalar(value: Any, _: Any) -> Any:
            if type(value) in allowed:
                return value
            raise TypeError(f"{value!r} does not fit {tp}")

        return structure_scalar
    nullable = type(None) in others
    if not models and [m for m in others if m is not type(None)] == [dt.datetime]:
        # The next most common case (`datetime | None | Unset`), without the general machinery.

        def structure_optional_datetime(value: Any, _: Any) -> Any:
            if value is None and nullable:
                return None
            if isinstance(value, (str, dt.datetime)):
                return structure_datetime(value)
            raise TypeError(f"{value!r} does not fit {tp}")

        return structure_optional_datetime
    # Worked out once per union rather than on every value: the fit check of each member and
    # which variant a discriminating literal names.
    fitters = [(_fitter(m), m) for m in others if m is not type(None)]
    wire, classes = _discriminator(models) or ("", {})
    # Hooks are looked up on the first value, not now: a member may be a model whose own hook
    # is being made right now (recursive types).
    checks: list[tuple[Callable[[Any], bool], Callable[[Any, Any], Any], Any]] = []
    variants: dict[str, tuple[Callable[[Any, Any], Any], type]] = {}
    resolved = False

    def resolve() -> None:
        nonlocal resolved
        found = [(fits, conv.get_structure_hook(m), m) for fits, m in fitters]
        by_value = {v: (conv.get_structure_hook(c), c) for v, c in classes.items()}
        checks[:] = found  # all or nothing, should a lookup fail
        variants.update(by_value)
        resolved = True

    def structure(value: Any, _: Any) -> Any:
        if value is None and nullable:
            return None
        if not resolved:
            resolve()
        if models and (type(value) is dict or isinstance(value, Mapping)):
            key = value.get(wire) if variants else None
            variant = variants.get(key) if isinstance(key, str) else None
            if variant is not None:
                hook, cls = variant
                try:
                    return hook(value, cls)
                except Exception:  # structure_best reports why no variant fits
                    pass
            return structure_best(conv, models, value)
        for fits, hook, member in checks:
            if fits(value):
                return hook(value, member)
        raise TypeError(f"{value!r} does not fit {tp}")

    return structure


def _discriminator(models: list[type]) -> tuple[str, dict[str, type]] | None:
    """(wire name, variant by value) when every variant has a literal field of that
    wire name and no value is shared: the value then names the only variant that can fit."""
    if len(models) < 2:
        return None
    candidates: dict[str, dict[str, type]] | None = None
    for cls in models:
        try:
            hints = typing.get_type_hints(cls)
        except Exception:  # an unresolvable annotation: no shortcut, structure_best decides
            return None
        literals: dict[str, tuple[str, ...]] = {}
        for field in _model_fields(cls):
            tp = hints.get(field.name)
            if field.default is not UNSET and typing.get_origin(tp) is typing.Literal:
                args = typing.get_args(tp)
                if all(isinstance(arg, str) for arg in args):  # str only: no 1 == True surprises
                    literals[wire_name(field)] = args
        if candidates is None:
            candidates = {wire: {} for wire in literals}
        for wire in list(candidates):
            values = literals.get(wire)
            if values is None or any(v in candidates[wire] for v in values):
                del candidates[wire]  # missing from this variant, or not disjoint
            else:
                candidates[wire].update(dict.fromkeys(values, cls))
    if not candidates:
        return None
    wire = min(candidates)  # any will do; the choice is only made deterministic
    return wire, candidates[wire]


def _fitter(tp: Any) -> Callable[[Any], bool]:
    """Whether a JSON value fits `tp`, as a check made once per type."""
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
        return lambda value: type(value) is dict or isinstance(value, Mapping)
    if origin is float:
        return lambda value: isinstance(value, (int, float)) and not isinstance(value, bool)
    if origin is int:
        return lambda value: isinstance(value, int) and not isinstance(value, bool)
    if isinstance(origin, type):
        if issubclass(origin, str):  # str and string enums
            return lambda value: isinstance(value, str)
        kind = origin
        return lambda value: isinstance(value, kind)
    return lambda value: False


@functools.cache
def _shape(cls: type) -> tuple[frozenset[str], frozenset[str]]:
    """(required wire names, all wire names) of a model."""
    fields = _model_fields(cls)
    required = frozenset(wire_name(f) for f in fields if f.default is attrs.NOTHING)
    return required, frozenset(wire_name(f) for f in fields)


def structure_best(conv: cattrs.Converter, models: list[type], value: Mapping[str, Any]) -> Any:
    """Structure into the variant that fits best, trying the next one if it does not fit.

    Best: all its required keys are present, then the most keys it knows. Variants that tie
    keep the document's order; a variant whose values do not fit (e.g. a `__typename`
    literal that differs) gives way to the next.
    """

    def score(cls: type) -> tuple[bool, int]:
        required, known = _shape(cls)
        return required.issubset(value.keys()), len(known.intersection(value.keys()))

    errors: list[Exception] = []
    for cls in sorted(models, key=score, reverse=True):
        try:
            return conv.structure(value, cls)
        except Exception as error:  # the next variant may fit; every error is kept
            errors.append(error)
    raise cattrs.BaseValidationError(f"no variant of {[m.__name__ for m in models]} fits", errors, dict)


# --- the converter ----------------------------------------------------------------------


def make_converter(*, fast_path: bool = True) -> cattrs.Converter:
    """A converter with every hook above; `fast_path=False` leaves the model hooks to cattrs
    alone (what the fast path must match: see tests/models/test_converter_equivalence.py)."""
    conv = cattrs.Converter()
    _register_scalars(conv)
    fast = fast_path and recognises_internals(conv)
    conv.register_structure_hook_factory(attrs.has, lambda cls: _structure_model_factory(cls, conv, fast))
    conv.register_unstructure_hook_factory(attrs.has, lambda cls: _unstructure_model_factory(cls, conv))
    conv.register_structure_hook_factory(_is_union, lambda tp: _structure_union_factory(tp, conv))
    conv.register_unstructure_hook(Unset, lambda v: v)
    return conv


converter = make_converter()
FAST_PATH: Final = recognises_internals(converter)
if not FAST_PATH:
    from importlib.metadata import version

    warnings.warn(
        f"cattrs {version('cattrs')}: knock_async does not recognise the internals its fast "
        "structuring stands in for, so it is off (same results, more CPU per response)",
        RuntimeWarning,
        stacklevel=1,
    )
