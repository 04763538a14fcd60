"""Routers over real deployments (fake OpenAI servers on 127.0.0.1, the real
SDK adapter): fallbacks and when not to, streams before and after their first
token, cooldown through the provider's breaker, context windows, tags, and
the router as an LLM in patterns and sessions. No task outlives a test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
import trio

from abstractcore_actors import (
    LLM,
    AllAttemptsFailed,
    BadRequest,
    Image,
    Message,
    ProviderUnavailable,
    Runtime,
    open_runtime,
    race,
    tool,
)
from abstractcore_actors.events import RouteChosen, RouteFailed
from abstractcore_actors.routing import Deployment
from abstractcore_actors.testing import (
    FakeOpenAIServer,
    FakeUsage,
    Fault,
    Reply,
    open_fake_openai_server,
)
from tests.leaks import our_tasks

KEY = "sk-test-0123456789"
PRICES = {
    "cheap": {"input": 0.1, "output": 0.2},
    "dear": {"input": 5, "output": 15},
}


@pytest.fixture
async def rt() -> AsyncIterator[Runtime]:
    async with open_runtime(env={}, prices=PRICES) as runtime:
        yield runtime
    assert our_tasks() == []


@pytest.fixture
async def a() -> AsyncIterator[FakeOpenAIServer]:
    async with open_fake_openai_server(default=Reply(text="from a")) as server:
        yield server


@pytest.fixture
async def b() -> AsyncIterator[FakeOpenAIServer]:
    async with open_fake_openai_server(default=Reply(text="from b")) as server:
        yield server


@pytest.fixture
def make(rt: Runtime) -> Callable[..., LLM]:
    def make(server: FakeOpenAIServer, model: str, **options: object) -> LLM:
        return rt.create_llm(
            "openai",
            model,
            base_url=server.base_url,
            api_key=KEY,
            max_retries=0,
            name=f"{model}@{server.port}",
            **options,
        )

    return make


async def test_a_failed_deployment_falls_back_and_the_route_says_so(
    rt: Runtime, a: FakeOpenAIServer, b: FakeOpenAIServer, make: Callable[..., LLM]
) -> None:
    a.push(Fault.status(500))
    router = rt.router("main", [make(a, "dear"), make(b, "cheap")])
    async with rt.events.subscribe([RouteChosen, RouteFailed]) as events:
        with trio.fail_after(5):
            answer = await router.generate("hi")
        seen = [await events.receive() for _ in range(3)]
    assert answer.content == "from b"
    assert (answer.provider, answer.model) == ("openai", "cheap")
    assert [(s.deployment, s.outcome) for s in answer.route] == [
        ("openai/dear", "failed"),
        ("openai/cheap", "answered"),
    ]
    assert "ProviderUnavailable" in answer.route[0].error
    assert answer.route[0].reason == "first in order"
    assert [type(e).__name__ for e in seen] == ["RouteChosen", "RouteFailed", "RouteChosen"]
    failed = seen[1]
    assert isinstance(failed, RouteFailed) and failed.fallback and failed.model == "dear"
    assert answer.cost is not None and answer.cost.known  # priced as "cheap"


async def test_a_request_the_deployment_refused_as_bad_never_falls_back(
    rt: Runtime, a: FakeOpenAIServer, b: FakeOpenAIServer, make: Callable[..., LLM]
) -> None:
    a.push(Fault.status(400, "temperature is not supported"))
    router = rt.router("main", [make(a, "dear"), make(b, "cheap")])
    with trio.fail_after(5), pytest.raises(BadRequest, match="temperature"):
        await router.generate("hi")
    assert b.requests == []


async def test_when_every_deployment_fails_each_cause_is_kept(
    rt: Runtime, a: FakeOpenAIServer, b: FakeOpenAIServer, make: Callable[..., LLM]
) -> None:
    a.push(Fault.status(503))
    b.push(Fault.status(429, "slow down"))
    router = rt.router("main", [make(a, "dear"), make(b, "cheap")])
    with trio.fail_after(5), pytest.raises(AllAttemptsFailed) as caught:
        await router.generate("hi")
    assert caught.value.labels == ["openai/dear", "openai/cheap"]
    assert [type(e).__name__ for e in caught.value.errors] == ["ProviderUnavailable", "RateLimited"]


async def test_a_stream_falls_back_before_its_first_token(
    rt: Runtime, a: FakeOpenAIServer, b: FakeOpenAIServer, make: Callable[..., LLM]
) -> None:
    a.push(Fault.status(502))
    b.push(Reply(text="one two three", usage=FakeUsage(prompt_tokens=10, completion_tokens=3)))
    router = rt.router("main", [make(a, "dear"), make(b, "cheap")])
    with trio.fail_after(5):
        async with router.stream("hi") as stream:
            await stream.wait_accepted()
            text = "".join([chunk.text async for chunk in stream])
    answer = stream.response()
    assert text == "one two three"
    assert (answer.provider, answer.model) == ("openai", "cheap")
    assert [s.outcome for s in answer.route] == ["failed", "answered"]
    # priced by the deployment that answered: $0.1/$0.2 per 1M tokens
    assert answer.cost is not None and answer.cost.nano_usd == 10 * 100 + 3 * 200


async def test_a_stream_never_falls_back_after_its_first_token(
    rt: Runtime, a: FakeOpenAIServer, b: FakeOpenAIServer, make: Callable[..., LLM]
) -> None:
    a.push(Fault.reset(after_chunks=2, reply=Reply(text="one two three four")))
    router = rt.router("main", [make(a, "dear"), make(b, "cheap")])
    received = []
    with trio.fail_after(5), pytest.raises(ProviderUnavailable, match="connection broke"):
        async with router.stream("hi") as stream:
            async for chunk in stream:
                received.append(chunk.text)
    assert "".join(received).split() == ["one", "two"]
    assert b.requests == []  # the caller had tokens: no second answer spliced in


async def test_an_open_breaker_cools_the_deployment_down_until_it_half_opens(
    rt: Runtime, a: FakeOpenAIServer, b: FakeOpenAIServer, make: Callable[..., LLM]
) -> None:
    a.push(Fault.status(500), Fault.status(500))
    flaky = make(a, "dear", failure_threshold=1, reset_after=60)
    router = rt.router("main", [flaky, make(b, "cheap")])
    with trio.fail_after(5):
        first = await router.generate("one")  # dear fails, its breaker opens
        second = await router.generate("two")  # dear's breaker answers at once: open
        third = await router.generate("three")  # dear is cooling: cheap is asked first
    assert [s.outcome for s in first.route] == ["failed", "answered"]
    assert [(s.model, s.outcome) for s in second.route] == [
        ("dear", "failed"),
        ("cheap", "answered"),
    ]
    assert "CircuitOpen" in second.route[0].error
    assert [(s.model, s.outcome) for s in third.route] == [("cheap", "answered")]
    assert len(a.requests) == 1  # the open breaker kept every later call off the wire


async def test_a_prompt_past_a_window_skips_that_deployment(
    rt: Runtime, a: FakeOpenAIServer, b: FakeOpenAIServer, make: Callable[..., LLM]
) -> None:
    small = Deployment(llm=make(a, "dear"), context_window=300)
    router = rt.router("main", [small, make(b, "cheap")])
    with trio.fail_after(5):
        answer = await router.generate("word " * 400)
    assert [(s.model, s.outcome) for s in answer.route] == [
        ("dear", "skipped"),
        ("cheap", "answered"),
    ]
    assert "300-token context window" in answer.route[0].reason
    assert a.requests == []


async def test_context_too_long_falls_back_to_a_larger_window_only(
    rt: Runtime, make: Callable[..., LLM]
) -> None:
    too_long = Fault.status(400, "This model's maximum context length is 8192 tokens")
    async with (
        open_fake_openai_server([too_long]) as small_server,
        open_fake_openai_server([too_long]) as same_server,
        open_fake_openai_server(default=Reply(text="roomy")) as large_server,
    ):
        router = rt.router(
            "main",
            [
                Deployment(llm=make(small_server, "s"), context_window=8192),
                Deployment(llm=make(same_server, "t"), context_window=8192),
                Deployment(llm=make(large_server, "l"), context_window=200_000),
            ],
        )
        with trio.fail_after(5):
            answer = await router.generate("hi")
        assert same_server.requests == []
    assert answer.content == "roomy"
    assert [(s.model, s.outcome) for s in answer.route] == [
        ("s", "failed"),
        ("t", "skipped"),
        ("l", "answered"),
    ]


async def test_tools_go_to_deployments_tagged_for_them(
    rt: Runtime, a: FakeOpenAIServer, b: FakeOpenAIServer, make: Callable[..., LLM]
) -> None:
    @tool
    def clock() -> str:
        """The time."""
        return "noon"

    router = rt.router(
        "main",
        [Deployment(llm=make(a, "dear")), Deployment(llm=make(b, "cheap"), tags=["tools"])],
    )
    with trio.fail_after(5):
        plain = await router.generate("hi")
        with_tools = await router.generate("time?", tools=[clock])
    assert plain.model == "dear"
    assert with_tools.model == "cheap"
    assert with_tools.route[0].outcome == "skipped" and "tools" in with_tools.route[0].reason


async def test_images_go_to_deployments_tagged_vision(
    rt: Runtime, a: FakeOpenAIServer, b: FakeOpenAIServer, make: Callable[..., LLM]
) -> None:
    router = rt.router(
        "main",
        [Deployment(llm=make(a, "text")), Deployment(llm=make(b, "eyes"), tags=["vision"])],
    )
    look = Message.user("what is it?", [Image("https://example.com/cat.png")])
    with trio.fail_after(5):
        plain = await router.generate("hi")
        with_image = await router.generate([look])
    assert plain.model == "text"
    assert with_image.model == "eyes"
    assert with_image.route[0].outcome == "skipped" and "images" in with_image.route[0].reason
    sent = b.requests[-1].json["messages"][0]["content"]
    assert sent[1] == {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}


async def test_cheapest_picks_by_price_and_respects_min_tier(
    rt: Runtime, a: FakeOpenAIServer, b: FakeOpenAIServer, make: Callable[..., LLM]
) -> None:
    dear = Deployment(llm=make(a, "dear"), tier=2)
    cheap = Deployment(llm=make(b, "cheap"), tier=1)
    any_tier = rt.router("any", [dear, cheap], strategy="cheapest")
    good_only = rt.router("good", [dear, cheap], strategy="cheapest", min_tier=2)
    with trio.fail_after(5):
        assert (await any_tier.generate("hi")).model == "cheap"
        picked = await good_only.generate("hi")
    assert picked.model == "dear"
    assert "below min_tier 2" in picked.route[0].reason


async def test_a_router_races_like_any_llm(
    rt: Runtime, a: FakeOpenAIServer, b: FakeOpenAIServer, make: Callable[..., LLM]
) -> None:
    a.default = Reply(text="slow " * 20, token_latency=0.2)
    router = rt.router("main", [make(b, "cheap")])
    with trio.fail_after(5):
        result = await race([make(a, "dear"), router], "hi")
    assert result.content == "from b"
    assert result.winners[0].label == "router:main"


async def test_a_session_runs_on_a_router(
    rt: Runtime, a: FakeOpenAIServer, b: FakeOpenAIServer, make: Callable[..., LLM]
) -> None:
    a.push(Fault.status(500))
    router = rt.router("main", [make(a, "dear"), make(b, "cheap")])
    session = rt.session(router, "be brief")
    with trio.fail_after(5):
        answer = await session.generate("hi")
    assert answer.content == "from b"


async def test_cancelling_a_routed_stream_closes_the_upstream(
    rt: Runtime, a: FakeOpenAIServer, make: Callable[..., LLM]
) -> None:
    a.default = Reply(text="tick " * 100, token_latency=0.05)
    router = rt.router("main", [make(a, "dear")])
    with trio.fail_after(5):
        async with router.stream("hi") as stream:
            async for _ in stream:
                break
        await a.wait_for_requests(0)
    assert stream.response().usage.estimated


async def test_bad_router_arguments_are_refused(rt: Runtime, make: Callable[..., LLM]) -> None:
    from abstractcore_actors.errors import ValidationError

    with pytest.raises(ValidationError, match="at least one deployment"):
        rt.router("x", [])
    with pytest.raises(ValidationError, match="unknown routing strategy 'fastest'"):
        rt.router("x", [], strategy="fastest")


async def test_a_cancelled_router_in_a_race_is_priced_by_its_deployment(
    rt: Runtime, a: FakeOpenAIServer, b: FakeOpenAIServer, make: Callable[..., LLM]
) -> None:
    a.default = Reply(text="slow " * 50, token_latency=0.05)
    b.default = Reply(text="quick", ttft=0.3)
    router = rt.router("main", [make(a, "dear")])  # priced by PRICES["dear"]
    with trio.fail_after(5):
        result = await race([router, make(b, "cheap")], "hi")
    loser = next(x for x in result.attempts if x.label == "router:main")
    assert loser.status == "cancelled"
    assert loser.cost.known and loser.cost.nano_usd > 0  # not "unknown": the deployment's price
