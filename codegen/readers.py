"""The models' readers: for each generated model, a plain function from parsed JSON to the
model, written from the type hints of the freshly rendered models into the model's module.

What a reader does per kind of field (see knock_async._reading for the runtime half):
str/int/bool are kept when of exactly that JSON kind; date-times parsed; enums and literals
checked; nested models, lists and dicts read element by element; unions of models choose a
variant through `read_union`. Anything else is a misfit: `r.misfit(...)`.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs
import jinja2

from knock_async._reading import EXTRAS, discriminator, wire_name
from knock_async._types import UNSET, OpenEnum, Unset

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("codegen", "templates/readers"),
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
)

_KINDS = {str: "str", int: "int", bool: "bool"}  # kept as they are when of exactly that type


@attrs.frozen
class Place:
    """Where a value sits, as its misfit reports it."""

    model: str
    field: str  # relative to the model: "actors", "actors[]", "data{}"

    def misfit(self, declared: str, v: str) -> str:
        return f"r.misfit(at, {self.model!r}, {self.field!r}, {declared!r}, {v})"

    def args(self) -> str:
        return f"r, at, {self.model!r}, {self.field!r}"


@attrs.define
class _Writer:
    """The expressions of one module; `choices` and `enums` are what they refer to."""

    choices: list[dict[str, str]] = attrs.Factory(list)
    needs: set[str] = attrs.Factory(set)  # the models and enums the code refers to
    before: list[str] = attrs.Factory(list)  # lines the current field needs first
    counter: int = 0

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def field(self, tp: Any, v: str, place: Place, *, required: bool) -> str:
        members = _members(tp)
        passes = []
        if Unset in members and not required:
            passes.append(f"{v} is UNSET")
        if type(None) in members:
            passes.append(f"{v} is None")
        rest = [m for m in members if m not in (Unset, type(None))]
        inner = self.members(rest, v, place, declared(tp))
        if rest == [Any] and required:  # anything fits, but not nothing at all
            return f"{place.misfit(declared(tp), v)} if {v} is UNSET else {v}"
        return f"{v} if {' or '.join(passes)} else {inner}" if passes else inner

    def members(self, rest: list[Any], v: str, place: Place, declared_as: str) -> str:
        if len(rest) == 1:
            return self.single(rest[0], v, place)
        models = [m for m in rest if attrs.has(m)]
        kinds = [m for m in rest if not attrs.has(m)]
        unknown = [m for m in kinds if _kind(m) is None]
        if unknown:
            raise SystemExit(f"{place.model}.{place.field}: no reader for a union with {unknown}")
        kinds_source = "(" + "".join(f"{_kind(m)}, " for m in kinds) + ")"
        if not models:
            return f"{v} if type({v}) in {kinds_source} else {place.misfit(declared_as, v)}"
        choice = self.choice(models)
        return f"read_union({v}, {kinds_source}, {choice}, {place.args()}, {declared_as!r})"

    def choice(self, models: list[type]) -> str:
        name = "CHOICE_" + "_".join(m.__name__ for m in models)
        if any(choice["name"] == name for choice in self.choices):
            return name
        self.needs.update(m.__name__ for m in models)
        tag = discriminator(models)
        self.choices.append(
            {
                "name": name,
                "models": _tuple(m.__name__ for m in models),
                "readers": _tuple(f"read_{m.__name__}" for m in models),
                "tag": repr(tag),
            }
        )
        return name

    def single(self, tp: Any, v: str, place: Place) -> str:
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        misfit = place.misfit(declared(tp), v)
        if tp is Any:
            return v
        if tp in _KINDS:
            return f"{v} if type({v}) is {_KINDS[tp]} else {misfit}"
        if tp is float:  # JSON has one kind of number: an int is a float too
            return f"{v} if type({v}) is float else float({v}) if type({v}) is int else {misfit}"
        if tp is dt.datetime or tp is dt.date:
            return f"read_{tp.__name__}({v}, {place.args()})"
        if origin is typing.Literal and all(isinstance(a, str) for a in args):
            allowed = repr(args[0]) if len(args) == 1 else repr(args)
            return f"{v} if {v} {'==' if len(args) == 1 else 'in'} {allowed} else {misfit}"
        if isinstance(tp, type) and issubclass(tp, OpenEnum):  # any str: unknown values are kept
            self.needs.add(tp.__name__)
            return f"{tp.__name__}({v}) if type({v}) is str else {misfit}"
        if attrs.has(tp):
            self.needs.add(tp.__name__)
            return f"read_{tp.__name__}({v}, r, at + {place.field + '.'!r})"
        if origin is list and len(args) == 1:
            return self.sequence(args[0], v, place, misfit)
        if origin is dict and args[0] is str:
            if args[1] is Any:
                return f"{v} if type({v}) is dict else {misfit}"
            x = self.fresh("x")
            item = self.item(args[1], x, Place(place.model, place.field + "{}"))
            return f"{{k: {item} for k, {x} in {v}.items()}} if type({v}) is dict else {misfit}"
        raise SystemExit(f"{place.model}.{place.field}: no reader for {tp}")

    def sequence(self, tp: Any, v: str, place: Place, misfit: str) -> str:
        e = self.fresh("e")
        inner = Place(place.model, place.field + "[]")
        if attrs.has(tp):  # the prefix of the elements' paths, made once per list
            self.needs.add(tp.__name__)
            prefix = self.fresh("p")
            self.before.append(f"{prefix} = at + {inner.field + '.'!r}")
            item = f"read_{tp.__name__}({e}, r, {prefix})"
        else:
            item = self.item(tp, e, inner)
        return f"[{item} for {e} in {v}] if type({v}) is list else {misfit}"

    def item(self, tp: Any, v: str, place: Place) -> str:
        """An element of a list or a value of a dict: never absent."""
        return self.field(tp, v, place, required=True)


def _tuple(items: Iterable[str]) -> str:
    """The inside of a tuple's parentheses."""
    listed = list(items)
    return ", ".join(listed) + ("," if len(listed) == 1 else "")


