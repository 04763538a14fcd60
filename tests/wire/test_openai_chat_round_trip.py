"""The OpenAI chat codec both ways: whatever one side encodes, the other
decodes to the same value — requests (adapter encodes, gateway decodes),
whole answers and streams (gateway or fake server encodes, adapter decodes).
Found by hypothesis over every message shape the codec carries."""

from __future__ import annotations

import json
from typing import Any

import attrs
from hypothesis import given
from hypothesis import strategies as st

from abstractcore_actors._providers._accumulate import Accumulator
from abstractcore_actors._providers._request import build_request
from abstractcore_actors._wire.openai_chat import request_body, response_from_wire, response_to_wire
from abstractcore_actors._wire.openai_chat_request import parse_chat
from abstractcore_actors._wire.openai_chat_stream import ChunkWriter, FinalChunk, chunk_from_wire
from abstractcore_actors.types import (
    GenerateResponse,
    Message,
    Request,
    TokenLogprob,
    ToolSpec,
)
from tests.wire.strategies import chunks_of, ids, images, names, text, tool_calls, usages


@st.composite
def messages(draw: st.DrawFn) -> Message:
    kind = draw(st.sampled_from(["system", "user", "assistant", "assistant_tools", "tool"]))
    if kind == "assistant_tools":
        return Message.assistant(draw(text), draw(st.lists(tool_calls(), min_size=1, max_size=3)))
    if kind == "tool":
        name = draw(st.none() | names)
        return Message(role="tool", content=draw(text), tool_call_id=draw(ids), name=name)
    if kind == "user":
        return Message.user(draw(text), draw(images))
    return Message(role=kind, content=draw(text))  # type: ignore[arg-type]


tool_specs = st.builds(
    lambda name, description, props: ToolSpec(
        name=name,
        description=description,
        parameters={"type": "object", "properties": {p: {"type": "string"} for p in props}},
    ),
    names,
    text,
    st.lists(names, max_size=3, unique=True),
)


@st.composite
def requests(draw: st.DrawFn) -> Request:
    turns = draw(st.lists(messages(), min_size=1, max_size=5))
    turns.append(Message.user(draw(text)))  # a request has something to answer
    specs = draw(st.lists(tool_specs, max_size=3, unique_by=lambda s: s.name))
    choices = ["auto", "none", "required", *(s.name for s in specs)] if specs else [None]
    return build_request(
        None,
        messages=turns,
        tools=specs,
        temperature=draw(st.none() | st.floats(0, 2)),
        max_tokens=draw(st.none() | st.integers(1, 2**31 - 1)),
        top_p=draw(st.none() | st.floats(0, 1, exclude_min=True)),
        stop=draw(st.lists(text, max_size=4)),
        seed=draw(st.none() | st.integers(-(2**63), 2**63 - 1)),
        tool_choice=draw(st.sampled_from(choices)),
    )


@given(requests(), st.booleans())
def test_a_request_the_adapter_encodes_is_what_the_gateway_decodes(
    request: Request, stream: bool
) -> None:
    body = json.loads(json.dumps(request_body(request, "m", stream=stream)))
    decoded = parse_chat(body)
    assert (decoded.model, decoded.stream, decoded.include_usage) == ("m", stream, stream)
    again = build_request(None, **decoded.args, request_id=request.request_id)
    assert again == request


logprobs = st.lists(
    st.builds(
        TokenLogprob,
        token=text,
        logprob=st.floats(-50, 0),
        top=st.lists(st.tuples(text, st.floats(-50, 0)), max_size=2).map(tuple),
    ),
    max_size=3,
).map(tuple)


@st.composite
def responses(draw: st.DrawFn) -> GenerateResponse:
    calls = tuple(draw(st.lists(tool_calls(), max_size=3)))
    finish = draw(st.sampled_from(["stop", "length", "tool_calls", "content_filter"]))
    return GenerateResponse(
        content=draw(text),
        tool_calls=calls,
        finish_reason=finish,
        usage=draw(usages),
        model="m",
        logprobs=draw(logprobs),
    )


@given(responses())
def test_a_whole_answer_encoded_decodes_to_itself(response: GenerateResponse) -> None:
    wire = json.loads(json.dumps(response_to_wire(response, id="x", model="m", created=1)))
    assert response_from_wire(wire) == response


def _frames(raw: bytes) -> list[Any]:
    out = []
    for event in raw.decode().split("\n\n"):
        if event.startswith("data: ") and event != "data: [DONE]":
            out.append(json.loads(event.removeprefix("data: ")))
    return out


@given(responses(), st.data())
def test_a_stream_encoded_decodes_to_the_same_answer(
    response: GenerateResponse, data: st.DataObject
) -> None:
    pieces = data.draw(st.lists(text.filter(bool), max_size=4))
    # the text as streamed, each piece with its own token's logprobs
    response = attrs.evolve(
        response, content="".join(pieces), logprobs=response.logprobs[: len(pieces)]
    )
    writer = ChunkWriter(id="x", model="m", created=1, include_usage=True)
    raw = writer.first() + b"".join(writer.add(c) for c in chunks_of(response, pieces))
    raw += writer.end()
    final = FinalChunk()
    accumulated = Accumulator()
    for frame in _frames(raw):
        chunk = chunk_from_wire(frame)
        if chunk is not None:
            for ready in final.feed(chunk):
                accumulated.add(ready)
    assert final.finished
    for ready in final.flush():
        accumulated.add(ready)
    assert accumulated.response(model="m") == response
