"""POST /v1/messages through the real anthropic SDK (async and sync): whole
answers, `messages.stream`, a tool-use round trip, system prompts, stop
reasons, usage, a virtual model, x-api-key auth, count_tokens, and errors in
Anthropic's shape (the SDK raises its own typed errors from them)."""

from __future__ import annotations

import anthropic
import httpx
import pytest
import trio

from abstractcore_actors import Runtime
from abstractcore_actors.server import GatewayConfig
from abstractcore_actors.testing import FakeToolCall, FakeUsage, Fault, Reply

from .conftest import DEADLINE, KEY, Routes, serving

MESSAGES = [{"role": "user", "content": "hello there"}]


def sdk(port: int) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(
        base_url=f"http://127.0.0.1:{port}", api_key=KEY, max_retries=0, timeout=DEADLINE
    )


async def test_a_whole_message(rt: Runtime, config: GatewayConfig, routes: Routes) -> None:
    routes.steps["gpt-test"] = Reply(
        text="Hi, Ada.", usage=FakeUsage(prompt_tokens=12, completion_tokens=4)
    )
    with trio.fail_after(DEADLINE):
        async with serving(rt, config) as port, sdk(port) as client:
            message = await client.messages.create(
                model="gpt-test", max_tokens=64, system="be kind", messages=MESSAGES
            )
    assert message.content[0].type == "text" and message.content[0].text == "Hi, Ada."
    assert message.stop_reason == "end_turn" and message.role == "assistant"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (12, 4)
    assert message.model == "gpt-test"


async def test_the_upstream_sees_the_system_prompt_and_the_turns(
    rt: Runtime, config: GatewayConfig, upstream: object
) -> None:
    with trio.fail_after(DEADLINE):
        async with serving(rt, config) as port, sdk(port) as client:
            await client.messages.create(
                model="gpt-test",
                max_tokens=10,
                system=[{"type": "text", "text": "be kind"}],
                messages=[
                    {"role": "user", "content": "one"},
                    {"role": "assistant", "content": [{"type": "text", "text": "two"}]},
                    {"role": "user", "content": [{"type": "text", "text": "three"}]},
                ],
                stop_sequences=["END"],
                extra_body={"temperature": 0.5},  # this SDK version no longer takes it by name
            )
    sent = upstream.requests[-1].json  # type: ignore[attr-defined]
    assert [(m["role"], m["content"]) for m in sent["messages"]] == [
        ("system", "be kind"),
        ("user", "one"),
        ("assistant", "two"),
        ("user", "three"),
    ]
    assert sent["stop"] == ["END"] and sent["temperature"] == 0.5 and sent["max_tokens"] == 10


async def test_a_stream_through_messages_stream(
    rt: Runtime, config: GatewayConfig, routes: Routes
) -> None:
    routes.steps["gpt-test"] = Reply(chunks=["one ", "two ", "three"])
    with trio.fail_after(DEADLINE):
        async with (
            serving(rt, config) as port,
            sdk(port) as client,
            client.messages.stream(model="gpt-test", max_tokens=64, messages=MESSAGES) as stream,
        ):
            pieces = [text async for text in stream.text_stream]
            final = await stream.get_final_message()
    assert "".join(pieces) == "one two three"
    assert final.stop_reason == "end_turn" and final.content[0].text == "one two three"  # type: ignore[union-attr]
    assert final.usage.output_tokens == 3


async def test_a_tool_use_round_trip(
    rt: Runtime, config: GatewayConfig, routes: Routes, upstream: object
) -> None:
    routes.steps["gpt-test"] = [
        Reply(tool_calls=[FakeToolCall(id="call_1", name="clock", arguments={"zone": "UTC"})]),
        Reply(text="It is noon."),
    ]
    tools = [
        {
            "name": "clock",
            "description": "The time.",
            "input_schema": {"type": "object", "properties": {"zone": {"type": "string"}}},
        }
    ]
    with trio.fail_after(DEADLINE):
        async with serving(rt, config) as port, sdk(port) as client:
            first = await client.messages.create(
                model="gpt-test",
                max_tokens=64,
                messages=MESSAGES,
                tools=tools,  # type: ignore[arg-type]
            )
            (use,) = [b for b in first.content if b.type == "tool_use"]
            result = {"type": "tool_result", "tool_use_id": use.id, "content": "12:00"}
            second = await client.messages.create(
                model="gpt-test",
                max_tokens=64,
                tools=tools,  # type: ignore[arg-type]
                messages=[
                    *MESSAGES,
                    {"role": "assistant", "content": first.content},  # type: ignore[typeddict-item]
                    {"role": "user", "content": [result]},  # type: ignore[list-item]
                ],
            )
    sent = upstream.requests[-1].json["messages"]  # type: ignore[attr-defined]
    assert sent[-1] == {"role": "tool", "content": "12:00", "tool_call_id": "call_1"}
    assert sent[-2]["tool_calls"][0]["function"]["name"] == "clock"
    assert first.stop_reason == "tool_use"
    assert (use.name, use.input) == ("clock", {"zone": "UTC"})
    assert second.content[0].text == "It is noon."  # type: ignore[union-attr]


