"""The incremental parser and validator of streamed structured output, held
against the whole-text ways they replace (jiter's partial parse of the text
so far, `Validator.problems` on that partial) over every split hypothesis
draws: the same partial at every piece, the same final value, the same
problems at the same first bad field, snapshots that stay as they were."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from abstractcore_actors._schema import StreamingValidator, Validator
from abstractcore_actors._structured._incremental import IncrementalJSON
from abstractcore_actors._structured._partial import parse_partial

# Strings without ``` (the whole-text partial cuts a fence even inside a
# string; the incremental parser reads it as text) and without lone surrogates.
_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12).filter(
    lambda s: "```" not in s
)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=20,
)
_objects = st.dictionaries(_text, _values, max_size=5)


@st.composite
def documents(draw: st.DrawFn) -> str:
    """A JSON object as a model may write it: any spacing, escaped or raw
    non-ASCII, sometimes in a fence or after a word of chatter."""
    value = draw(_objects)
    body = json.dumps(
        value,
        ensure_ascii=draw(st.booleans()),
        indent=draw(st.none() | st.integers(0, 2)),
        separators=draw(st.sampled_from([None, (",", ":"), (" , ", " : ")])),
    )
    wrap = draw(st.sampled_from(["{}", "```json\n{}\n```", "Here it is: {}", " {} "]))
    return wrap.replace("{}", body, 1)


def _cuts(draw: st.DrawFn, text: str) -> list[int]:
    points = draw(st.lists(st.integers(1, max(len(text) - 1, 1)), max_size=12))
    return [*sorted({p for p in points if 0 < p < len(text)}), len(text)]


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_split_gives_the_partials_and_the_value_of_parsing_whole(data: st.DataObject) -> None:
    text = data.draw(documents())
    parser = IncrementalJSON()
    snapshots = []
    start = 0
    for end in _cuts(data.draw, text):
        parser.feed(text[start:end])
        start = end
        expected = parse_partial(text[:end])
        got = parser.snapshot().value() if parser.usable else None
        assert got == expected, text[:end]
        if parser.usable:
            snapshots.append((parser.snapshot(), expected))
    assert parser.closed
    assert parser.snapshot().value() == json.loads(text[text.index("{") :].split("```")[0])
    # read only now, after the rest was parsed: each is as it was when taken
    for snapshot, expected in snapshots:
        assert snapshot.value() == expected


SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "tags"],
    "properties": {
        "name": {"type": "string", "maxLength": 6},
        "kind": {"enum": ["cat", "dog"]},
        "tags": {"type": "array", "maxItems": 3, "items": {"type": "string"}},
        "pets": {
            "type": "array",
            "items": {
                "anyOf": [
                    {"type": "null"},
                    {
                        "type": "object",
                        "properties": {"age": {"type": "integer", "minimum": 0}},
                        "additionalProperties": False,
                    },
                ]
            },
        },
    },
}
_fields = st.fixed_dictionaries(
    {},
    optional={
        "name": st.text("abc", max_size=9),
        "kind": st.sampled_from(["cat", "dog", "cow", "ca"]),
        "tags": st.lists(st.sampled_from(["a", "b"]) | st.integers(0, 3), max_size=5),
        "pets": st.lists(
            st.none()
            | st.fixed_dictionaries({}, optional={"age": st.integers(-2, 5) | st.just("x")}),
            max_size=4,
        ),
        "extra": st.just(1),
    },
)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_problems_are_those_of_validating_the_whole_partial(data: st.DataObject) -> None:
    text = json.dumps(data.draw(_fields))
    parser = IncrementalJSON()
    streaming, whole = StreamingValidator(SCHEMA), Validator(SCHEMA)
    start = 0
    for end in _cuts(data.draw, text):
        moved = parser.feed(text[start:end])
        start = end
        if not (moved and parser.usable):
            continue
        assert parser.root is not None
        parser.refresh()
        expected = whole.problems(parse_partial(text[:end]), complete=False)
        assert streaming.problems(parser.root, complete=False) == expected, text[:end]
        if expected:
            return  # the stream is cut here: at the same first bad field


def test_an_answer_nested_too_deep_has_no_partial() -> None:
    parser = IncrementalJSON(max_depth=3)
    parser.feed('{"a": {"b": {"c": ')
    assert parser.usable
    parser.feed('{"d": 1}}}}')
    assert not parser.usable
    assert parse_partial('{"a": {"b": {"c": {"d": 1}}}}') is not None  # the default limit


def test_text_that_stops_being_json_leaves_the_last_partial() -> None:
    parser = IncrementalJSON()
    parser.feed('{"a": 1, ')
    assert parser.snapshot().value() == {"a": 1}
    parser.feed("oops")
    assert not parser.usable  # the final parse says where and why
