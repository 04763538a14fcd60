"""Message.coerce takes OpenAI-style dicts, assistant tool calls included."""

from __future__ import annotations

import pytest

from abstractcore_actors import Message, ValidationError


def test_assistant_tool_calls_in_a_dict_are_kept() -> None:
    message = Message.coerce(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        }
    )
    assert message.content == ""
    (call,) = message.tool_calls
    assert (call.id, call.name, dict(call.arguments)) == ("call_1", "weather", {"city": "Paris"})


def test_malformed_tool_calls_are_a_clear_error() -> None:
    with pytest.raises(ValidationError, match="each tool call must look like"):
        Message.coerce({"role": "assistant", "tool_calls": [{"name": "x"}]})
    with pytest.raises(ValidationError, match="must be a list"):
        Message.coerce({"role": "assistant", "tool_calls": "x"})
