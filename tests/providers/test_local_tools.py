"""The local model's tool calls by grammar (`_local_tools.py`), without the
model: what the request becomes, and the generated JSON, split anywhere,
read back as the chunks a tool-calling model sends."""

from __future__ import annotations

import itertools
import json

from hypothesis import given
from hypothesis import strategies as st

from abstractcore_actors._providers._local_tools import ToolReply, prepare
from abstractcore_actors.types import Chunk, Message, Request, ToolCall, ToolResult, ToolSpec

CITY = ToolSpec(
    name="get_weather",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)


def _schema(request: Request) -> dict[str, object]:
    return request.extra["response_format"]["json_schema"]["schema"]  # type: ignore[no-any-return]


def test_tools_become_a_grammar_and_a_system_message() -> None:
    request = prepare(Request(messages=(Message.user("Paris?"),), tools=(CITY,)))
    assert request.tools == () and request.messages[0].role == "system"
    assert "get_weather" in request.messages[0].content
    options = _schema(request)["anyOf"]  # type: ignore[index]
    assert options[0]["properties"]["tool"] == {"const": "get_weather"}
    assert options[0]["properties"]["arguments"] == dict(CITY.parameters)
    assert options[1]["required"] == ["answer"]


def test_forced_none_and_after_results() -> None:
    forced = prepare(
        Request(messages=(Message.user("x"),), tools=(CITY,), tool_choice="get_weather")
    )
    assert _schema(forced)["properties"]["tool"] == {"const": "get_weather"}  # type: ignore[index]
    none = prepare(Request(messages=(Message.user("x"),), tools=(CITY,), tool_choice="none"))
    assert "response_format" not in none.extra and none.messages == (Message.user("x"),)
    call = ToolCall(id="c1", name="get_weather", arguments={"city": "Paris"})
    history = (
        Message.user("Paris?"),
        Message.assistant("", [call]),
        Message.tool(ToolResult(call_id="c1", name="get_weather", content="sunny")),
    )
    after = prepare(Request(messages=history, tools=(CITY,)))
    assert _schema(after)["required"] == ["answer"]  # results are in: answer with them
    assert [m.role for m in after.messages] == ["system", "user", "assistant", "user"]
    assert json.loads(after.messages[2].content) == {
        "tool": "get_weather",
        "arguments": {"city": "Paris"},
    }
    assert "sunny" in after.messages[3].content and not after.messages[2].tool_calls


def _split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({0, len(text), *(c % (len(text) + 1) for c in cuts)})
    return [text[a:b] for a, b in itertools.pairwise(points)]


@given(answer=st.text(max_size=40), cuts=st.lists(st.integers(0, 200), max_size=12))
def test_an_answer_streams_as_its_text_however_it_is_split(answer: str, cuts: list[int]) -> None:
    reply = ToolReply()
    out: list[Chunk] = []
    for piece in _split(json.dumps({"answer": answer}), cuts):
        out += reply.feed(Chunk(text=piece))
    out += reply.feed(Chunk(finish_reason="stop"))
    assert "".join(c.text for c in out) == answer
    assert out[-1].finish_reason == "stop" and not any(c.tool_calls for c in out)


@given(city=st.text(max_size=20), cuts=st.lists(st.integers(0, 200), max_size=12))
def test_a_call_arrives_whole_at_the_end_however_it_is_split(city: str, cuts: list[int]) -> None:
    reply = ToolReply()
    out: list[Chunk] = []
    text = json.dumps({"tool": "get_weather", "arguments": {"city": city}})
    for piece in _split(text, cuts):
        out += reply.feed(Chunk(text=piece))
    out += reply.feed(Chunk(finish_reason="stop"))
    assert not "".join(c.text for c in out)
    [delta] = out[-1].tool_calls
    assert out[-1].finish_reason == "tool_calls" and delta.name == "get_weather"
    assert json.loads(delta.arguments) == {"city": city}
