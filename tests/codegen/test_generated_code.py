"""How code generated from fixtures/shapes.yaml behaves: built, structured and unstructured
through knock_async's converter, and called through a recording transport."""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import typing
from types import ModuleType
from typing import Any

import pytest

from knock_async._convert import converter
from knock_async._types import UNSET, Limit, Operation, Pagination


def test_a_const_typename_is_a_literal_with_a_default(shapes: ModuleType) -> None:
    cat = shapes.Cat(meows=True)
    assert cat.typename == "Cat"
    assert typing.get_type_hints(shapes.Cat)["typename"] == typing.Literal["Cat"]
    # written on the wire, though it was never passed
    assert converter.unstructure(cat) == {"__typename": "Cat", "meows": True}


def test_repr_leaves_out_unset_fields_and_empty_extras(shapes: ModuleType) -> None:
    assert repr(shapes.Pet(id="p1")) == "Pet(typename='Pet', id='p1')"
    assert repr(shapes.Pet(id="p1", name=None)) == "Pet(typename='Pet', id='p1', name=None)"
    pet = converter.structure({"__typename": "Pet", "id": "p1", "colour": "red"}, shapes.Pet)
    assert repr(pet) == "Pet(typename='Pet', id='p1', additional_properties={'colour': 'red'})"


def test_repr_hides_secrets_and_fields_that_can_hold_one(shapes: ModuleType) -> None:
    assert repr(shapes.Credentials(token="tok-s3cret")) == "Credentials(token=<hidden>)"
    # `data` also takes a plain dict, which has no repr of its own to hide the token
    request = shapes.SetPetRequest(name="Rex", data={"token": "tok-s3cret"}, nickname="R")
    assert repr(request) == "SetPetRequest(name='Rex', data=<hidden>, nickname='R')"
    owners = shapes.SetPetRequest(name="Rex", owners=[{"name": "Ada", "api_key": "key-s3cret"}])
    assert "s3cret" not in repr(owners)


def test_discriminated_union_in_an_array_and_union_without_discriminator(shapes: ModuleType) -> None:
    payload = {
        "__typename": "Pet",
        "id": "p1",
        "friends": [{"__typename": "Dog", "barks": 3}, {"__typename": "Cat", "meows": False}],
        "shape": {"__typename": "Dog"},
        "toy": "ball",
    }
    pet = converter.structure(payload, shapes.Pet)
    assert [type(friend) for friend in pet.friends] == [shapes.Dog, shapes.Cat]
    assert isinstance(pet.shape, shapes.Dog)
    assert pet.toy == "ball"
    assert converter.unstructure(pet) == payload


def test_nullable_enum_datetime_map_and_recursion_round_trip(shapes: ModuleType) -> None:
    payload = {
        "__typename": "Pet",
        "id": "p1",
        "name": None,
        "mood": "grumpy",  # unknown to the document: kept as it is
        "size": "small",
        "born_at": "2024-05-02T15:04:05Z",
        "scores": {"agility": 7},
        "family": {"label": "root", "children": [{"label": "leaf", "children": []}]},
        "toy": {"label": "rope"},
    }
    pet = converter.structure(payload, shapes.Pet)
    assert pet.name is None and pet.weight is UNSET
    assert pet.mood.value == "grumpy" and pet.size is shapes.Size.SMALL
    assert pet.born_at == dt.datetime(2024, 5, 2, 15, 4, 5, tzinfo=dt.timezone.utc)
    assert pet.family.children[0].label == "leaf"
    assert isinstance(pet.toy, shapes.TreeNode)
    assert converter.unstructure(pet) == payload


def test_each_enum_has_an_alias_of_its_values(shapes: ModuleType) -> None:
    assert typing.get_args(shapes.MoodValue) == tuple(member.value for member in shapes.Mood)
    assert typing.get_args(shapes.SizeValue) == ("small", "large")


