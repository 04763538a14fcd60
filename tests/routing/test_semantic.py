"""The semantic router's protocol, over real HTTP to fake servers: the
fake OpenAI server's embeddings are a hash of the text (the same text, the
same vector; others far apart), which is enough to test the choice, the
threshold, the default, the fallback, the events and that the examples are
embedded once. Its accuracy on meaning is tested with the local embedding
model in tests/routing/test_semantic_accuracy.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
import trio

from abstractcore_actors import LLM, Runtime, ValidationError, open_runtime
from abstractcore_actors.events import RouteChosen
from abstractcore_actors.routing import Deployment
from abstractcore_actors.testing import FakeOpenAIServer, Fault, Reply, open_fake_openai_server
from tests.leaks import our_tasks


@pytest.fixture
async def rt() -> AsyncIterator[Runtime]:
    async with open_runtime(env={}) as runtime:
        yield runtime
    assert our_tasks() == []


FAULTS: dict[str, Fault] = {}  # model -> the fault its next chat request meets


@pytest.fixture
async def upstream() -> AsyncIterator[FakeOpenAIServer]:
    FAULTS.clear()

    def reply(request: object) -> Reply | Fault:
        model = request.json["model"]  # type: ignore[attr-defined]
        return FAULTS.pop(model, None) or Reply(text=f"from {model}")

    async with open_fake_openai_server(reply) as server:
        yield server


@pytest.fixture
def make(rt: Runtime, upstream: FakeOpenAIServer) -> Callable[..., LLM]:
    def make(model: str, **options: object) -> LLM:
        return rt.create_llm(
            "openai-compatible",
            model,
            base_url=upstream.base_url,
            name=model,
            max_retries=0,
            **options,
        )

    return make


def routes(make: Callable[..., LLM]) -> list[Deployment]:
    return [
        Deployment(llm=make("general"), name="general"),
        Deployment(
            llm=make("coder"), name="code", examples=["fix my python loop", "a bash script"]
        ),
        Deployment(llm=make("accountant"), name="billing", examples=["refund my invoice"]),
    ]


def embeddings_sent(server: FakeOpenAIServer) -> list[list[str]]:
    return [r.json["input"] for r in server.requests if r.path == "/v1/embeddings"]  # type: ignore[index]


async def test_a_request_like_an_example_goes_to_its_route_with_the_scores(
    rt: Runtime, make: Callable[..., LLM], upstream: FakeOpenAIServer
) -> None:
    router = rt.router(
        "by-meaning",
        routes(make),
        strategy="semantic",
        embedder=make("embed"),
        aggregate="max",
        threshold=0.99,
    )
    async with rt.events.subscribe([RouteChosen]) as events:
        with trio.fail_after(10):
            answer = await router.generate("refund my invoice")
            chosen = await events.receive()
    assert answer.content == "from accountant"
    assert isinstance(chosen, RouteChosen) and chosen.deployment == "billing"
    scores = dict(chosen.scores)
    assert set(scores) == {"code", "billing"}  # the default has no examples
    assert scores["billing"] == pytest.approx(1.0, abs=1e-5)
    assert chosen.scores[0][0] == "billing"  # best first
    assert "semantic: 1.000 >= threshold 0.99" in answer.route[0].reason


async def test_below_the_threshold_the_default_answers(
    rt: Runtime, make: Callable[..., LLM]
) -> None:
    router = rt.router(
        "by-meaning",
        routes(make),
        strategy="semantic",
        embedder=make("embed"),
        aggregate="max",
        threshold=0.99,
    )
    with trio.fail_after(10):
        answer = await router.generate("something else entirely")
    assert answer.content == "from general"
    assert "default" in answer.route[0].reason and "< threshold 0.99" in answer.route[0].reason


async def test_examples_are_embedded_once_and_streams_route_too(
    rt: Runtime, make: Callable[..., LLM], upstream: FakeOpenAIServer
) -> None:
    router = rt.router(
        "by-meaning", routes(make), strategy="semantic", embedder=make("embed"), aggregate="max"
    )
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            for _ in range(5):
                nursery.start_soon(router.generate, "a bash script")
        async with router.stream("fix my python loop") as stream:
            text = "".join([chunk.text async for chunk in stream])
    assert text == "from coder"
    sent = embeddings_sent(upstream)
    examples = [batch for batch in sent if len(batch) > 1]
    assert examples == [["fix my python loop", "a bash script", "refund my invoice"]]
    assert len(sent) == 1 + 6  # the examples once, then one per request


async def test_a_failing_route_falls_back_to_the_default(
    rt: Runtime, make: Callable[..., LLM], upstream: FakeOpenAIServer
) -> None:
    router = rt.router(
        "by-meaning",
        routes(make),
        strategy="semantic",
        embedder=make("embed"),
        aggregate="max",
        default="general",
    )
    with trio.fail_after(10):
        await router.generate("warm up")  # the examples embedded first
        FAULTS["coder"] = Fault.status(500, message="the coder is down")
        answer = await router.generate("a bash script")
    assert answer.content == "from general"
    assert [(s.deployment, s.outcome) for s in answer.route] == [
        ("code", "failed"),
        ("general", "answered"),
    ]


async def test_bad_semantic_routers_say_what_to_fix(rt: Runtime, make: Callable[..., LLM]) -> None:
    good, embed, plain = routes(make), make("e"), make("a")
    with pytest.raises(ValidationError, match="aggregate must be 'centroid' or 'max'"):
        rt.router("r", good, strategy="semantic", embedder=embed, aggregate="mean")
    with pytest.raises(ValidationError, match="default='nope' is not one of the routes"):
        rt.router("r", good, strategy="semantic", embedder=embed, default="nope")
    with pytest.raises(ValidationError, match="route 'billing' has no examples"):
        rt.router(
            "r",
            [Deployment(llm=plain, name="general"), Deployment(llm=plain, name="billing")],
            strategy="semantic",
            embedder=embed,
        )
    with pytest.raises(ValidationError, match="examples= are for strategy='semantic'"):
        rt.router("r", good)
    with pytest.raises(ValidationError, match="threshold must be a cosine similarity"):
        rt.router("r", good, strategy="semantic", embedder=embed, threshold=3)
    with pytest.raises(ValidationError, match="examples must be a list of strings"):
        Deployment(llm=plain, examples="one string")  # type: ignore[arg-type]
