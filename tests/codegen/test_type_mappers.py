"""The two type mappers agree: for every property of every model, the type the generated model
declares (datamodel-code-generator) is the type codegen.hints gives the same schema (method
parameters, return types and the API surface)."""

from __future__ import annotations

import builtins
import datetime
import typing
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from codegen.generate import SPEC, check_document
from codegen.hints import TypeNamer
from codegen.spec import Schema, load_spec, python_name

from knock_async import models as knock_models
from knock_async._types import Unset

from .conftest import FIXTURES


def _pairs(spec: Schema, models: ModuleType) -> list[tuple[str, Any, Any]]:
    """(where, type of the model field without UNSET, type codegen.hints names)."""
    schemas = spec["components"]["schemas"]
    namer = TypeNamer(spec, set(schemas))
    scope = {
        "models": models,
        "builtins": builtins,
        "datetime": datetime,
        "Any": Any,
        "Literal": typing.Literal,
    }
    pairs = []
    for name, schema in schemas.items():
        if "properties" not in schema:
            continue
        declared = typing.get_type_hints(getattr(models, name))
        for wire, prop in schema["properties"].items():
            field = python_name(wire)
            named = eval(namer.field_hint(name, wire, prop), scope)
            pairs.append((f"{name}.{field}", _without_unset(declared[field]), named))
    return pairs


def _without_unset(tp: Any) -> Any:
    members = [member for member in typing.get_args(tp) if member is not Unset]
    if typing.get_origin(tp) in (typing.Union, type(int | str)) and len(members) < len(typing.get_args(tp)):
        return typing.Union[tuple(members)] if len(members) > 1 else members[0]  # noqa: UP007
    return tp


def test_the_mappers_agree_on_every_model_of_the_fixture(shapes: ModuleType) -> None:
    pairs = _pairs(load_spec(FIXTURES / "shapes.yaml"), shapes)
    assert len(pairs) > 30
    assert [where for where, declared, named in pairs if declared != named] == []


def test_the_mappers_agree_on_every_model_of_the_knock_document() -> None:
    pairs = _pairs(load_spec(SPEC), knock_models)
    assert len(pairs) > 300
    assert [where for where, declared, named in pairs if declared != named] == []


def test_an_enum_inside_a_model_must_be_named(tmp_path: Path) -> None:
    spec = {"components": {"schemas": {"Pet": {"properties": {"size": {"type": "string", "enum": ["s"]}}}}}}
    with pytest.raises(SystemExit, match=r"Pet\.size: an enum in a model must be a schema of its own"):
        check_document(spec)
