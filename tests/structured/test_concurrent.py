"""concurrent=True: attempts race, validation is the race's `accept`."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import trio
import trio.testing

from abstractcore_actors import Runtime
from abstractcore_actors.structured import StructuredOutputError, generate_structured
from abstractcore_actors.testing import RecordedRequest, Reply, open_fake_openai_server

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


async def test_every_attempt_invalid_is_a_structured_output_error(
    rt: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_fake_openai_server(default=Reply(text="nope")) as server:
        llm = rt.create_llm("openai-compatible", "m", base_url=server.base_url, max_retries=0)
        with trio.fail_after(5), pytest.raises(StructuredOutputError, match="3 attempt") as info:
            await generate_structured(llm, "Who?", response_model=Person, concurrent=True)
        assert len(server.requests) == 3
    assert [a.raw for a in info.value.attempts] == ["nope"] * 3
    assert all(a.problems for a in info.value.attempts)
