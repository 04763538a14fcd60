"""The provider actor's policies: retries, the breaker, limits, deadlines."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import trio
import trio.testing

from abstractcore_actors import (
    LLM,
    CircuitOpen,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    RetryPolicy,
)
from abstractcore_actors.testing import FakeOpenAIServer, Fault, Reply


async def test_rate_limit_is_retried_after_exactly_retry_after(
    make_openai_llm: Callable[..., LLM],
    openai_server: FakeOpenAIServer,
    autojump_clock: trio.testing.MockClock,
) -> None:
    openai_server.push(Fault.status(429, retry_after=7), Reply(text="ok"))
    llm = make_openai_llm(max_retries=2)
    start = trio.current_time()
    with trio.fail_after(60):
        reply = await llm.generate("Hi")
    assert reply.content == "ok"
    assert len(openai_server.requests) == 2
    assert trio.current_time() - start == pytest.approx(7, abs=0.5)


async def test_server_errors_back_off_then_give_up(
    make_openai_llm: Callable[..., LLM],
    openai_server: FakeOpenAIServer,
    autojump_clock: trio.testing.MockClock,
) -> None:
    openai_server.push(*[Fault.status(503)] * 5)
    llm = make_openai_llm(retry=RetryPolicy(max_attempts=3, base_delay=1, max_delay=4))
    start = trio.current_time()
    with trio.fail_after(60), pytest.raises(ProviderUnavailable):
        await llm.generate("Hi")
    assert len(openai_server.requests) == 3
    # full jitter: between 0 and 1 + 2 seconds of waiting in total
    assert 0 <= trio.current_time() - start <= 3.5


async def test_a_long_retry_after_is_raised_not_slept(
    make_openai_llm: Callable[..., LLM],
    openai_server: FakeOpenAIServer,
    autojump_clock: trio.testing.MockClock,
) -> None:
    openai_server.push(Fault.status(429, retry_after=3600), Reply(text="never"))
    llm = make_openai_llm(retry=RetryPolicy(max_attempts=3, max_retry_after=60))
    with trio.fail_after(10), pytest.raises(RateLimited):
        await llm.generate("Hi")
    assert len(openai_server.requests) == 1


async def test_streams_retry_before_the_first_token_only(
    make_openai_llm: Callable[..., LLM],
    openai_server: FakeOpenAIServer,
    autojump_clock: trio.testing.MockClock,
) -> None:
    openai_server.push(Fault.status(503), Reply(chunks=["a", "b", "c"]))
    llm = make_openai_llm(max_retries=2)
    with trio.fail_after(60):
        async with llm.stream("Hi") as stream:
            text = "".join([c.text async for c in stream])
    assert text == "abc"
    assert len(openai_server.requests) == 2

    openai_server.push(Fault.reset(after_chunks=2), Reply(text="never used"))
    got: list[str] = []
    with trio.fail_after(60), pytest.raises(ProviderUnavailable):
        async with llm.stream("Hi") as stream:
            async for chunk in stream:
                got.append(chunk.text)
    assert got  # tokens reached us, so the error was raised, not retried
    assert len(openai_server.requests) == 3


async def test_circuit_breaker_fails_fast_then_half_opens(
    make_openai_llm: Callable[..., LLM],
    openai_server: FakeOpenAIServer,
    autojump_clock: trio.testing.MockClock,
) -> None:
    llm = make_openai_llm(max_retries=0, failure_threshold=2, reset_after=30)
    openai_server.push(Fault.status(500), Fault.status(500))
    for _ in range(2):
        with pytest.raises(ProviderUnavailable):
            await llm.generate("Hi")
    with pytest.raises(CircuitOpen, match="circuit breaker open"):
        await llm.generate("Hi")
    assert len(openai_server.requests) == 2  # failing fast: nothing sent
    await trio.sleep(30)
    openai_server.push(Reply(text="back"))
    assert (await llm.generate("Hi")).content == "back"  # the half-open trial succeeded
    assert (await llm.generate("Hi")).content.startswith("echo")  # closed again


async def test_max_concurrent_bounds_requests_in_flight(
    make_openai_llm: Callable[..., LLM],
    openai_server: FakeOpenAIServer,
    autojump_clock: trio.testing.MockClock,
) -> None:
    llm = make_openai_llm(max_concurrent=2)
    openai_server.push(*[Reply(text="x", ttft=1.0)] * 6)
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        for _ in range(6):
            nursery.start_soon(llm.generate, "Hi")
    assert trio.current_time() - start == pytest.approx(3.0, abs=0.2)  # 6 calls, 2 at a time


async def test_call_deadline_covers_the_whole_call(
    make_openai_llm: Callable[..., LLM],
    openai_server: FakeOpenAIServer,
    autojump_clock: trio.testing.MockClock,
) -> None:
    openai_server.push(Reply(text="late", ttft=10))
    llm = make_openai_llm()
    start = trio.current_time()
    with pytest.raises(ProviderTimeout, match="deadline"):
        await llm.generate("Hi", timeout=3)
    assert trio.current_time() - start == pytest.approx(3, abs=0.1)
    with trio.fail_after(5):
        await openai_server.wait_for_connections(0)