def _members(tp: Any) -> list[Any]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return list(typing.get_args(tp))
    return [tp]


def _kind(tp: Any) -> str | None:
    """The Python type of the JSON values a union member keeps as they are, if it is one."""
    if tp in _KINDS:
        return _KINDS[tp]
    if typing.get_origin(tp) is dict and typing.get_args(tp) == (str, Any):
        return "dict"
    return None


def declared(tp: Any) -> str:
    """What the document declares, as a report names it."""
    members = [m for m in _members(tp) if m is not Unset]
    if len(members) > 1:
        return " | ".join(declared(m) for m in members)
    tp = members[0]
    if tp is type(None):
        return "None"
    if tp is Any:
        return "Any"
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Literal:
        return f"Literal[{', '.join(repr(a) for a in args)}]"
    if origin is not None:
        return f"{origin.__name__}[{', '.join(declared(a) for a in args)}]"
    return str(tp.__name__)


def _model(cls: type, writer: _Writer) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    fields = []
    for field in attrs.fields(cls):
        if field.name == EXTRAS:
            continue
        if not field.init or isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            raise SystemExit(f"{cls.__name__}.{field.name}: the readers expect plain fields")
        required = field.default is attrs.NOTHING
        writer.before, writer.counter = [], 0
        value = writer.field(hints[field.name], "v", Place(cls.__name__, wire_name(field)), required=required)
        absent = "UNSET" if field.default in (UNSET, attrs.NOTHING) else repr(field.default)
        fields.append(
            {"name": field.name, "wire": repr(wire_name(field)), "absent": absent, "value": value,
             "before": writer.before}
        )  # fmt: skip
    known = sorted(wire_name(f) for f in attrs.fields(cls) if f.name != EXTRAS)
    # Written sorted (a set's repr follows the string hashes, which change per process).
    written = "{" + ", ".join(repr(name) for name in known) + "}" if known else ""
    return {"name": cls.__name__, "known": written, "fields": fields}


@attrs.frozen
class ReaderCode:
    code: str  # the reader of one model, to follow its class in the model's module
    choices: str  # the unions it reads: after the imports of the models they name
    needs: frozenset[str]  # the other models and enums it refers to


def render_readers(models_file: Path) -> dict[str, ReaderCode]:
    """The reader of each model class of the rendered models module `models_file`, by name."""
    module = _load(models_file)
    try:  # type hints are resolved in the module's namespace: it stays in sys.modules till then
        classes = [
            value
            for value in vars(module).values()
            if isinstance(value, type) and value.__module__ == module.__name__ and attrs.has(value)
        ]
        return {cls.__name__: _reader(cls) for cls in classes}
    finally:
        del sys.modules[module.__name__]


def _reader(cls: type) -> ReaderCode:
    writer = _Writer()
    model = _model(cls, writer)
    code = _env.get_template("reader.py.jinja2").render(model=model)
    choices = "".join(
        f"{c['name']} = Choice(({c['models']}), ({c['readers']}), {c['tag']})\n" for c in writer.choices
    )
    return ReaderCode(code, choices, frozenset(writer.needs - {cls.__name__}))


def _load(path: Path) -> types.ModuleType:
    """The rendered models module, imported under a name of its own (not a package module)."""
    name = f"_knock_codegen_models_{abs(hash(path))}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
