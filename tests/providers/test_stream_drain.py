"""`ResponseStream.receive_nowait`: the chunks that have already arrived, taken
without an await, through both OpenAI-wire adapters against the fake server."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import trio

from abstractcore_actors import LLM, Chunk, ResponseStream
from abstractcore_actors.testing import FakeOpenAIServer, Reply

WORDS = [f"w{i} " for i in range(30)]


def drain(stream: ResponseStream) -> list[Chunk]:
    take = stream.receive_nowait
    got = []
    while True:
        try:
            got.append(take())
        except trio.WouldBlock:
            return got


async def test_drained_and_awaited_chunks_make_the_whole_answer_in_order(
    make_openai_llm: Callable[..., LLM], openai_server: FakeOpenAIServer
) -> None:
    openai_server.push(Reply(chunks=WORDS))
    llm = make_openai_llm()
    chunks: list[Chunk] = []
    drained = 0
    with trio.fail_after(10):
        async with llm.stream("Hi") as stream:
            async for chunk in stream:
                chunks.append(chunk)
                await trio.sleep(0.005)  # let the provider actor buffer a few
                more = drain(stream)
                drained += len(more)
                chunks.extend(more)
            with pytest.raises(trio.WouldBlock):  # the end is never a chunk
                stream.receive_nowait()
    assert "".join(c.text for c in chunks) == "".join(WORDS)
    assert chunks[-1].finish_reason == "stop" and chunks[-1].usage is not None
    assert drained > 0  # some chunks really came without an await
    # the stream's own record counts drained chunks too
    response = stream.response()
    assert response.content == "".join(WORDS)
    assert response.finish_reason == "stop"
    assert response.timings.ttft is not None


async def test_before_any_chunk_there_is_nothing_to_take(
    make_openai_llm: Callable[..., LLM], openai_server: FakeOpenAIServer
) -> None:
    openai_server.push(Reply(chunks=["a", "b"], ttft=0.2))
    llm = make_openai_llm()
    with trio.fail_after(10):
        async with llm.stream("Hi") as stream:
            with pytest.raises(trio.WouldBlock):
                stream.receive_nowait()
            assert [c.text async for c in stream if c.text] == ["a", "b"]
