"""The depth check before parsing JSON from outside: exact, and never a RecursionError."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from abstractcore_actors import _json_depth
from abstractcore_actors.types import ToolCall

# Strings full of what the scan must not count: brackets, quotes, backslashes.
_TRICKY = st.text(alphabet=st.sampled_from('[]{}"\\ab\n\u00e9'), max_size=12)
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | _TRICKY,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TRICKY, inner, max_size=4),
    max_leaves=40,
)


def depth_of(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    return 0


def tower(value: Any, levels: int) -> Any:
    for i in range(levels):
        value = [value] if i % 2 else {"k": value}
    return value


@given(
    value=_VALUES,
    levels=st.integers(0, 12),
    limit=st.integers(1, 14),
    ascii_only=st.booleans(),
)
def test_deeper_than_is_exact(value: Any, levels: int, limit: int, ascii_only: bool) -> None:
    value = tower(value, levels)
    text = json.dumps(value, ensure_ascii=ascii_only)
    expected = depth_of(value) > limit
    assert _json_depth.deeper_than(text, limit) is expected
    assert _json_depth.deeper_than(text.encode(), limit) is expected


@given(value=_VALUES, limit=st.integers(1, 6))
def test_loads_parses_what_is_within_the_limit(value: Any, limit: int) -> None:
    text = json.dumps(value)
    if depth_of(value) > limit:
        with pytest.raises(_json_depth.TooDeep):
            _json_depth.loads(text, limit)
    else:
        assert _json_depth.loads(text, limit) == value


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        "[" * 100_000,  # never closed
        '{"a": ' * 100_000 + "1" + "}" * 100_000,
        '"\\\\"' + "[" * 1000,  # an escaped backslash ends the string: the brackets count
    ],
)
def test_deep_text_is_too_deep_never_a_recursion_error(text: str) -> None:
    with pytest.raises(_json_depth.TooDeep, match="deeper than 128"):
        _json_depth.loads(text)


def test_brackets_inside_strings_do_not_count() -> None:
    inner = json.dumps("[" * 10_000 + '\\"{' * 100)
    assert _json_depth.loads(f'{{"text": {inner}}}') == {"text": json.loads(inner)}


def test_a_tool_call_with_deep_arguments_keeps_them_as_text() -> None:
    raw = '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"
    call = ToolCall.from_raw(id="c", name="t", raw_arguments=raw)
    assert call.arguments == {}
    assert call.raw_arguments == raw
    assert call.arguments_are_valid_json is False
