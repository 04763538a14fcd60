"""Response models -> JSON schema; validation of whole and partial JSON."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from abstractcore_actors import ValidationError
from abstractcore_actors._structured._partial import json_text, parse_partial
from abstractcore_actors._structured._response_model import Invalid
from abstractcore_actors.structured import response_model

from .conftest import ADA, PERSON_JSON, Mood, Person, Pet


def test_an_attrs_class_becomes_a_closed_json_schema() -> None:
    schema = response_model(Person).schema
    assert schema["required"] == ["name", "age", "mood", "pets"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["mood"] == {"type": "string", "enum": ["happy", "sad"]}
    pet = schema["properties"]["pets"]["items"]
    assert pet["properties"]["kind"] == {"type": "string", "enum": ["cat", "dog"]}
    # one schema engine with tools: nullable as a type list, no defaults (strict mode)
    assert schema["properties"]["nickname"] == {"type": ["string", "null"]}


def test_parse_builds_the_typed_instance() -> None:
    assert response_model(Person).parse(json.loads(PERSON_JSON)) == ADA


def test_dataclasses_work_too() -> None:
    @dataclasses.dataclass
    class Point:
        x: float
        y: float = 0.0
        tags: tuple[str, ...] = ()

    model = response_model(Point)
    assert model.schema["required"] == ["x"]
    assert model.parse({"x": 1, "tags": ["a"]}) == Point(x=1.0, tags=("a",))


def test_problems_name_the_path_and_what_is_wrong() -> None:
    model = response_model(Person)
    with pytest.raises(Invalid) as info:
        model.parse(
            {"name": "Ada", "age": "36", "mood": "bored", "pets": [{"name": "T", "kind": "cow"}]}
            | {"extra": 1}
        )
    paths = dict(info.value.problems)
    assert set(paths) == {"age", "mood", "pets[0].kind", "extra"}
    assert "expected integer" in paths["age"]
    assert "unknown field" in paths["extra"]


def test_a_dict_schema_validates_and_returns_the_dict() -> None:
    schema = {
        "type": "object",
        "properties": {"tags": {"type": "array", "items": {"type": "string"}}},
        "required": ["tags"],
        "additionalProperties": False,
    }
    model = response_model(schema)
    assert model.parse({"tags": ["a"]}) == {"tags": ["a"]}
    assert model.problems({"tags": [1]}) == [("tags[0]", "expected string, got integer 1")]
    assert model.problems({}) == [("tags", "missing (it is required)")]


def test_pydantic_models_use_model_validate() -> None:
    pydantic = pytest.importorskip("pydantic")

    class Item(pydantic.BaseModel):
        name: str
        count: int

    class Order(pydantic.BaseModel):
        items: list[Item]

    model = response_model(Order)
    assert model.parse({"items": [{"name": "a", "count": 2}]}) == Order(
        items=[Item(name="a", count=2)]
    )
    # nested models are $refs; the validator follows them
    assert model.problems({"items": [{"name": "a", "count": "x"}]})


@pytest.mark.parametrize("bad", [complex, 42, "Person", {"type": "string"}])
def test_what_has_no_json_schema_is_refused_with_advice(bad: Any) -> None:
    with pytest.raises(ValidationError, match=r"attrs class or dataclass|must describe an object"):
        response_model(bad)


def test_an_unsupported_field_type_is_named() -> None:
    @attrs.frozen
    class Bad:
        when: complex

    with pytest.raises(ValidationError, match=r"Bad\.when"):
        response_model(Bad)


def test_partial_checks_judge_only_finished_fields() -> None:
    model = response_model(Person)
    # the last field is still being written: "ha" may become "happy"
    assert model.problems({"name": "Ada", "mood": "ha"}, complete=False) == []
    # but no enum value starts with "x"
    assert model.problems({"name": "Ada", "mood": "x"}, complete=False)
    # a finished field of the wrong type is wrong at once
    assert model.problems({"age": "36", "name": "A"}, complete=False)
    # required fields wait for the object to close
    assert model.problems({"name": "Ada"}, complete=False) == []


def test_fences_and_chatter_are_stripped() -> None:
    assert json_text('```json\n{"a": 1}\n```') == '{"a": 1}'
    assert json_text('Sure! {"a": 1}') == '{"a": 1}'
    assert parse_partial('```json\n{"a": 1, "b": "x') == {"a": 1, "b": "x"}
    assert parse_partial('{"a": 12') == {}  # 12 may become 123
    assert parse_partial("no json yet") is None


def _compatible(partial: Any, final: Any) -> bool:
    """`partial` is a snapshot that `final` could have grown from."""
    if isinstance(partial, dict):
        return isinstance(final, dict) and all(
            k in final and _compatible(v, final[k]) for k, v in partial.items()
        )
    if isinstance(partial, list):
        return (
            isinstance(final, list)
            and len(partial) <= len(final)
            and all(_compatible(p, f) for p, f in zip(partial, final, strict=False))
        )
    if isinstance(partial, str):
        return isinstance(final, str) and final.startswith(partial)
    return partial == final and type(partial) is type(final)


people = st.builds(
    Person,
    name=st.text(max_size=12),
    age=st.integers(min_value=-(10**12), max_value=10**12),
    mood=st.sampled_from(Mood),
    pets=st.lists(
        st.builds(Pet, name=st.text(max_size=8), kind=st.sampled_from(["cat", "dog"])), max_size=3
    ),
    nickname=st.none() | st.text(max_size=8),
)


def _to_json(person: Person) -> str:
    data = attrs.asdict(person, value_serializer=lambda _i, _a, v: getattr(v, "value", v))
    return json.dumps(data, ensure_ascii=False)


@given(person=people, cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=6))
def test_every_prefix_is_a_snapshot_the_final_object_grows_from(
    person: Person, cuts: list[int]
) -> None:
    text = _to_json(person)
    final = json.loads(text)
    model = response_model(Person)
    for cut in sorted({min(c, len(text)) for c in cuts}):
        partial = parse_partial(text[:cut])
        if partial is None:
            continue
        assert _compatible(partial, final), (text[:cut], partial)
        assert model.problems(partial, complete=False) == []
    assert model.parse(parse_partial(text)) == person
