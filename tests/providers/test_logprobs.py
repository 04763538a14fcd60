"""logprobs=True / top_logprobs=N: passed to OpenAI-wire upstreams and decoded,
whole and streamed, through both OpenAI adapters; refused where the provider
has none (Anthropic, the local model), never dropped with a silent 200."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from abstractcore_actors import (
    LLM,
    Runtime,
    TokenLogprob,
    UnsupportedOperation,
    ValidationError,
)
from abstractcore_actors.testing import FakeAnthropicServer, FakeOpenAIServer, Reply

from .conftest import API_KEY, FAST

PIECES = ["Hello", " there", " friend"]


def _expected(top: int) -> tuple[TokenLogprob, ...]:
    # the fake server's deterministic figures: piece i has -(i+1)/100, its
    # alternatives are itself then "<piece>~k", one nat less likely each
    return tuple(
        TokenLogprob(
            token=piece,
            logprob=-(i + 1) / 100,
            top=tuple(
                (piece if k == 0 else f"{piece}~{k}", -(i + 1) / 100 - k) for k in range(top)
            ),
        )
        for i, piece in enumerate(PIECES)
    )


@pytest.mark.parametrize("top", [None, 2])
async def test_a_whole_answer_carries_every_tokens_logprobs(
    make_openai_llm: Callable[..., LLM], openai_server: FakeOpenAIServer, top: int | None
) -> None:
    llm = make_openai_llm()
    openai_server.push(Reply(chunks=PIECES))
    options: dict[str, Any] = {"logprobs": True}
    if top is not None:
        options["top_logprobs"] = top
    reply = await llm.generate("hi", **options)
    assert reply.content == "Hello there friend"
    assert reply.logprobs == _expected(top or 0)
    (request,) = openai_server.requests
    assert request.json["logprobs"] is True
    assert request.json.get("top_logprobs") == top


async def test_a_stream_carries_each_pieces_logprobs_and_the_answer_all_of_them(
    make_openai_llm: Callable[..., LLM], openai_server: FakeOpenAIServer
) -> None:
    llm = make_openai_llm()
    openai_server.push(Reply(chunks=PIECES))
    per_chunk: list[tuple[str, tuple[TokenLogprob, ...]]] = []
    async with llm.stream("hi", logprobs=True, top_logprobs=1) as stream:
        async for chunk in stream:
            if chunk.text:
                per_chunk.append((chunk.text, chunk.logprobs))
    expected = _expected(1)
    assert per_chunk == [(piece, (lp,)) for piece, lp in zip(PIECES, expected, strict=True)]
    assert stream.response().logprobs == expected


async def test_without_asking_there_are_none(
    make_openai_llm: Callable[..., LLM], openai_server: FakeOpenAIServer
) -> None:
    llm = make_openai_llm()
    openai_server.push(Reply(chunks=PIECES))
    reply = await llm.generate("hi")
    assert reply.logprobs == ()
    assert "logprobs" not in openai_server.requests[0].json


async def test_a_self_hosted_server_asked_for_logprobs_answers_whole(
    rt: Runtime, openai_server: FakeOpenAIServer
) -> None:
    # llamacpp streams upstream by default; logprobs are read from the whole
    # `chat.completion` shape, so such a call is asked for whole
    llm = rt.create_llm("llamacpp", "m", base_url=openai_server.base_url, api_key=API_KEY, **FAST)
    openai_server.push(Reply(chunks=PIECES))
    reply = await llm.generate("hi", logprobs=True)
    assert "stream" not in openai_server.requests[0].json
    assert reply.logprobs == _expected(0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"logprobs": "yes"}, "logprobs must be true or false"),
        ({"logprobs": True, "top_logprobs": 21}, "top_logprobs must be an integer from 0 to 20"),
        ({"logprobs": True, "top_logprobs": True}, "top_logprobs must be an integer"),
        ({"top_logprobs": 3}, "top_logprobs needs logprobs to be true"),
    ],
)
async def test_bad_logprobs_options_are_the_callers_error(
    make_openai_llm: Callable[..., LLM],
    openai_server: FakeOpenAIServer,
    options: dict[str, Any],
    message: str,
) -> None:
    llm = make_openai_llm()
    with pytest.raises(ValidationError, match=message):
        await llm.generate("hi", **options)
    assert openai_server.requests == []


async def test_anthropic_refuses_logprobs_rather_than_dropping_them(
    rt: Runtime, anthropic_server: FakeAnthropicServer
) -> None:
    llm = rt.create_llm(
        "anthropic", "claude-test", base_url=anthropic_server.base_url, api_key=API_KEY, **FAST
    )
    with pytest.raises(UnsupportedOperation, match="logprobs are not available") as caught:
        await llm.generate("hi", logprobs=True)
    assert "OpenAI-compatible" in str(caught.value)
    with pytest.raises(UnsupportedOperation):
        async with llm.stream("hi", logprobs=True, top_logprobs=2) as stream:
            async for _ in stream:
                pass
    assert anthropic_server.requests == []
