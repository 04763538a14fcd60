"""Our JSON-schema validator gives the verdict `jsonschema` (the reference
implementation) gives, for every schema of the keywords it implements and
any JSON value; hypothesis draws both."""

from __future__ import annotations

from typing import Any

import jsonschema
from hypothesis import given, settings
from hypothesis import strategies as st

from abstractcore_actors._schema import Validator

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats(-5, 5, allow_nan=False)
    | st.text(max_size=3)
    | st.text("abc0", max_size=3)  # strings the patterns below can match
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("abc"), inner, max_size=3)
    ),
    max_leaves=8,
)
PATTERNS = ["^a", "b$", "^[ab]*$", "c", "^$", "^.{2}$", "[0-9]", "^(a|bc)+$"]
type_names = st.sampled_from(["string", "integer", "number", "boolean", "null", "array", "object"])


def _leaf() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.builds(lambda t: {"type": t}, type_names),
        st.builds(
            lambda ts: {"type": ts}, st.lists(type_names, min_size=1, max_size=3, unique=True)
        ),
        st.builds(lambda e: {"enum": e}, st.lists(scalars, min_size=1, max_size=3)),
        st.builds(lambda c: {"const": c}, scalars),
        st.builds(lambda n: {"type": "integer", "minimum": n}, st.integers(-3, 3)),
        st.builds(lambda n: {"type": "number", "exclusiveMaximum": n}, st.integers(-3, 3)),
        st.builds(lambda n: {"type": "string", "maxLength": n}, st.integers(0, 3)),
        st.builds(lambda n: {"type": "array", "minItems": n}, st.integers(0, 3)),
        st.builds(lambda u: {"type": "array", "uniqueItems": u}, st.booleans()),
        # patterns RE2 and Python's re (the reference's engine) read alike
        st.builds(lambda p: {"type": "string", "pattern": p}, st.sampled_from(PATTERNS)),
    )


schemas = st.recursive(
    _leaf(),
    lambda inner: st.one_of(
        st.builds(lambda i: {"type": "array", "items": i}, inner),
        st.builds(
            lambda props, req, extra: {
                "type": "object",
                "properties": props,
                "required": [k for k in req if k in props],
                "additionalProperties": extra,
            },
            st.dictionaries(st.sampled_from("abc"), inner, max_size=3),
            st.lists(st.sampled_from("abc"), unique=True, max_size=3),
            st.booleans() | inner,
        ),
        st.builds(lambda opts: {"anyOf": opts}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda opts: {"oneOf": opts}, st.lists(inner, min_size=1, max_size=3)),
    ),
    max_leaves=6,
)


@settings(max_examples=400)
@given(schemas, values)
def test_our_verdict_is_the_reference_verdict(schema: dict[str, Any], value: object) -> None:
    ours = not Validator(schema).problems(value)
    reference = jsonschema.Draft202012Validator(schema).is_valid(value)
    assert ours == reference, Validator(schema).problems(value)
