"""generate_structured against the fake servers: native modes, prompted mode, retries."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import trio
import trio.testing

from abstractcore_actors import LLM, ValidationError
from abstractcore_actors.structured import StructuredOutputError, generate_structured
from abstractcore_actors.testing import (
    FakeAnthropicServer,
    FakeOpenAIServer,
    FakeToolCall,
    FakeUsage,
    Reply,
)

from .conftest import ADA, PERSON_JSON, Person


def _body(server: FakeOpenAIServer | FakeAnthropicServer, index: int = -1) -> dict[str, Any]:
    body = server.requests[index].json
    assert isinstance(body, dict)
    return body


async def test_openai_uses_the_native_json_schema_response_format(
    make_llm: Callable[..., LLM], openai_server: FakeOpenAIServer
) -> None:
    openai_server.push(Reply(text=PERSON_JSON))
    result = await generate_structured(make_llm("openai"), "Who?", response_model=Person)
    assert result.value == ADA
    assert result.mode == "json_schema"
    body = _body(openai_server)
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "Person"
    assert fmt["json_schema"]["schema"]["properties"]["mood"]["enum"] == ["happy", "sad"]
    # nickname has a default, so it is not required: OpenAI's strict mode would refuse that
    assert fmt["json_schema"]["strict"] is False
    assert [m["role"] for m in body["messages"]] == ["user"]  # no schema in the prompt


async def test_anthropic_forces_a_single_tool_and_reads_its_arguments(
    make_llm: Callable[..., LLM], anthropic_server: FakeAnthropicServer
) -> None:
    anthropic_server.push(
        Reply(tool_calls=[FakeToolCall(name="Person", arguments=json.loads(PERSON_JSON))])
    )
    result = await generate_structured(make_llm("anthropic"), "Who?", response_model=Person)
    assert result.value == ADA
    assert result.mode == "tool"
    body = _body(anthropic_server)
    assert body["tool_choice"] == {"type": "tool", "name": "Person"}
    [tool] = body["tools"]
    assert tool["name"] == "Person"
    assert tool["input_schema"]["required"] == ["name", "age", "mood", "pets"]


@pytest.mark.parametrize(
    "text",
    [PERSON_JSON, f"```json\n{PERSON_JSON}\n```", f"Here it is:\n```\n{PERSON_JSON}\n```\n"],
)
async def test_an_openai_compatible_server_is_prompted_and_fences_are_stripped(
    make_llm: Callable[..., LLM], openai_server: FakeOpenAIServer, text: str
) -> None:
    openai_server.push(Reply(text=text))
    result = await generate_structured(make_llm("openai-compatible"), "Who?", response_model=Person)
    assert result.value == ADA
    assert result.mode == "prompted"
    body = _body(openai_server)
    assert "response_format" not in body and "tools" not in body
    system = body["messages"][0]
    assert system["role"] == "system"
    assert "JSON object only" in system["content"]
    assert '"enum": ["happy", "sad"]' in system["content"]


async def test_native_mode_can_be_asked_of_a_compatible_server(
    make_llm: Callable[..., LLM], openai_server: FakeOpenAIServer
) -> None:
    openai_server.push(Reply(text=PERSON_JSON))
    await generate_structured(
        make_llm("openai-compatible"), "Who?", response_model=Person, mode="native"
    )
    assert _body(openai_server)["response_format"]["type"] == "json_schema"


async def test_an_invalid_answer_is_retried_with_the_problems_quoted(
    make_llm: Callable[..., LLM], openai_server: FakeOpenAIServer
) -> None:
    bad = PERSON_JSON.replace('"age": 36', '"age": "thirty-six"')
    openai_server.push(
        Reply(text=bad, usage=FakeUsage(prompt_tokens=10, completion_tokens=20)),
        Reply(text=PERSON_JSON, usage=FakeUsage(prompt_tokens=40, completion_tokens=21)),
    )
    result = await generate_structured(make_llm("openai"), "Who?", response_model=Person)
    assert result.value == ADA
    assert [a.ok for a in result.attempts] == [False, True]
    assert result.attempts[0].raw == bad
    assert result.attempts[0].problems[0][0] == "age"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (50, 41)
    second = _body(openai_server, 1)["messages"]
    assert [m["role"] for m in second] == ["user", "assistant", "user"]
    assert second[1]["content"] == bad
    assert "- age: expected integer" in second[2]["content"]
    assert "thirty-six" in second[2]["content"]


async def test_anthropic_retries_too(
    make_llm: Callable[..., LLM], anthropic_server: FakeAnthropicServer
) -> None:
    good = json.loads(PERSON_JSON)
    anthropic_server.push(
        Reply(tool_calls=[FakeToolCall(name="Person", arguments={**good, "mood": "angry"})]),
        Reply(tool_calls=[FakeToolCall(name="Person", arguments=good)]),
    )
    result = await generate_structured(make_llm("anthropic"), "Who?", response_model=Person)
    assert result.value == ADA
    second = _body(anthropic_server, 1)
    assert "mood: must be one of" in json.dumps(second["messages"][-1])


async def test_a_model_that_never_fits_fails_after_max_attempts_with_every_attempt(
    make_llm: Callable[..., LLM],
    openai_server: FakeOpenAIServer,
    autojump_clock: trio.testing.MockClock,
) -> None:
    for _ in range(5):
        openai_server.push(Reply(text="I am not JSON"))
    with trio.fail_after(5), pytest.raises(StructuredOutputError, match="after 2 attempt") as info:
        await generate_structured(
            make_llm("openai-compatible"), "Who?", response_model=Person, max_attempts=2
        )
    assert len(openai_server.requests) == 2
    error = info.value
    assert [a.raw for a in error.attempts] == ["I am not JSON"] * 2
    assert "not valid JSON" in error.attempts[0].problems[0][1]
    assert "max_attempts" in str(error)
    assert error.usage.completion_tokens > 0


async def test_bad_arguments_fail_before_any_call(
    make_llm: Callable[..., LLM], openai_server: FakeOpenAIServer
) -> None:
    llm = make_llm("openai")
    with pytest.raises(ValidationError, match="response model"):
        await generate_structured(llm, "Hi", response_model=complex)
    with pytest.raises(ValidationError, match="max_attempts"):
        await generate_structured(llm, "Hi", response_model=Person, max_attempts=0)
    with pytest.raises(ValidationError, match="tools"):
        await generate_structured(llm, "Hi", response_model=Person, tools=[{"name": "x"}])
    assert openai_server.requests == []


async def test_an_answer_cut_off_at_max_tokens_says_so(
    make_llm: Callable[..., LLM], openai_server: FakeOpenAIServer
) -> None:
    openai_server.push(Reply(text=PERSON_JSON[:30], finish_reason="length"))
    with pytest.raises(StructuredOutputError, match="raise max_tokens"):
        await generate_structured(
            make_llm("openai"), "Who?", response_model=Person, max_attempts=1, max_tokens=5
        )


async def test_a_pydantic_model_end_to_end(
    make_llm: Callable[..., LLM], openai_server: FakeOpenAIServer
) -> None:
    pydantic = pytest.importorskip("pydantic")

    class Pet(pydantic.BaseModel):
        name: str
        kind: str

    class Owner(pydantic.BaseModel):
        name: str
        pets: list[Pet]

    openai_server.push(
        Reply(text='{"name": "Ada", "pets": [{"name": "Tom"}]}'),
        Reply(text='{"name": "Ada", "pets": [{"name": "Tom", "kind": "cat"}]}'),
    )
    result = await generate_structured(make_llm("openai"), "Who?", response_model=Owner)
    assert result.value == Owner(name="Ada", pets=[Pet(name="Tom", kind="cat")])
    assert result.attempts[0].problems == (("pets[0].kind", "missing (it is required)"),)
    schema = _body(openai_server, 0)["response_format"]["json_schema"]["schema"]
    assert "$defs" in schema
