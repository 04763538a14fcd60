"""stream_structured: partials as the JSON grows; an early invalid field stops the stream."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abstractcore_actors import LLM, open_runtime
from abstractcore_actors.structured import StructuredOutputError, stream_structured
from abstractcore_actors.testing import (
    FakeAnthropicServer,
    FakeOpenAIServer,
    FakeToolCall,
    Reply,
    open_fake_openai_server,
)
from tests.leaks import our_tasks

from .conftest import ADA, PERSON_JSON, Person
from .test_schema import _compatible, _to_json, people


def _pieces(text: str, size: int = 4) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


async def test_partials_grow_into_the_final_object(
    make_llm: Callable[..., LLM],
    openai_server: FakeOpenAIServer,
    autojump_clock: trio.testing.MockClock,
) -> None:
    openai_server.push(Reply(chunks=_pieces(PERSON_JSON), token_latency=0.01))
    seen: list[dict[str, Any]] = []
    async with stream_structured(make_llm("openai"), "Who?", response_model=Person) as s:
        async for partial in s:
            seen.append(partial.to_dict())
        result = await s.result()
    assert result.value == ADA == s.value
    assert len(seen) > 5
    final = json.loads(PERSON_JSON)
    assert all(_compatible(p, final) for p in seen)
    assert seen[-1] == final
    body = openai_server.requests[0].json
    assert isinstance(body, dict) and body["stream"] is True
    assert body["response_format"]["type"] == "json_schema"


async def test_anthropic_streams_the_tool_arguments(
    make_llm: Callable[..., LLM], anthropic_server: FakeAnthropicServer
) -> None:
    anthropic_server.push(
        Reply(tool_calls=[FakeToolCall(name="Person", arguments=json.loads(PERSON_JSON))])
    )
    async with stream_structured(make_llm("anthropic"), "Who?", response_model=Person) as s:
        partials = [p async for p in s]
        result = await s.result()
    assert result.value == ADA
    assert len(partials) > 1


def _bad_early_reply(latency: float) -> tuple[Reply, str]:
    # "age" is finished (and wrong) long before the end of the answer
    bad = json.dumps(
        {
            "name": "Ada",
            "age": "old",
            "mood": "happy",
            "pets": [{"name": f"pet number {i}", "kind": "cat"} for i in range(30)],
        }
    )
    return Reply(chunks=_pieces(bad), token_latency=latency), bad


async def test_an_early_invalid_field_closes_the_upstream_connection(
    make_llm: Callable[..., LLM],
    openai_server: FakeOpenAIServer,
    autojump_clock: trio.testing.MockClock,
) -> None:
    reply, bad = _bad_early_reply(latency=0.1)
    openai_server.push(reply)
    start = trio.current_time()
    async with stream_structured(
        make_llm("openai-compatible"), "Who?", response_model=Person, max_attempts=1
    ) as s:
        with pytest.raises(StructuredOutputError) as info:
            async for _ in s:
                pass
        # the aborted connection is closed, not parked in the pool
        with trio.fail_after(1):
            await openai_server.wait_for_connections(0)
    [attempt] = info.value.attempts
    assert attempt.aborted_after_chunks is not None
    assert attempt.aborted_after_chunks < len(reply.pieces()) // 4
    assert attempt.problems[0][0] == "age"
    assert bad.startswith(attempt.raw)
    # stopped after about a tenth of the time the whole answer takes to stream
    assert trio.current_time() - start < 0.2 * 0.1 * len(reply.pieces())


async def test_a_stopped_attempt_is_retried_with_feedback(
    make_llm: Callable[..., LLM],
    openai_server: FakeOpenAIServer,
    autojump_clock: trio.testing.MockClock,
) -> None:
    reply, _ = _bad_early_reply(latency=0.1)
    openai_server.push(reply, Reply(chunks=_pieces(PERSON_JSON), token_latency=0.01))
    attempts: set[int] = set()
    async with stream_structured(make_llm("openai"), "Who?", response_model=Person) as s:
        async for _ in s:
            attempts.add(s.attempt)
        result = await s.result()
    assert result.value == ADA
    assert attempts == {0, 1}
    assert result.aborted_early == 1
    assert [a.ok for a in result.attempts] == [False, True]
    retry = openai_server.requests[1].json
    assert isinstance(retry, dict)
    feedback = retry["messages"][-1]["content"]
    assert "stopped early" in feedback and "- age: expected integer" in feedback


async def test_an_unknown_field_or_enum_violation_also_stops_the_stream(
    make_llm: Callable[..., LLM],
    openai_server: FakeOpenAIServer,
    autojump_clock: trio.testing.MockClock,
) -> None:
    for text in [
        '{"name": "Ada", "salary": 3, "age": 36, "mood": "happy", "pets": []}',
        '{"name": "Ada", "mood": "grumpy and then some more words", "age": 36, "pets": []}',
    ]:
        openai_server.push(Reply(chunks=_pieces(text, 2), token_latency=0.1))
    for expected in ["salary", "mood"]:
        async with stream_structured(
            make_llm("openai"), "Who?", response_model=Person, max_attempts=1
        ) as s:
            with pytest.raises(StructuredOutputError) as info:
                await s.result()
        [attempt] = info.value.attempts
        assert attempt.problems[0][0] == expected
        assert attempt.aborted_after_chunks is not None


async def test_leaving_the_block_early_closes_everything(
    make_llm: Callable[..., LLM],
    openai_server: FakeOpenAIServer,
    autojump_clock: trio.testing.MockClock,
) -> None:
    openai_server.push(Reply(chunks=_pieces(PERSON_JSON, 2), token_latency=0.1))
    async with stream_structured(make_llm("openai"), "Who?", response_model=Person) as s:
        async for _ in s:
            break
    with trio.fail_after(1):
        await openai_server.wait_for_connections(0)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    person=people,
    cuts=st.lists(st.integers(min_value=1, max_value=300), max_size=8, unique=True),
)
def test_streamed_partials_never_contradict_the_final_object(
    person: Person, cuts: list[int]
) -> None:
    text = _to_json(person)
    bounds = [0, *sorted(c for c in cuts if c < len(text)), len(text)]
    chunks = [text[a:b] for a, b in itertools.pairwise(bounds) if b > a]
    final = json.loads(text)

    async def main() -> None:
        async with open_fake_openai_server([Reply(chunks=chunks)]) as server:
            async with open_runtime(env={}) as rt:
                llm = rt.create_llm("openai-compatible", "m", base_url=server.base_url)
                async with stream_structured(llm, "Who?", response_model=Person) as s:
                    partials = [p.to_dict() async for p in s]
                    result = await s.result()
            assert our_tasks() == []
        assert result.value == person
        assert [a.ok for a in result.attempts] == [True]
        for partial in partials:
            assert _compatible(partial, final), partial

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


async def test_anthropic_tool_arguments_are_checked_as_they_stream(
    make_llm: Callable[..., LLM],
    anthropic_server: FakeAnthropicServer,
    autojump_clock: trio.testing.MockClock,
) -> None:
    arguments = {
        "name": "Ada",
        "age": "old",
        "mood": "happy",
        "pets": [{"name": f"pet number {i}", "kind": "cat"} for i in range(30)],
    }
    reply = Reply(tool_calls=[FakeToolCall(name="Person", arguments=arguments)], token_latency=0.1)
    anthropic_server.push(reply)
    async with stream_structured(
        make_llm("anthropic"), "Who?", response_model=Person, max_attempts=1
    ) as s:
        with pytest.raises(StructuredOutputError) as info:
            await s.result()
        with trio.fail_after(1):
            await anthropic_server.wait_for_connections(0)
    [attempt] = info.value.attempts
    assert attempt.problems[0][0] == "age"
    assert attempt.aborted_after_chunks is not None and attempt.aborted_after_chunks < 20
