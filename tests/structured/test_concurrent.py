"""concurrent=True: attempts race, validation is the race's `accept`."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import trio
import trio.testing

from abstractcore_actors import AllAttemptsFailed, ProviderError, Runtime, ValidationError
from abstractcore_actors.structured import StructuredOutputError, generate_structured
from abstractcore_actors.testing import Fault, RecordedRequest, Reply, open_fake_openai_server

from .conftest import ADA, API_KEY, PERSON_JSON, Person


def _by_model(steps: dict[str, Reply]) -> Callable[[RecordedRequest], Reply]:
    def route(request: RecordedRequest) -> Reply:
        body = request.json if isinstance(request.json, dict) else {}
        return steps[str(body.get("model"))]

    return route


async def test_a_fast_invalid_answer_loses_to_a_slower_valid_one(
    rt: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    steps = {
        "fast": Reply(text='{"name": "Ada"}', ttft=0.1),
        "slow": Reply(text=PERSON_JSON, ttft=0.5),
        "slowest": Reply(chunks=[PERSON_JSON[:10], PERSON_JSON[10:]], ttft=5.0),
    }
    async with open_fake_openai_server(_by_model(steps)) as server:
        llms = [
            rt.create_llm("openai", model, base_url=server.base_url, api_key=API_KEY, max_retries=0)
            for model in steps
        ]
        start = trio.current_time()
        result = await generate_structured(llms, "Who?", response_model=Person, concurrent=True)
        elapsed = trio.current_time() - start
        # the loser's request was cancelled and its connection closed before we returned
        assert server.active_requests == 0
        assert len(server.requests) == 3
    assert elapsed == pytest.approx(0.5, abs=0.1)
    assert result.value == ADA
    fates = [(a.ok, a.cancelled, bool(a.problems)) for a in result.attempts]
    assert fates == [(False, False, True), (True, False, False), (False, True, False)]
    assert result.attempts[0].problems[0] == ("age", "missing (it is required)")
    assert result.usage.completion_tokens >= result.attempts[1].usage.completion_tokens > 0


def _round_of(request: RecordedRequest) -> int:
    """Which round a request belongs to: the feedback turns it carries."""
    body = request.json if isinstance(request.json, dict) else {}
    said = [str(m.get("content")) for m in body.get("messages", []) if m.get("role") == "user"]
    return sum("does not match the required JSON schema" in text for text in said)


def _messages(request: RecordedRequest) -> list[str]:
    body = request.json if isinstance(request.json, dict) else {}
    return [str(m.get("content")) for m in body.get("messages", [])]


async def test_every_round_invalid_is_a_structured_output_error_with_every_attempt(
    rt: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_fake_openai_server(default=Reply(text="nope")) as server:
        llm = rt.create_llm("openai-compatible", "m", base_url=server.base_url, max_retries=0)
        with trio.fail_after(5), pytest.raises(StructuredOutputError, match="6 attempt") as info:
            await generate_structured(
                llm, "Who?", response_model=Person, concurrent=True, attempts=3, max_attempts=2
            )
        assert [_round_of(r) for r in server.requests] == [0, 0, 0, 1, 1, 1]
        assert server.active_requests == 0
    attempts = info.value.attempts
    assert [a.raw for a in attempts] == ["nope"] * 6
    assert [a.round for a in attempts] == [0, 0, 0, 1, 1, 1]
    assert [a.index for a in attempts] == list(range(6))
    assert all(a.problems and a.error is None for a in attempts)
    per_call = attempts[0].usage.completion_tokens
    assert per_call > 0
    assert info.value.usage.completion_tokens == 6 * per_call


@pytest.mark.parametrize("valid_from_round", [0, 1, 2])
async def test_a_round_with_no_valid_answer_feeds_its_problems_to_the_next(
    rt: Runtime, autojump_clock: trio.testing.MockClock, valid_from_round: int
) -> None:
    def route(request: RecordedRequest) -> Reply:
        if _round_of(request) >= valid_from_round:
            return Reply(text=PERSON_JSON, ttft=0.2)
        return Reply(text='{"name": "Ada"}', ttft=0.1)

    async with open_fake_openai_server(route) as server:
        llm = rt.create_llm("openai", "m", base_url=server.base_url, api_key=API_KEY, max_retries=0)
        with trio.fail_after(5):
            result = await generate_structured(
                llm, "Who?", response_model=Person, concurrent=True, attempts=2, max_attempts=3
            )
        assert server.active_requests == 0
        rounds = [_round_of(r) for r in server.requests]
        later = [_messages(r) for r in server.requests if _round_of(r) > 0]
    assert rounds == sorted(rounds) and rounds[-1] == valid_from_round
    assert result.value == ADA
    assert [a.round for a in result.attempts] == [
        r for r in range(valid_from_round + 1) for _ in "ab"
    ]
    assert {a.round for a in result.attempts if a.ok} == {valid_from_round}
    assert all(a.problems for a in result.attempts if a.round < valid_from_round)
    for messages in later:  # each later round sees the invalid answer and what was wrong
        assert '{"name": "Ada"}' in messages
        assert any("age" in m and "missing" in m for m in messages)
    assert result.usage.completion_tokens == sum(a.usage.completion_tokens for a in result.attempts)


async def test_the_next_round_gets_the_best_invalid_answer_of_the_round(
    rt: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    close = PERSON_JSON.replace('"age": 36', '"age": "old"')  # one problem
    steps = {
        "fast": Reply(text='{"nick": 1}', ttft=0.1),  # several problems, first to answer
        "close": Reply(text=close, ttft=0.3),
    }

    def route(request: RecordedRequest) -> Reply:
        if _round_of(request) == 1:
            return Reply(text=PERSON_JSON)
        return _by_model(steps)(request)

    async with open_fake_openai_server(route) as server:
        llms = [
            rt.create_llm("openai", model, base_url=server.base_url, api_key=API_KEY, max_retries=0)
            for model in steps
        ]
        with trio.fail_after(5):
            result = await generate_structured(llms, "Who?", response_model=Person, concurrent=True)
        second = [_messages(r) for r in server.requests if _round_of(r) == 1]
    assert result.value == ADA
    assert len(second) == 2
    for messages in second:
        assert close in messages and '{"nick": 1}' not in messages
    assert [(a.round, bool(a.problems)) for a in result.attempts[:2]] == [(0, True), (0, True)]
    assert len(result.attempts[0].problems) > len(result.attempts[1].problems) == 1


async def test_a_round_where_every_call_failed_ends_the_race(
    rt: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_fake_openai_server(default=Fault.status(500)) as server:
        llm = rt.create_llm("openai", "m", base_url=server.base_url, api_key=API_KEY, max_retries=0)
        with trio.fail_after(5), pytest.raises(StructuredOutputError) as info:
            await generate_structured(
                llm, "Who?", response_model=Person, concurrent=True, attempts=2, max_attempts=3
            )
        assert len(server.requests) == 2  # no feedback to give: no second round
        assert server.active_requests == 0
    assert isinstance(info.value.__cause__, AllAttemptsFailed)
    assert [a.round for a in info.value.attempts] == [0, 0]
    assert all(isinstance(a.error, ProviderError) and a.raw == "" for a in info.value.attempts)
    assert API_KEY not in str(info.value)


async def test_attempts_without_concurrent_is_a_typed_error(rt: Runtime) -> None:
    llm = rt.create_llm("openai-compatible", "m", base_url="http://127.0.0.1:9")
    with pytest.raises(ValidationError, match="concurrent=True"):
        await generate_structured(llm, "Who?", response_model=Person, attempts=2)
