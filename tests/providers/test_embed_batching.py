"""Micro-batched embeddings (`embed_batching=`) and `rt.embed_many`, against
the fake OpenAI server over real HTTP: concurrent calls gathered into few
upstream requests, each caller's rows back in order, cancelled callers'
rows never sent nor answered to anyone else, a bad input failing only its
own caller; and large offline batches with progress and bounded concurrency."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from abstractcore_actors import LLM, EmbedBatching, Runtime, ValidationError, open_runtime
from abstractcore_actors.errors import BadRequest
from abstractcore_actors.testing import FakeOpenAIServer, Fault, open_fake_openai_server

from .conftest import API_KEY, OPENAI_ADAPTERS


def expected(text: str, size: int = 8) -> tuple[float, ...]:
    digest = hashlib.sha256(text.encode()).digest()
    return tuple((byte - 128) / 128 for byte in digest[:size])


def sent_inputs(server: FakeOpenAIServer) -> list[list[str]]:
    return [r.json["input"] for r in server.requests if r.path == "/v1/embeddings"]  # type: ignore[index]


@pytest.fixture(params=list(OPENAI_ADAPTERS))
def make_batched(
    request: pytest.FixtureRequest, rt: Runtime, openai_server: FakeOpenAIServer
) -> Callable[..., LLM]:
    provider, extra = OPENAI_ADAPTERS[request.param]

    def make(**batching: object) -> LLM:
        return rt.create_llm(
            provider,
            "text-embedding-3-small",
            base_url=openai_server.base_url,
            api_key=API_KEY,
            embed_batching={"max_delay": 0.05, **batching},
            **extra,
        )

    return make


async def test_concurrent_calls_go_as_one_request_and_each_gets_its_rows(
    make_batched: Callable[..., LLM], openai_server: FakeOpenAIServer
) -> None:
    llm = make_batched(max_size=64)
    texts = [[f"text {i}"] if i % 3 else [f"text {i}", f"more {i}"] for i in range(30)]
    answers: dict[int, tuple[tuple[float, ...], ...]] = {}

    async def one(i: int) -> None:
        answers[i] = (await llm.embed(texts[i])).vectors

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            for i in range(30):
                nursery.start_soon(one, i)
    assert answers == {i: tuple(expected(t) for t in texts[i]) for i in range(30)}
    batches = sent_inputs(openai_server)
    assert len(batches) == 1
    assert sorted(batches[0]) == sorted(t for group in texts for t in group)


async def test_a_batch_leaves_when_full_and_usage_is_shared_out(
    make_batched: Callable[..., LLM], openai_server: FakeOpenAIServer
) -> None:
    llm = make_batched(max_size=4, max_delay=1.0, idle=1.0)  # only size sends one this fast
    results = []

    async def one(i: int) -> None:
        results.append(await llm.embed([f"w{i} w{i}"]))  # 2 words: the fake counts 2 tokens

    with trio.fail_after(0.9):  # well before max_delay: each batch left when full
        async with trio.open_nursery() as nursery:
            for i in range(8):
                nursery.start_soon(one, i)
    assert [len(b) for b in sent_inputs(openai_server)] == [4, 4]
    assert sum(r.usage.prompt_tokens for r in results) == 16
    assert all(r.usage.prompt_tokens == 2 for r in results)


async def test_a_batch_nobody_joins_leaves_after_the_idle_gap(
    make_batched: Callable[..., LLM], openai_server: FakeOpenAIServer
) -> None:
    llm = make_batched(max_delay=1.0, idle=0.02)
    with trio.fail_after(0.5):  # long before max_delay
        answer = await llm.embed("alone")
    assert answer.vectors == (expected("alone"),)
    assert sent_inputs(openai_server) == [["alone"]]


async def test_a_cancelled_callers_rows_are_never_sent(
    make_batched: Callable[..., LLM], openai_server: FakeOpenAIServer
) -> None:
    llm = make_batched(max_delay=0.2, idle=0.2)
    got: list[tuple[tuple[float, ...], ...]] = []

    async def stays() -> None:
        got.append((await llm.embed(["stays"])).vectors)

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(stays)
            with trio.move_on_after(0.05):  # leaves while the batch is still gathering
                await llm.embed(["leaves"])
    assert got == [(expected("stays"),)]
    assert sent_inputs(openai_server) == [["stays"]]


async def test_a_bad_input_fails_only_its_own_caller(
    make_batched: Callable[..., LLM], openai_server: FakeOpenAIServer
) -> None:
    llm = make_batched()
    # the batch is refused as a bad request; alone, the good ones are answered
    openai_server.push_embedding(Fault.status(400), Fault.status(400))
    outcomes: dict[str, object] = {}

    async def one(text: str) -> None:
        try:
            outcomes[text] = (await llm.embed([text])).vectors
        except BadRequest as exc:
            outcomes[text] = exc

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            for text in ("a", "b", "c"):
                nursery.start_soon(one, text)
    failed = [t for t, o in outcomes.items() if isinstance(o, BadRequest)]
    assert len(failed) == 1  # the one whose lone retry met the second 400
    assert all(outcomes[t] == (expected(t),) for t in "abc" if t not in failed)


@settings(max_examples=20, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 5), min_size=1, max_size=12),
    leave=st.lists(st.booleans(), min_size=12, max_size=12),
    max_size=st.integers(1, 8),
)
def test_nothing_lost_or_misdelivered_whoever_leaves(
    sizes: list[int], leave: list[bool], max_size: int
) -> None:
    """Any mix of call sizes and callers that give up: every caller who stays
    gets exactly its own vectors, and no text of one who left is ever sent
    after it left."""

    async def main() -> None:
        async with open_fake_openai_server() as server, open_runtime(env={}) as rt:
            llm = rt.create_llm(
                "openai-compatible",
                "e",
                base_url=server.base_url,
                embed_batching={"max_size": max_size, "max_delay": 0.02, "idle": 0.02},
            )
            answers: dict[int, object] = {}

            async def one(i: int) -> None:
                texts = [f"c{i}-{j}" for j in range(sizes[i])]
                if leave[i]:
                    with trio.move_on_after(0.005):
                        await llm.embed(texts)
                    return
                answers[i] = (await llm.embed(texts)).vectors

            with trio.fail_after(10):
                async with trio.open_nursery() as nursery:
                    for i in range(len(sizes)):
                        nursery.start_soon(one, i)
            for i, vectors in answers.items():
                assert vectors == tuple(expected(f"c{i}-{j}") for j in range(sizes[i]))
            stayed = {i for i in range(len(sizes)) if not leave[i]}
            assert set(answers) == stayed
            sent = [text for batch in sent_inputs(server) for text in batch]
            assert len(sent) == len(set(sent))  # nothing sent twice

    trio.run(main)


def test_batching_options_are_checked() -> None:
    assert EmbedBatching.parse(True) == EmbedBatching()
    assert EmbedBatching.parse(False) is None
    with pytest.raises(ValidationError, match="max_size must be an integer from 1 to 2048"):
        EmbedBatching(max_size=0)
    with pytest.raises(ValidationError, match="max_delay"):
        EmbedBatching.parse({"max_delay": 5})
    with pytest.raises(ValidationError, match="takes max_size, max_delay, max_tokens and idle"):
        EmbedBatching.parse({"size": 3})


async def test_embed_many_in_order_with_progress_and_bounded_concurrency(
    rt: Runtime, openai_server: FakeOpenAIServer
) -> None:
    openai_server.embedding_latency = 0.05
    llm = rt.create_llm("openai-compatible", "e", base_url=openai_server.base_url)
    texts = [f"doc {i}" for i in range(1000)]
    seen: list[tuple[int, int]] = []
    with trio.fail_after(10):
        start = trio.current_time()
        response = await rt.embed_many(
            texts,
            model=llm,
            batch_size=100,
            concurrency=3,
            progress=lambda d, t: seen.append((d, t)),
        )
        took = trio.current_time() - start
    assert response.vectors == tuple(expected(t) for t in texts)
    assert response.usage.prompt_tokens == 2000
    assert [len(b) for b in sent_inputs(openai_server)] == [100] * 10
    assert seen[-1] == (1000, 1000) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert took >= 0.05 * 10 / 3  # never more than three requests at once


async def test_embed_many_raises_the_first_failure_and_checks_its_input(
    rt: Runtime, openai_server: FakeOpenAIServer
) -> None:
    llm = rt.create_llm("openai-compatible", "e", base_url=openai_server.base_url, max_retries=0)
    openai_server.push_embedding(Fault.status(400))
    with trio.fail_after(10), pytest.raises(BadRequest):
        await rt.embed_many(["a"] * 10, model=llm, batch_size=2)
    with pytest.raises(ValidationError, match="texts\\[1\\] is empty"):
        await rt.embed_many(["a", ""], model=llm)
    with pytest.raises(ValidationError, match="batch_size must be 1 to 2048"):
        await rt.embed_many(["a"], model=llm, batch_size=0)
