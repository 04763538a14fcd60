"""The Anthropic Messages codec both ways, through the real SDK's types: what
`response_to_wire` / `EventWriter` encode (the fake server; the gateway),
parsed as the anthropic SDK parses it, decodes (`response_from_wire` / `Fold`,
the adapter) to the same answer. Found by hypothesis over every answer shape."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import attrs
import pydantic
from hypothesis import given
from hypothesis import strategies as st

from abstractcore_actors._providers._accumulate import Accumulator
from abstractcore_actors._wire.anthropic_messages import (
    messages_to_wire,
    response_from_wire,
    response_to_wire,
)
from abstractcore_actors._wire.anthropic_messages_request import parse_messages
from abstractcore_actors._wire.anthropic_messages_stream import EventWriter, Fold
from abstractcore_actors.types import GenerateResponse, Message, ToolCall
from tests.wire.strategies import chunks_of, ids, images, text, tool_calls, usages

# Every finish reason Anthropic has a stop_reason for.
FINISHES = ["stop", "length", "tool_calls", "content_filter"]
EVENTS: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(anthropic.types.RawMessageStreamEvent)


@st.composite
def responses(draw: st.DrawFn) -> GenerateResponse:
    return GenerateResponse(
        content=draw(text),
        tool_calls=tuple(draw(st.lists(tool_calls(), max_size=3))),
        finish_reason=draw(st.sampled_from(FINISHES)),
        usage=draw(usages),
        model="claude-m",
    )


@given(responses())
def test_a_whole_answer_encoded_decodes_to_itself(response: GenerateResponse) -> None:
    wire = json.loads(json.dumps(response_to_wire(response, id="msg_x", model="claude-m")))
    message = anthropic.types.Message.model_validate(wire)
    assert response_from_wire(message) == response


def _events(raw: bytes) -> list[Any]:
    """The SSE bytes as the SDK's typed events, each named as its data's type."""
    out = []
    for block in raw.decode().split("\n\n"):
        if not block:
            continue
        name_line, data_line = block.split("\n")
        data = json.loads(data_line.removeprefix("data: "))
        assert name_line == f"event: {data['type']}"  # the SDK skips unnamed events
        if data["type"] != "ping":
            out.append(EVENTS.validate_python(data))
    return out


@given(responses(), st.data())
def test_a_stream_encoded_decodes_to_the_same_answer(
    response: GenerateResponse, data: st.DataObject
) -> None:
    pieces = data.draw(st.lists(text.filter(bool), max_size=4))
    response = attrs.evolve(response, content="".join(pieces))  # the text as streamed
    writer = EventWriter(id="msg_x", model="claude-m", prompt_tokens=response.usage.prompt_tokens)
    raw = writer.first() + b"".join(writer.add(c) for c in chunks_of(response, pieces))
    raw += writer.end()
    fold = Fold()
    accumulated = Accumulator()
    for event in _events(raw):
        chunk = fold.chunk(event)
        if chunk is not None:
            accumulated.add(chunk)
    assert fold.finished
    assert accumulated.response(model="claude-m") == response


def test_content_blocks_are_numbered_in_order_and_each_is_stopped() -> None:
    """Text, then two tool calls: blocks 0, 1, 2, each started, then stopped
    before the next starts; one ping after the first start, as Anthropic shows."""
    response = GenerateResponse(
        content="hi",
        tool_calls=(
            ToolCall.from_raw(id="toolu_a", name="f", raw_arguments='{"x": 1}'),
            ToolCall.from_raw(id="toolu_b", name="g", raw_arguments="{}"),
        ),
        finish_reason="tool_calls",
        model="claude-m",
    )
    writer = EventWriter(id="msg_x", model="claude-m")
    raw = writer.first() + b"".join(writer.add(c) for c in chunks_of(response, ["hi"]))
    raw += writer.end()
    kinds = [
        (d["type"], d.get("index"))
        for d in (json.loads(b.split("\n")[1][6:]) for b in raw.decode().split("\n\n") if b)
        if d["type"] != "content_block_delta"
    ]
    assert kinds == [
        ("message_start", None),
        ("content_block_start", 0),
        ("ping", None),
        ("content_block_stop", 0),
        ("content_block_start", 1),
        ("content_block_stop", 1),
        ("content_block_start", 2),
        ("content_block_stop", 2),
        ("message_delta", None),
        ("message_stop", None),
    ]


nonempty = text.filter(bool)


@st.composite
def conversations(draw: st.DrawFn) -> list[Message]:
    """What the Anthropic adapter can send: one optional leading system
    message, then non-empty user/assistant/tool turns — never two assistant
    turns in a row (Anthropic's turns alternate, so the codec merges them)."""
    out = [Message.system(draw(nonempty))] if draw(st.booleans()) else []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["user", "assistant", "assistant_tools", "tool"]))
        if out and out[-1].role == "assistant" and kind.startswith("assistant"):
            kind = "user"
        if kind == "assistant_tools":
            calls = draw(st.lists(tool_calls(), min_size=1, max_size=2))
            out.append(Message.assistant(draw(text), calls))
        elif kind == "tool":
            out.append(Message(role="tool", content=draw(nonempty), tool_call_id=draw(ids)))
        elif kind == "user":  # images go as blocks before their text (without `detail`)
            out.append(Message.user(draw(nonempty), draw(images)))
        else:
            out.append(Message(role=kind, content=draw(nonempty)))  # type: ignore[arg-type]
    return out


@given(conversations())
def test_turns_the_adapter_encodes_are_what_the_gateway_decodes(messages: list[Message]) -> None:
    system, turns = messages_to_wire(tuple(messages))
    body: dict[str, Any] = {"model": "m", "max_tokens": 5, "messages": turns}
    if system is not None:
        body["system"] = system
    decoded = parse_messages(json.loads(json.dumps(body)))
    assert decoded.args["messages"] == messages
