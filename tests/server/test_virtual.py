"""Virtual models: ensemble (vote) and hedge, and how their names are checked."""

from __future__ import annotations

import httpx
import openai
import pytest
import trio

from abstractcore_actors.testing import FakeOpenAIServer, Fault, Reply

from .conftest import DEADLINE, Routes, assert_openai_error, chat


async def test_ensemble_votes(client: openai.AsyncOpenAI, routes: Routes) -> None:
    routes.steps = {
        "slow": Reply(text="Paris"),
        "fast": Reply(text="paris."),
        "gpt-test": Reply(text="Lyon"),
    }
    with trio.fail_after(DEADLINE):
        reply = await client.chat.completions.create(
            model="ensemble:slow,fast,gpt-test", messages=[{"role": "user", "content": "?"}]
        )
        assert reply.choices[0].message.content in ("Paris", "paris.")
        stream = await client.chat.completions.create(
            model="ensemble:slow,fast,gpt-test",
            messages=[{"role": "user", "content": "?"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [c async for c in stream]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) in (
        "Paris",
        "paris.",
    )
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


async def test_hedge_starts_the_second_after_the_delay(
    client: openai.AsyncOpenAI, routes: Routes, upstream: FakeOpenAIServer
) -> None:
    routes.steps = {"slow": Reply(text="slow", ttft=5), "fast": Reply(text="quick")}
    with trio.fail_after(DEADLINE):
        start = trio.current_time()
        reply = await client.chat.completions.create(
            model="hedge:0.2:slow,fast", messages=[{"role": "user", "content": "?"}]
        )
    assert reply.choices[0].message.content == "quick"
    assert 0.2 <= trio.current_time() - start < 2
    assert upstream.active_requests == 0


async def test_a_streamed_hedge_streams_the_winners_tokens(
    client: openai.AsyncOpenAI, routes: Routes, upstream: FakeOpenAIServer
) -> None:
    routes.steps = {
        "slow": Reply(text="slow " * 20, ttft=5),
        "fast": Reply(text="one two three four five", token_latency=0.02),
    }
    with trio.fail_after(DEADLINE):
        start = trio.current_time()
        stream = await client.chat.completions.create(
            model="hedge:slow,fast?after=0.2",
            messages=[{"role": "user", "content": "?"}],
            stream=True,
            extra_headers={"x-request-id": "hedged"},
        )
        pieces = [c.choices[0].delta.content async for c in stream if c.choices]
        took = trio.current_time() - start
        await upstream.wait_for_requests(0)  # the slow attempt was cancelled
    text = "".join(p or "" for p in pieces)
    assert text == "one two three four five"
    assert len([p for p in pieces if p]) > 1  # token by token, not one whole chunk
    assert 0.2 <= took < 2
    models = [r.json["model"] for r in upstream.requests]  # type: ignore[index]
    assert models == ["slow", "fast"]


@pytest.mark.parametrize(
    "model", ["hedge:soon:slow,fast", "hedge:-1:slow", "race:", "ensemble:" + "fast," * 9]
)
async def test_a_malformed_virtual_name_is_400(http: httpx.AsyncClient, model: str) -> None:
    with trio.fail_after(DEADLINE):
        response = await http.post("/v1/chat/completions", json=chat(model))
    assert assert_openai_error(response, 400)["param"] == "model"


async def test_a_virtual_model_over_an_unknown_one_is_404(http: httpx.AsyncClient) -> None:
    with trio.fail_after(DEADLINE):
        response = await http.post("/v1/chat/completions", json=chat("race:fast,nope"))
    assert "nope" in str(assert_openai_error(response, 404)["message"])


async def test_a_race_where_all_fail_alike_answers_like_them(
    http: httpx.AsyncClient, routes: Routes
) -> None:
    routes.steps = {"slow": Fault.status(429, "x"), "fast": Fault.status(429, "y")}
    with trio.fail_after(DEADLINE):
        same = await http.post("/v1/chat/completions", json=chat("race:slow,fast"))
        routes.steps["fast"] = Fault.status(500, "z")
        mixed = await http.post("/v1/chat/completions", json=chat("race:slow,fast"))
    assert_openai_error(same, 429)
    assert assert_openai_error(mixed, 502)["code"] == "all_attempts_failed"


async def test_virtual_options_reach_the_patterns(
    client: openai.AsyncOpenAI, routes: Routes, upstream: FakeOpenAIServer
) -> None:
    messages = [{"role": "user", "content": "?"}]
    routes.steps = {
        "slow": Reply(text="slow", ttft=5),
        "fast": Reply(text="quick"),
        "gpt-test": Reply(text="other"),  # also "default", its alias
    }
    with trio.fail_after(DEADLINE):
        start = trio.current_time()
        quorum = await client.chat.completions.create(
            model="ensemble:slow,fast?min=1",
            messages=messages,  # type: ignore[arg-type]
        )
        hedged = await client.chat.completions.create(
            model="hedge:slow,fast?after=0.1&max_attempts=2",
            messages=messages,  # type: ignore[arg-type]
        )
        took = trio.current_time() - start
        with pytest.raises(openai.APIStatusError) as timed_out:
            await client.chat.completions.create(
                model="race:slow,slow?timeout=0.2",
                messages=messages,  # type: ignore[arg-type]
            )
        routes.steps["slow"] = Reply(text="2")  # as the judge: the second candidate
        judged = await client.chat.completions.create(
            model="ensemble:fast,default?combine=judge&judge=slow",
            messages=messages,  # type: ignore[arg-type]
        )
        concat = await client.chat.completions.create(
            model="ensemble:fast,default?combine=concat",
            messages=messages,  # type: ignore[arg-type]
        )
    assert quorum.choices[0].message.content == "quick"
    assert hedged.choices[0].message.content == "quick"
    assert took < 3  # neither waited for the 5 s "slow"
    assert timed_out.value.status_code == 504
    assert judged.choices[0].message.content == "other"
    content = concat.choices[0].message.content or ""
    assert "quick" in content and "other" in content
    assert upstream.active_requests == 0


@pytest.mark.parametrize(
    "model, words",
    [
        ("race:fast,slow?after=1", "valid options: timeout"),
        ("ensemble:fast,slow?combine=best", "combine must be one of vote, concat, judge"),
        ("ensemble:fast,slow?combine=judge", "go together"),
        ("ensemble:fast,slow?min=3", "min must be a whole number from 1 to 2"),
        ("hedge:fast,slow?after=1&after=2", "given twice"),
        ("hedge:fast,slow?max_attempts=0", "max_attempts"),
        ("race:fast,slow?timeout=0", "more than 0"),
        ("race:fast,slow?timeout", "key=value"),
        ("race:fast,race:slow,fast", "do not nest"),
    ],
)
async def test_bad_virtual_options_are_400_naming_the_fix(
    http: httpx.AsyncClient, model: str, words: str
) -> None:
    with trio.fail_after(DEADLINE):
        response = await http.post("/v1/chat/completions", json=chat(model))
    error = assert_openai_error(response, 400)
    assert error["param"] == "model"
    assert words in str(error["message"])
