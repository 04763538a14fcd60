"""A model answer nested 100,000 deep is a validation failure the model is told
about, never a RecursionError (which the gateway would answer with a 500)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from abstractcore_actors import LLM
from abstractcore_actors.structured import (
    StructuredOutputError,
    generate_structured,
    stream_structured,
)
from abstractcore_actors.testing import FakeOpenAIServer, Reply

from .conftest import ADA, PERSON_JSON, Person

DEEP = '{"name": ' + "[" * 100_000 + "]" * 100_000 + "}"


@pytest.mark.parametrize("provider", ["openai", "openai-compatible"])
async def test_a_deep_answer_is_a_validation_failure_then_retried(
    make_llm: Callable[..., LLM], openai_server: FakeOpenAIServer, provider: str
) -> None:
    openai_server.push(Reply(text=DEEP), Reply(text=PERSON_JSON))
    result = await generate_structured(
        make_llm(provider), "Who?", response_model=Person, max_attempts=2
    )
    assert result.value == ADA
    first = result.attempts[0]
    assert "nested deeper than 128" in first.problems[0][1]


async def test_a_deep_answer_ends_a_structured_stream_with_its_problem(
    make_llm: Callable[..., LLM], openai_server: FakeOpenAIServer
) -> None:
    openai_server.push(Reply(chunks=[DEEP[i : i + 5000] for i in range(0, len(DEEP), 5000)]))
    async with stream_structured(
        make_llm("openai-compatible"), "Who?", response_model=Person, max_attempts=1
    ) as s:
        with pytest.raises(StructuredOutputError) as info:
            async for _ in s:
                pass
    [attempt] = info.value.attempts
    assert "nested deeper than 128" in attempt.problems[0][1]
