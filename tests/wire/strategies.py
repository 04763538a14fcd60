"""Hypothesis strategies the wire codecs' round-trip tests share."""

from __future__ import annotations

import json

from hypothesis import strategies as st

from abstractcore_actors.types import (
    Chunk,
    GenerateResponse,
    Image,
    ToolCall,
    ToolCallDelta,
    Usage,
)

text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,10}", fullmatch=True)
ids = st.from_regex(r"call_[a-z0-9]{1,6}", fullmatch=True)
# a user message's images: linked or inline, with or without OpenAI's detail
images = st.lists(
    st.one_of(
        st.from_regex(r"https://example\.com/[a-z]{1,8}\.png", fullmatch=True).map(Image),
        st.binary(max_size=24).map(lambda data: Image.from_bytes(data, "image/jpeg")),
    ),
    max_size=2,
).map(tuple)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=6,
)
arguments = st.dictionaries(names, json_values, max_size=3)


@st.composite
def tool_calls(draw: st.DrawFn) -> ToolCall:
    args = draw(arguments)
    return ToolCall.from_raw(id=draw(ids), name=draw(names), raw_arguments=json.dumps(args))


def chunks_of(response: GenerateResponse, pieces: list[str]) -> list[Chunk]:
    """The answer as a stream would carry it: text pieces (each with its own
    token's logprobs), then each call's head and argument pieces, then the end."""
    chunks = []
    tokens = list(response.logprobs)
    for i, piece in enumerate(pieces):
        own = (tokens[i],) if i < len(tokens) else ()
        chunks.append(Chunk(text=piece, logprobs=own))
    for index, call in enumerate(response.tool_calls):
        chunks.append(Chunk(tool_calls=(ToolCallDelta(index=index, id=call.id, name=call.name),)))
        raw = call.raw_arguments
        for cut in range(0, len(raw), 7):
            chunks.append(
                Chunk(tool_calls=(ToolCallDelta(index=index, arguments=raw[cut : cut + 7]),))
            )
    chunks.append(Chunk(finish_reason=response.finish_reason, usage=response.usage))
    return chunks


@st.composite
def _usages(draw: st.DrawFn) -> Usage:
    prompt = draw(st.integers(0, 10**6))
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=draw(st.integers(0, 10**6)),
        cached_prompt_tokens=draw(st.integers(0, prompt)),
    )


usages = _usages()
