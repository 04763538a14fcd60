"""Embeddings from the shipped SmolLM2 model (a second llama context, loaded on
the first embed): deterministic, distinct, unit length, n_embd wide; a cancel
stops the worker thread before the call returns."""

from __future__ import annotations

import math
import threading
from collections.abc import AsyncIterator

import pytest
import trio

from abstractcore_actors import BadRequest, Runtime, open_runtime
from abstractcore_actors._providers._local import LocalAdapter

pytestmark = pytest.mark.local_model

THREAD = "abstractcore-actors local model"


@pytest.fixture
async def local_rt() -> AsyncIterator[Runtime]:
    async with open_runtime(env={}) as rt:
        yield rt


async def test_the_shipped_sentence_encoder(local_rt: Runtime) -> None:
    llm = local_rt.create_llm("local")
    with trio.fail_after(60):
        answer = await llm.embed(["refund my order", "I want my money back", "rain tomorrow"])
        with pytest.raises(BadRequest, match="512 dimensions and cannot be shortened"):
            await llm.embed("x", dimensions=64)
    assert answer.dimensions == 512
    assert answer.model == "universal-sentence-encoder-multilingual-3"
    assert answer.provider == "local" and answer.usage.prompt_tokens >= 3
    a, b, c = answer.vectors
    for vector in answer.vectors:
        assert math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0, rel_tol=1e-4)

    def cos(x: tuple[float, ...], y: tuple[float, ...]) -> float:
        return sum(p * q for p, q in zip(x, y, strict=True))

    assert cos(a, b) > cos(a, c) + 0.2  # meaning, not words: the refunds are alike
    # a cancel mid-batch returns at once and leaves the encoder working
    with trio.move_on_after(0.01):
        await llm.embed(["word " * 50] * 200)
    with trio.fail_after(60):
        again = await llm.embed("refund my order")
    assert again.vectors[0] == pytest.approx(a, abs=1e-5)


async def test_local_embeddings_of_the_gguf(local_rt: Runtime) -> None:
    llm = local_rt.create_llm("local", embedding_model="gguf")
    with trio.fail_after(120):
        first = await llm.embed(["the cat sat", "stock prices fell"])
        again = await llm.embed("the cat sat")
    import llama_cpp

    path = LocalAdapter(llm.config).path
    with llama_cpp_lock():
        probe = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
    n_embd = int(probe.metadata["llama.embedding_length"])
    assert first.dimensions == n_embd == 576
    assert again.vectors[0] == first.vectors[0]  # same text, same vector
    assert first.vectors[0] != first.vectors[1]
    for vector in first.vectors:
        assert math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0, rel_tol=1e-6)
    assert first.usage.prompt_tokens > 4
    assert first.model.startswith("SmolLM2") and first.provider == "local"
    with pytest.raises(BadRequest, match="576 dimensions and cannot be shortened"):
        await llm.embed("x", dimensions=64)
    # a cancel returns only once the worker thread has stopped
    with trio.move_on_after(0.05):
        await llm.embed(["word " * 400] * 4)
    assert not [t for t in threading.enumerate() if t.name == THREAD]


async def test_local_embeddings_micro_batched(local_rt: Runtime) -> None:
    plain = local_rt.create_llm("local")
    batched = local_rt.create_llm("local", name="batched", embed_batching={"max_delay": 0.05})
    assert plain.config.options.get("embedding_model") is None  # the sentence encoder
    texts = ["the cat sat", "stock prices fell", "rain tomorrow", "hello there"]
    answers: dict[str, tuple[float, ...]] = {}

    async def one(text: str) -> None:
        answers[text] = (await batched.embed(text)).vectors[0]

    with trio.fail_after(120):
        alone = await plain.embed(texts)
        async with trio.open_nursery() as nursery:
            for text in texts:
                nursery.start_soon(one, text)
    for text, vector in zip(texts, alone.vectors, strict=True):
        # same vectors as one call (to float32 rounding: another batch shape)
        assert max(abs(a - b) for a, b in zip(answers[text], vector, strict=True)) < 1e-4


def llama_cpp_lock() -> threading.Lock:
    from abstractcore_actors._providers._llama_thread import LLAMA_LOAD_LOCK

    return LLAMA_LOAD_LOCK
