"""POST /v1/responses through the real openai SDK: a plain answer, a streamed
one (typed events to response.completed), a function-call round trip, a
virtual model, instructions, and the refusals (previous_response_id, file images)."""

from __future__ import annotations

import openai
import pytest
import trio

from abstractcore_actors import Runtime
from abstractcore_actors.server import GatewayConfig
from abstractcore_actors.testing import FakeOpenAIServer, FakeToolCall, FakeUsage, Reply

from .conftest import DEADLINE, Routes, sdk_client, serving

TOOLS = [
    {
        "type": "function",
        "name": "clock",
        "description": "The time.",
        "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}},
    }
]


async def test_a_plain_answer(rt: Runtime, config: GatewayConfig, routes: Routes) -> None:
    routes.steps["gpt-test"] = Reply(
        text="Hello, Ada.", usage=FakeUsage(prompt_tokens=9, completion_tokens=3)
    )
    with trio.fail_after(DEADLINE):
        async with serving(rt, config) as port, sdk_client(port) as client:
            response = await client.responses.create(model="gpt-test", input="hi")
    assert response.output_text == "Hello, Ada."
    assert response.status == "completed" and response.model == "gpt-test"
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == (9, 3)


async def test_instructions_and_items_reach_the_upstream(
    rt: Runtime, config: GatewayConfig, upstream: FakeOpenAIServer
) -> None:
    with trio.fail_after(DEADLINE):
        async with serving(rt, config) as port, sdk_client(port) as client:
            await client.responses.create(
                model="gpt-test",
                instructions="be brief",
                input=[
                    {"role": "user", "content": "one"},
                    {"role": "assistant", "content": [{"type": "output_text", "text": "two"}]},
                    {"role": "user", "content": [{"type": "input_text", "text": "three"}]},
                ],
                max_output_tokens=20,
            )
    sent = upstream.requests[-1].json
    assert isinstance(sent, dict)
    assert [(m["role"], m["content"]) for m in sent["messages"]] == [
        ("system", "be brief"),
        ("user", "one"),
        ("assistant", "two"),
        ("user", "three"),
    ]
    assert sent["max_tokens"] == 20


async def test_a_streamed_answer(rt: Runtime, config: GatewayConfig, routes: Routes) -> None:
    routes.steps["gpt-test"] = Reply(chunks=["one ", "two ", "three"])
    kinds: list[str] = []
    deltas: list[str] = []
    with trio.fail_after(DEADLINE):
        async with serving(rt, config) as port, sdk_client(port) as client:
            stream = await client.responses.create(model="gpt-test", input="hi", stream=True)
            async for event in stream:
                kinds.append(event.type)
                if event.type == "response.output_text.delta":
                    deltas.append(event.delta)
                if event.type == "response.completed":
                    final = event.response
    assert "".join(deltas) == "one two three"
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    assert final.output_text == "one two three"


async def test_a_function_call_round_trip(
    rt: Runtime, config: GatewayConfig, routes: Routes, upstream: FakeOpenAIServer
) -> None:
    routes.steps["gpt-test"] = [
        Reply(tool_calls=[FakeToolCall(id="call_1", name="clock", arguments={"zone": "UTC"})]),
        Reply(text="It is noon."),
    ]
    with trio.fail_after(DEADLINE):
        async with serving(rt, config) as port, sdk_client(port) as client:
            first = await client.responses.create(model="gpt-test", input="time?", tools=TOOLS)  # type: ignore[arg-type]
            (call,) = [item for item in first.output if item.type == "function_call"]
            second = await client.responses.create(
                model="gpt-test",
                tools=TOOLS,  # type: ignore[arg-type]
                input=[
                    {"role": "user", "content": "time?"},
                    {
                        "type": "function_call",
                        "call_id": call.call_id,
                        "name": call.name,
                        "arguments": call.arguments,
                    },
                    {"type": "function_call_output", "call_id": call.call_id, "output": "12:00"},
                ],
            )
    assert (call.name, call.call_id, call.arguments) == ("clock", "call_1", '{"zone": "UTC"}')
    assert second.output_text == "It is noon."
    sent = upstream.requests[-1].json
    assert isinstance(sent, dict)
    assert sent["messages"][-1] == {"role": "tool", "content": "12:00", "tool_call_id": "call_1"}
    assert sent["messages"][-2]["tool_calls"][0]["id"] == "call_1"


async def test_a_streamed_function_call(rt: Runtime, config: GatewayConfig, routes: Routes) -> None:
    routes.steps["gpt-test"] = Reply(
        tool_calls=[FakeToolCall(id="call_1", name="clock", arguments={"zone": "UTC"})]
    )
    with trio.fail_after(DEADLINE):
        async with serving(rt, config) as port, sdk_client(port) as client:
            stream = await client.responses.create(
                model="gpt-test",
                input="time?",
                tools=TOOLS,
                stream=True,  # type: ignore[arg-type]
            )
            arguments = ""
            async for event in stream:
                if event.type == "response.function_call_arguments.delta":
                    arguments += event.delta
                if event.type == "response.completed":
                    final = event.response
    (item,) = final.output
    assert item.type == "function_call" and item.name == "clock"
    assert arguments == item.arguments == '{"zone": "UTC"}'


async def test_a_virtual_model_answers_over_responses(
    rt: Runtime, config: GatewayConfig, routes: Routes
) -> None:
    routes.steps["slow"] = Reply(text="slow " * 20, token_latency=0.1)
    routes.steps["fast"] = Reply(text="quick")
    with trio.fail_after(DEADLINE):
        async with serving(rt, config) as port, sdk_client(port) as client:
            response = await client.responses.create(model="race:slow,fast", input="hi")
    assert response.output_text == "quick"


async def test_what_the_gateway_cannot_do_is_a_400_saying_why(
    rt: Runtime, config: GatewayConfig
) -> None:
    image = {"type": "input_image", "file_id": "file_1"}
    with trio.fail_after(DEADLINE):
        async with serving(rt, config) as port, sdk_client(port) as client:
            with pytest.raises(openai.BadRequestError, match="keeps no conversation state"):
                await client.responses.create(
                    model="gpt-test", input="hi", previous_response_id="resp_1"
                )
            with pytest.raises(openai.BadRequestError, match="file_id images are not served"):
                await client.responses.create(
                    model="gpt-test",
                    input=[{"role": "user", "content": [image]}],  # type: ignore[list-item]
                )
            with pytest.raises(openai.NotFoundError):
                await client.responses.create(model="nope", input="hi")
