"""logprobs through the gateway: asked by the real openai SDK, forwarded to
the upstream, answered in OpenAI's own shape (whole and streamed), and a
wrong value a 400 naming the field."""

from __future__ import annotations

import httpx
import openai
import pytest
import trio

from abstractcore_actors.testing import FakeOpenAIServer, Reply

from .conftest import DEADLINE, Routes, assert_openai_error, chat

PIECES = ["Bonjour", " mes", " amis"]


async def test_a_whole_answer_has_openais_logprobs_shape(
    client: openai.AsyncOpenAI, routes: Routes, upstream: FakeOpenAIServer
) -> None:
    routes.steps["gpt-test"] = Reply(chunks=PIECES)
    with trio.fail_after(DEADLINE):
        answer = await client.chat.completions.create(
            model="gpt-test",
            messages=[{"role": "user", "content": "hi"}],
            logprobs=True,
            top_logprobs=2,
        )
    logprobs = answer.choices[0].logprobs
    assert logprobs is not None and logprobs.content is not None
    assert [t.token for t in logprobs.content] == PIECES
    assert [t.logprob for t in logprobs.content] == [-0.01, -0.02, -0.03]
    first = logprobs.content[0]
    assert [(a.token, a.logprob) for a in first.top_logprobs] == [
        ("Bonjour", -0.01),
        ("Bonjour~1", -1.01),
    ]
    assert first.bytes == list(b"Bonjour")
    sent = upstream.requests[-1].json
    assert (sent["logprobs"], sent["top_logprobs"]) == (True, 2)


async def test_a_stream_has_logprobs_on_each_chunk(
    client: openai.AsyncOpenAI, routes: Routes
) -> None:
    routes.steps["gpt-test"] = Reply(chunks=PIECES)
    with trio.fail_after(DEADLINE):
        stream = await client.chat.completions.create(
            model="gpt-test",
            messages=[{"role": "user", "content": "hi"}],
            logprobs=True,
            stream=True,
        )
        chunks = [chunk async for chunk in stream]
    tokens = [
        (chunk.choices[0].delta.content, [t.token for t in chunk.choices[0].logprobs.content])
        for chunk in chunks
        if chunk.choices and chunk.choices[0].logprobs and chunk.choices[0].logprobs.content
    ]
    assert tokens == [(piece, [piece]) for piece in PIECES]


async def test_without_logprobs_the_field_is_null(
    client: openai.AsyncOpenAI, routes: Routes, upstream: FakeOpenAIServer
) -> None:
    routes.steps["gpt-test"] = Reply(chunks=PIECES)
    with trio.fail_after(DEADLINE):
        answer = await client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "hi"}]
        )
    assert answer.choices[0].logprobs is None
    assert "logprobs" not in upstream.requests[-1].json


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"logprobs": "yes"}, "logprobs"),
        ({"logprobs": True, "top_logprobs": 21}, "top_logprobs"),
        ({"logprobs": True, "top_logprobs": -1}, "top_logprobs"),
        ({"top_logprobs": 2}, "top_logprobs"),
    ],
)
async def test_bad_logprobs_are_a_400_naming_the_field(
    http: httpx.AsyncClient, upstream: FakeOpenAIServer, extra: dict[str, object], param: str
) -> None:
    with trio.fail_after(DEADLINE):
        response = await http.post("/v1/chat/completions", json=chat(**extra))
    error = assert_openai_error(response, 400)
    assert error["param"] == param
    assert upstream.requests == []
