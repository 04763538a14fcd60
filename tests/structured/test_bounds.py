"""The validator's bounds (minimum ... maxProperties): what pydantic's
`Field(ge=..., max_length=...)` writes into a schema is checked, whole and
while streaming, and a bound of the wrong type is a schema problem."""

from __future__ import annotations

from typing import Any

import hypothesis.strategies as st
import pydantic
import pytest
from hypothesis import given

from abstractcore_actors._schema import Validator
from abstractcore_actors._structured import schema_problem


class Order(pydantic.BaseModel):
    quantity: int = pydantic.Field(ge=1, le=10)
    price: float = pydantic.Field(gt=0, lt=1000, multiple_of=0.5)
    code: str = pydantic.Field(min_length=2, max_length=5)
    tags: list[str] = pydantic.Field(min_length=1, max_length=3)


SCHEMA = Order.model_json_schema()
GOOD = {"quantity": 3, "price": 9.5, "code": "AB1", "tags": ["x"]}


def problems(value: object, *, complete: bool = True) -> list[str]:
    return [
        f"{path}: {what}" for path, what in Validator(SCHEMA).problems(value, complete=complete)
    ]


def test_pydantic_bounds_are_understood_and_a_good_answer_passes() -> None:
    assert schema_problem(SCHEMA, checkable=True) is None
    assert problems(GOOD) == []


@pytest.mark.parametrize(
    "change, words",
    [
        ({"quantity": 0}, "quantity: must be >= 1"),
        ({"quantity": 11}, "quantity: must be <= 10"),
        ({"price": 0}, "price: must be > 0"),
        ({"price": 1000}, "price: must be < 1000"),
        ({"price": 9.25}, "price: must be a multiple of 0.5"),
        ({"code": "A"}, "code: has 1 characters, fewer than the 2 required"),
        ({"code": "ABCDEF"}, "code: has 6 characters, more than the 5 allowed"),
        ({"tags": []}, "tags: has 0 items, fewer than the 1 required"),
        ({"tags": ["a", "b", "c", "d"]}, "tags: has 4 items, more than the 3 allowed"),
    ],
)
def test_each_bound_names_the_field_and_the_limit(change: dict[str, Any], words: str) -> None:
    [found] = problems({**GOOD, **change})
    assert found.startswith(words)


def test_while_streaming_only_what_cannot_change_is_judged() -> None:
    # the last field is still streaming: "A" may grow into "AB", 0 into 0.5;
    # but "ABCDEF" can only grow longer, and a finished field is judged
    assert problems({"quantity": 3, "code": "A"}, complete=False) == []
    assert problems({"code": "AB", "quantity": 0}, complete=False) == []
    assert problems({"quantity": 3, "code": "ABCDEF"}, complete=False) == [
        "code: has 6 characters, more than the 5 allowed"
    ]
    assert problems({"code": "A", "quantity": 3}, complete=False) == [
        "code: has 1 characters, fewer than the 2 required"
    ]


def test_unique_items_and_property_counts() -> None:
    schema = {
        "type": "object",
        "properties": {"ids": {"type": "array", "uniqueItems": True}},
        "minProperties": 1,
        "maxProperties": 1,
    }
    check = Validator(schema).problems
    assert check({"ids": [1, True, "1"]}) == []  # true is not 1 in JSON
    assert check({"ids": [1, 2, 1]}) == [("ids[2]", "repeats an earlier item 1")]
    assert check({}) == [("the answer", "has 0 fields, fewer than the 1 required")]
    assert check({"ids": [], "x": 1}) == [("the answer", "has 2 fields, more than the 1 allowed")]


@pytest.mark.parametrize(
    "bound, value, words",
    [
        ("minimum", "1", "must be a finite number"),
        ("maximum", True, "must be a finite number"),
        ("multipleOf", 0, "must be a number > 0"),
        ("maxLength", -1, "must be a whole number >= 0"),
        ("minItems", 1.5, "must be a whole number >= 0"),
        ("uniqueItems", 1, "must be true or false"),
    ],
)
def test_a_bound_of_the_wrong_type_is_a_schema_problem(bound: str, value: Any, words: str) -> None:
    problem = schema_problem({"type": "object", "properties": {"a": {bound: value}}})
    assert problem is not None
    assert problem[0] == f"properties.a.{bound}" and words in problem[1]


def test_a_pattern_runs_in_linear_time_and_one_re2_cannot_run_is_named() -> None:
    # `(a+)+$` makes Python's re backtrack for minutes on this; RE2 answers at once
    hostile = {"type": "string", "pattern": "(a+)+$"}
    assert schema_problem(hostile, checkable=True) is None
    [(where, what)] = Validator(hostile).problems("a" * 50_000 + "!")
    assert where == "the answer" and what.startswith("must match the pattern '(a+)+$', got 'aaa")
    assert Validator(hostile).problems("xaa") == []  # a match anywhere: JSON Schema's rule
    lookahead = {"type": "string", "pattern": "^(?=a)"}
    problem = schema_problem(lookahead, checkable=True)
    assert problem is not None and problem[0] == "pattern"
    assert "invalid perl operator" in problem[1] and "no lookarounds" in problem[1]
    # where not every constraint must hold (a tool's schema), it is skipped
    assert schema_problem(lookahead) is None and Validator(lookahead).problems("b") == []
    assert schema_problem({"type": "string", "pattern": 5}) == (
        "pattern",
        "must be a regular expression string (got integer)",
    )


def test_a_pattern_waits_for_the_string_to_finish() -> None:
    zip_code = {
        "type": "object",
        "properties": {"zip": {"type": "string", "pattern": "^[0-9]{5}$"}},
    }
    partial = Validator(zip_code)
    assert partial.problems({"zip": "123"}, complete=False) == []  # still being streamed
    assert partial.problems({"zip": "123"}) == [
        ("zip", "must match the pattern '^[0-9]{5}$', got '123'")
    ]
    assert partial.problems({"zip": "12345"}) == []


@given(
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
        max_leaves=12,
    ),
    complete=st.booleans(),
)
def test_any_value_gets_problems_never_an_exception(value: object, complete: bool) -> None:
    for found in (Validator(SCHEMA).problems(value, complete=complete),):
        assert all(isinstance(path, str) and what for path, what in found)