def test_operations_carry_every_extension(pets: ModuleType) -> None:
    expected = Operation(
        id="pets.set",
        method="PUT",
        path="/v1/pets/{pet_id}",
        tier=3,
        response=pets.models.Pet,
        limits=(
            Limit(field="owners", max_items=10),
            Limit(field="owners[].keys", max_items=5),
            Limit(field="data", max_bytes=1000),
        ),
        lists=frozenset({"owners", "owners[].keys"}),
        secret_fields=frozenset({"api_key", "token"}),
        body_kinds=(
            ("name", "string"),
            ("mood", "string"),
            ("owners", "array[object]"),
            ("data", "object"),
            ("vault", "object"),
            ("nickname", "string|null"),
            ("from", "string"),
        ),
    )
    assert expected == pets._PETS_SET
    assert pets._PETS_GET.publishable and pets._PETS_GET.lists == {"tags[]"}
    assert pets._PETS_LIST.pagination == Pagination(
        items="entries", next="page_info.after", cursor_param="after"
    )
    assert pets._PETS_BULK_FORGET.response is None


class RecordingTransport:
    def __init__(self) -> None:
        self.calls: list[tuple[Operation[Any], dict[str, Any]]] = []

    async def request(self, operation: Operation[Any], **parts: Any) -> None:
        self.calls.append((operation, parts))


async def test_methods_send_wire_names_and_custom_properties(pets: ModuleType) -> None:
    transport = RecordingTransport()
    namespace = pets.Pets(transport)
    await namespace.set("p1", name="Rex", nickname=None, custom_properties={"colour": "red"})
    await namespace.get("p1", tags=["a"])
    await namespace.bulk.forget()
    (set_op, set_parts), (get_op, get_parts), (forget_op, _) = transport.calls
    assert set_op is pets._PETS_SET and forget_op is pets._PETS_BULK_FORGET
    assert set_parts["path"] == {"pet_id": "p1"}
    assert set_parts["body"]["name"] == "Rex" and set_parts["body"]["nickname"] is None
    assert set_parts["body"]["mood"] is UNSET
    assert set_parts["extra_body"] == {"colour": "red"}
    assert get_op is pets._PETS_GET and get_parts["query"]["tags[]"] == ["a"]


def test_signatures_are_short_and_name_each_enum_once(pets: ModuleType) -> None:
    parameters = inspect.signature(pets.Pets.set).parameters
    assert parameters["nickname"].annotation == "Nullable[str]"
    assert parameters["mood"].annotation == "models.MoodValue | Unset"
    assert inspect.signature(pets.Pets.get).parameters["mood"].annotation == "models.MoodValue | Unset"


def test_operations_come_after_the_classes(pets: ModuleType) -> None:
    source = inspect.getsource(pets)
    assert source.index("class Pets:") < source.index("_PETS_GET: Operation")


@pytest.mark.parametrize(
    "module_name",
    [
        "fixture_shapes.models",
        "fixture_shapes.resources.pets",
        "knock_async.models",
        *(f"knock_async.resources.{name}" for name in ("users", "objects", "messages")),
    ],
)
def test_public_classes_report_the_module_they_are_imported_from(pets: ModuleType, module_name: str) -> None:
    module = importlib.import_module(module_name)
    for name in getattr(module, "__all__", ()):  # models are built on first use: build them all
        getattr(module, name)
    package = module_name.split(".")[0]
    generated = (f"{package}.models", f"{package}.resources")
    public = [value for name, value in vars(module).items() if not name.startswith("_")]
    classes = [cls for cls in public if isinstance(cls, type) and cls.__module__.startswith(generated)]
    assert classes
    # Where users import them from, whatever file defines them (not a private submodule).
    assert [cls for cls in classes if cls.__module__ != module_name] == []


async def test_wire_names_that_are_no_python_names(shapes: ModuleType, pets: ModuleType) -> None:
    payload = {"__typename": "Pet", "id": "p1", "__persistence_strategy__": "merge", "from": "shelter"}
    pet = converter.structure(payload, shapes.Pet)
    assert (pet.persistence_strategy, pet.from_) == ("merge", "shelter")
    assert converter.unstructure(pet) == payload
    transport = RecordingTransport()
    await pets.Pets(transport).set("p1", name="Rex", from_="shelter")
    assert transport.calls[0][1]["body"]["from"] == "shelter"
