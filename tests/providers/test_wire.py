"""Wire helpers: chunk folding, the final chunk, redaction, error messages."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from abstractcore_actors import Chunk, ToolCallDelta, Usage
from abstractcore_actors._providers._accumulate import Accumulator
from abstractcore_actors._redact import redact
from abstractcore_actors._wire.openai_chat_stream import FinalChunk, chunk_from_wire


@given(pieces=st.lists(st.text(max_size=5), max_size=20))
def test_accumulated_text_is_the_joined_pieces(pieces: list[str]) -> None:
    acc = Accumulator()
    for piece in pieces:
        acc.add(Chunk(text=piece))
    acc.add(Chunk(finish_reason="stop", usage=Usage(prompt_tokens=1, completion_tokens=2)))
    response = acc.response(model="m")
    assert response.content == "".join(pieces)
    assert response.finish_reason == "stop"
    assert response.usage.total_tokens == 3


def test_tool_call_pieces_add_up_by_index() -> None:
    acc = Accumulator()
    acc.add(Chunk(tool_calls=(ToolCallDelta(index=0, id="c1", name="get_weather"),)))
    acc.add(Chunk(tool_calls=(ToolCallDelta(index=1, id="c2", name="time"),)))
    acc.add(Chunk(tool_calls=(ToolCallDelta(index=0, arguments='{"city": '),)))
    acc.add(Chunk(tool_calls=(ToolCallDelta(index=0, arguments='"Paris"}'),)))
    calls = acc.tool_calls()
    assert [c.name for c in calls] == ["get_weather", "time"]
    assert calls[0].arguments == {"city": "Paris"}
    assert calls[1].arguments == {}


def test_malformed_tool_arguments_are_kept_raw() -> None:
    acc = Accumulator()
    acc.add(Chunk(tool_calls=(ToolCallDelta(index=0, id="c", name="f", arguments="{oops"),)))
    (call,) = acc.tool_calls()
    assert call.arguments == {}
    assert call.raw_arguments == "{oops"
    assert not call.arguments_are_valid_json


def test_final_chunk_carries_finish_reason_and_usage() -> None:
    final = FinalChunk()
    out: list[Chunk] = []
    for data in [
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hi"}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 1}},
    ]:
        chunk = chunk_from_wire(data)
        assert chunk is not None
        out.extend(final.feed(chunk))
    out.extend(final.flush())
    assert [c.text for c in out] == ["Hi", ""]
    assert out[-1].finish_reason == "stop"
    assert out[-1].usage == Usage(prompt_tokens=3, completion_tokens=1)


def test_redact_masks_known_secrets_and_key_shapes() -> None:
    text = "bad key sk-proj-abcdefghijkl and Bearer abcdefghijklmnop and my-own-secret"
    out = redact(text, ["my-own-secret"])
    assert "sk-proj" not in out
    assert "abcdefghijklmnop" not in out
    assert "my-own-secret" not in out
    assert out.count("[redacted]") == 3
