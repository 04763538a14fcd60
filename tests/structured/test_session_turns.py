"""Sessions with `response_model` per turn: validated answers, retries inside the
turn that leave no trace in the history, tools first, and clear errors."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from abstractcore_actors import LLM, Runtime, ValidationError
from abstractcore_actors.structured import StructuredOutputError
from abstractcore_actors.testing import (
    FakeAnthropicServer,
    FakeOpenAIServer,
    FakeToolCall,
    FakeUsage,
    Reply,
)
from abstractcore_actors.tools import tool

from .conftest import ADA, PERSON_JSON, Person


async def test_a_turn_returns_the_validated_value_and_keeps_the_json_in_history(
    rt: Runtime, make_llm: Callable[..., LLM], openai_server: FakeOpenAIServer
) -> None:
    openai_server.push(
        Reply(
            text='{"name": "Ada", "age": "old"}',
            usage=FakeUsage(prompt_tokens=5, completion_tokens=4),
        ),
        Reply(text=PERSON_JSON, usage=FakeUsage(prompt_tokens=9, completion_tokens=20)),
        Reply(text="You asked for Ada."),
    )
    chat = rt.session(make_llm("openai"))
    result = await chat.generate("Invent a person", response_model=Person)
    assert result.value == ADA
    assert [a.ok for a in result.attempts] == [False, True]
    assert result.usage.completion_tokens == 24
    # the failed answer and its feedback were sent, but never entered the history
    retry = openai_server.requests[1].json
    assert isinstance(retry, dict)
    assert "age: expected integer" in retry["messages"][-1]["content"]
    assert retry["response_format"]["type"] == "json_schema"
    assert [(m.role, m.content) for m in chat.history] == [
        ("user", "Invent a person"),
        ("assistant", PERSON_JSON),
    ]
    # the next, plain turn reads a clean conversation
    plain = await chat.generate("Who was that?")
    assert plain.content == "You asked for Ada."
    follow = openai_server.requests[2].json
    assert isinstance(follow, dict) and "response_format" not in follow
    assert [m["content"] for m in follow["messages"]] == [
        "Invent a person",
        PERSON_JSON,
        "Who was that?",
    ]
    await chat.close()


async def test_tools_run_first_then_the_final_answer_is_structured(
    rt: Runtime, make_llm: Callable[..., LLM], openai_server: FakeOpenAIServer
) -> None:
    @tool
    def lookup(name: str) -> str:
        """Facts about a person."""
        return f"{name} is 36 and happy, with a cat called Tom"

    openai_server.push(
        Reply(tool_calls=[FakeToolCall(name="lookup", arguments={"name": "Ada"})]),
        Reply(text="```json\n" + PERSON_JSON + "\n```"),
    )
    chat = rt.session(make_llm("openai-compatible"), tools=[lookup])
    result = await chat.generate("Describe Ada", response_model=Person)
    assert result.value == ADA and result.mode == "prompted"
    roles = [m.role for m in chat.history]
    assert roles == ["user", "assistant", "tool", "assistant"]
    assert chat.history[-1].content == PERSON_JSON  # the fences are gone
    first = openai_server.requests[0].json
    assert isinstance(first, dict) and first["tools"][0]["function"]["name"] == "lookup"
    assert '"pets"' in first["messages"][0]["content"]  # the schema, in the system prompt
    await chat.close()


async def test_anthropic_answers_through_its_forced_tool(
    rt: Runtime, make_llm: Callable[..., LLM], anthropic_server: FakeAnthropicServer
) -> None:
    anthropic_server.push(
        Reply(tool_calls=[FakeToolCall(name="Person", arguments=json.loads(PERSON_JSON))])
    )
    chat = rt.session(make_llm("anthropic"))
    async with chat.stream("Who?", response_model=Person) as turn:
        async for _ in turn:
            pass
    assert turn.structured().value == ADA
    assert turn.response().finish_reason == "stop"
    assert json.loads(chat.history[-1].content) == json.loads(PERSON_JSON)
    assert not chat.history[-1].tool_calls  # a plain answer: no dangling tool call
    await chat.close()


async def test_no_fitting_answer_rolls_the_turn_back(
    rt: Runtime, make_llm: Callable[..., LLM], openai_server: FakeOpenAIServer
) -> None:
    openai_server.push(Reply(text='{"name": 1}'), Reply(text='{"name": 2}'))
    chat = rt.session(make_llm("openai"))
    with pytest.raises(StructuredOutputError) as info:
        await chat.generate("Who?", response_model=Person, max_attempts=2)
    assert [a.raw for a in info.value.attempts] == ['{"name": 1}', '{"name": 2}']
    assert chat.history == ()
    assert len(openai_server.requests) == 2
    await chat.close()


async def test_bad_combinations_are_typed_errors(
    rt: Runtime, make_llm: Callable[..., LLM], anthropic_server: FakeAnthropicServer
) -> None:
    @tool
    def lookup(name: str) -> str:
        """Facts about a person."""
        return name

    chat = rt.session(make_llm("anthropic"), tools=[lookup])
    with pytest.raises(ValidationError, match="mode='prompted'"):
        await chat.generate("Who?", response_model=Person)
    with pytest.raises(ValidationError, match="response model"):
        await chat.generate("Who?", response_model=complex)
    with pytest.raises(ValidationError, match="max_attempts"):
        await chat.generate("Who?", response_model=Person, max_attempts=0)
    plain = await chat.generate("Hi")  # not structured: structured() says so
    assert plain.content
    async with chat.stream("Hi") as turn:
        async for _ in turn:
            pass
    with pytest.raises(ValidationError, match="no structured result"):
        turn.structured()
    assert anthropic_server.requests and chat.turns == 2
    await chat.close()
