"""Every call reports what it cost: whole answers, streams (a cancelled one
too), patterns with their wasted attempts, structured output, and the
gateway's answer (usage.cost_usd and the x-abstractcore-cost-usd header).
Real HTTP on 127.0.0.1 through the fake OpenAI server; prices from genai-prices."""

from __future__ import annotations

from collections.abc import AsyncIterator

import attrs
import pytest
import trio

from abstractcore_actors import LLM, Cost, Runtime, open_runtime, race
from abstractcore_actors.events import GenerationCompleted
from abstractcore_actors.testing import (
    FakeOpenAIServer,
    FakeUsage,
    Reply,
    open_fake_openai_server,
)
from tests.leaks import our_tasks

KEY = "sk-test-0123456789"
# gpt-4o-mini: $0.15 in, $0.075 cached in, $0.60 out per 1M tokens (genai-prices)
USAGE = FakeUsage(prompt_tokens=1000, completion_tokens=200, cached_prompt_tokens=400)
EXACT = Cost(nano_usd=600 * 150 + 400 * 75 + 200 * 600, tokens=1200)


@pytest.fixture
async def rt() -> AsyncIterator[Runtime]:
    async with open_runtime(env={}, prices={"priced-by-me": {"input": 1, "output": 2}}) as runtime:
        yield runtime
    assert our_tasks() == []


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAIServer]:
    async with open_fake_openai_server(lambda _: Reply(text="a b c d", usage=USAGE)) as fake:
        yield fake


def llm(rt: Runtime, server: FakeOpenAIServer, model: str = "gpt-4o-mini") -> LLM:
    return rt.create_llm("openai", model, base_url=server.base_url, api_key=KEY, max_retries=0)


async def test_a_whole_answer_carries_its_exact_cost_and_so_does_its_event(
    rt: Runtime, server: FakeOpenAIServer
) -> None:
    async with rt.events.subscribe(GenerationCompleted) as events:
        response = await llm(rt, server).generate("hi")
        event = await events.receive()
    assert response.usage.cached_prompt_tokens == 400
    assert response.cost == EXACT
    assert isinstance(event, GenerationCompleted)
    assert event.cost_usd == pytest.approx(EXACT.nano_usd / 1e9)


async def test_a_stream_carries_its_cost_at_the_end(rt: Runtime, server: FakeOpenAIServer) -> None:
    async with llm(rt, server).stream("hi") as stream:
        async for _ in stream:
            pass
    assert stream.cost() == EXACT
    assert stream.response().cost == EXACT


async def test_a_cancelled_stream_is_charged_an_estimate_never_nothing(
    rt: Runtime, server: FakeOpenAIServer
) -> None:
    slow = Reply(text="one two three four five six", token_latency=1.0, usage=USAGE)
    async with open_fake_openai_server([slow]) as slow_server:
        answer = llm(rt, slow_server).stream("a prompt of some length")
        async with answer as stream:
            async for _ in stream:
                break  # the person said stop after the first piece
    response = stream.response()
    assert response.usage.estimated
    assert response.usage.prompt_tokens > 0 and response.usage.completion_tokens == 1
    assert response.cost is not None and response.cost.known and response.cost.nano_usd > 0


async def test_an_unpriced_model_costs_unknown_not_zero(
    rt: Runtime, server: FakeOpenAIServer
) -> None:
    response = await llm(rt, server, "gpt-test").generate("hi")
    assert response.cost is not None and response.cost.unpriced == ("openai/gpt-test",)
    assert response.cost.usd is None and response.cost.tokens == 1200  # tokens still count


async def test_a_runtime_price_override_prices_any_model(
    rt: Runtime, server: FakeOpenAIServer
) -> None:
    response = await llm(rt, server, "priced-by-me").generate("hi")
    assert response.cost == Cost(nano_usd=1000 * 1000 + 200 * 2000, tokens=1200)


async def test_a_race_costs_its_winner_and_its_cancelled_losers(
    rt: Runtime, server: FakeOpenAIServer
) -> None:
    fast = llm(rt, server, "gpt-4o-mini")
    async with open_fake_openai_server(
        lambda _: Reply(text="late " * 20, token_latency=0.5, usage=USAGE)
    ) as slow_server:
        slow = rt.create_llm(
            "openai", "gpt-4o-mini", base_url=slow_server.base_url, api_key=KEY, name="slow"
        )
        with trio.fail_after(10):
            result = await race([fast, slow], "hi")
    assert result.winners[0].label == "openai/gpt-4o-mini"
    assert result.response.cost == EXACT
    wasted = result.wasted_cost
    assert wasted.known and wasted.nano_usd > 0  # the loser's prompt and its first tokens
    assert result.cost == EXACT + wasted


def test_costs_sum_and_unknown_is_contagious() -> None:
    total = Cost(nano_usd=5) + Cost.unknown("a") + Cost.unknown("a") + Cost(nano_usd=1)
    assert total.unpriced == ("a",) and total.nano_usd == 6 and total.usd is None
    assert attrs.evolve(total, unpriced=()).usd == pytest.approx(6e-9)