async def test_a_tool_use_streams_as_input_json_deltas(
    rt: Runtime, config: GatewayConfig, routes: Routes
) -> None:
    routes.steps["gpt-test"] = Reply(
        tool_calls=[FakeToolCall(id="call_1", name="clock", arguments={"zone": "UTC"})]
    )
    tools = [{"name": "clock", "input_schema": {"type": "object", "properties": {}}}]
    with trio.fail_after(DEADLINE):
        async with (
            serving(rt, config) as port,
            sdk(port) as client,
            client.messages.stream(
                model="gpt-test",
                max_tokens=64,
                messages=MESSAGES,
                tools=tools,  # type: ignore[arg-type]
            ) as stream,
        ):
            final = await stream.get_final_message()
    (use,) = final.content
    assert use.type == "tool_use" and use.input == {"zone": "UTC"}
    assert final.stop_reason == "tool_use"


async def test_a_virtual_model_answers_over_messages(
    rt: Runtime, config: GatewayConfig, routes: Routes
) -> None:
    routes.steps["slow"] = Reply(text="slow " * 20, token_latency=0.1)
    routes.steps["fast"] = Reply(text="quick")
    with trio.fail_after(DEADLINE):
        async with serving(rt, config) as port, sdk(port) as client:
            message = await client.messages.create(
                model="race:slow,fast", max_tokens=64, messages=MESSAGES
            )
    assert message.content[0].text == "quick"  # type: ignore[union-attr]


async def test_errors_come_in_anthropics_shape(
    rt: Runtime, config: GatewayConfig, routes: Routes
) -> None:
    routes.steps["gpt-test"] = Fault.status(429, "slow down")
    with trio.fail_after(DEADLINE):
        async with serving(rt, config) as port:
            async with sdk(port) as client:
                with pytest.raises(anthropic.NotFoundError) as missing:
                    await client.messages.create(model="nope", max_tokens=5, messages=MESSAGES)
                with pytest.raises(anthropic.RateLimitError):
                    await client.messages.create(model="gpt-test", max_tokens=5, messages=MESSAGES)
                with pytest.raises(anthropic.BadRequestError, match="max_tokens"):
                    await client.messages.create(model="fast", max_tokens=0, messages=MESSAGES)
            bad_key = anthropic.AsyncAnthropic(
                base_url=f"http://127.0.0.1:{port}", api_key="wrong", max_retries=0
            )
            async with bad_key:
                with pytest.raises(anthropic.AuthenticationError):
                    await bad_key.messages.create(model="fast", max_tokens=5, messages=MESSAGES)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                raw = await http.post(
                    "/v1/messages",
                    headers={"x-api-key": KEY},
                    json={"model": "fast", "max_tokens": 5, "messages": [{"role": "system"}]},
                )
    assert missing.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]
    assert raw.status_code == 400
    assert raw.json()["type"] == "error"
    assert raw.json()["error"]["type"] == "invalid_request_error"
    assert "messages[0].role" in raw.json()["error"]["message"]


async def test_an_image_in_an_assistant_turn_is_refused_naming_the_block(
    rt: Runtime, config: GatewayConfig
) -> None:
    image = {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": "AA=="},
    }
    with trio.fail_after(DEADLINE):
        async with serving(rt, config) as port, sdk(port) as client:
            with pytest.raises(
                anthropic.BadRequestError, match=r"messages\[1\].content\[0\] is an image"
            ):
                await client.messages.create(
                    model="fast",
                    max_tokens=5,
                    messages=[
                        {"role": "user", "content": "look"},
                        {"role": "assistant", "content": [image]},  # type: ignore[list-item]
                    ],
                )


async def test_count_tokens(rt: Runtime, config: GatewayConfig) -> None:
    with trio.fail_after(DEADLINE):
        async with serving(rt, config) as port, sdk(port) as client:
            counted = await client.messages.count_tokens(model="fast", messages=MESSAGES)
    assert counted.input_tokens > 0


async def test_the_sync_client(rt: Runtime, config: GatewayConfig, routes: Routes) -> None:
    """The sync client, from a worker thread, against the gateway in this trio run."""
    routes.steps["gpt-test"] = Reply(text="sync hello")

    def call(port: int) -> str:
        client = anthropic.Anthropic(
            base_url=f"http://127.0.0.1:{port}", api_key=KEY, max_retries=0, timeout=DEADLINE
        )
        with client:
            message = client.messages.create(model="gpt-test", max_tokens=5, messages=MESSAGES)
            return message.content[0].text  # type: ignore[union-attr]

    with trio.fail_after(DEADLINE):
        async with serving(rt, config) as port:
            text = await trio.to_thread.run_sync(call, port)
    assert text == "sync hello"
