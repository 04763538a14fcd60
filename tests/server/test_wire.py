"""ChunkWriter's SSE frames: OpenAI's `chat.completion.chunk` shape, whatever the text."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from abstractcore_actors._wire.openai_chat_stream import ChunkWriter
from abstractcore_actors.types import Chunk, ToolCallDelta, Usage


def _data(frame: bytes) -> list[Any]:
    assert frame.endswith(b"\n\n")
    events = [e for e in frame.decode().split("\n\n") if e]
    assert all(e.startswith("data: ") for e in events)
    return [e[6:] if e[6:] == "[DONE]" else json.loads(e[6:]) for e in events]


@given(
    text=st.text(min_size=1),
    model=st.text(),
    include_usage=st.booleans(),
)
def test_text_frames_are_openai_chunks_for_any_text_and_model(
    text: str, model: str, include_usage: bool
) -> None:
    # The text-only frame is spliced from pre-encoded bytes: it must still be
    # exactly the JSON a full encoding gives, even for a model name or a text
    # that looks like the splice point.
    writer = ChunkWriter(id="chatcmpl-1", model=model, created=7, include_usage=include_usage)
    [obj] = _data(writer.add(Chunk(text=text)))
    expected: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 7,
        "model": model,
        "system_fingerprint": None,
        "choices": [
            {"index": 0, "delta": {"content": text}, "logprobs": None, "finish_reason": None}
        ],
    }
    if include_usage:
        expected["usage"] = None
    assert obj == expected
    assert list(obj) == list(expected)  # same key order as the other frames


def test_splice_survives_a_model_named_like_the_marker() -> None:
    writer = ChunkWriter(id="x", model='"content":""', created=1, include_usage=False)
    [obj] = _data(writer.add(Chunk(text="hi")))
    assert obj["model"] == '"content":""'
    assert obj["choices"][0]["delta"] == {"content": "hi"}


def test_a_whole_stream_keeps_openais_order() -> None:
    writer = ChunkWriter(id="x", model="m", created=1, include_usage=True)
    frames = writer.first() + writer.add(Chunk(text="Hel")) + writer.add(Chunk(text="lo"))
    call = ToolCallDelta(index=0, id="call_1", name="f", arguments='{"a"')
    frames += writer.add(Chunk(text="!", tool_calls=(call,)))
    frames += writer.add(Chunk(finish_reason="tool_calls", usage=Usage(prompt_tokens=2)))
    frames += writer.end()
    objs = _data(frames)
    assert objs[-1] == "[DONE]"
    deltas = [o["choices"][0]["delta"] for o in objs[:-2]]
    assert deltas[0] == {"role": "assistant", "content": ""}
    assert deltas[1:3] == [{"content": "Hel"}, {"content": "lo"}]
    assert deltas[3]["content"] == "!"
    assert deltas[3]["tool_calls"][0]["function"] == {"arguments": '{"a"', "name": "f"}
    assert objs[-3]["choices"][0]["finish_reason"] == "tool_calls"
    assert objs[-2]["choices"] == [] and objs[-2]["usage"]["prompt_tokens"] == 2
