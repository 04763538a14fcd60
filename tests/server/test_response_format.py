"""response_format on /v1/chat/completions, through the real openai SDK: forwarded
to an openai upstream, forced tool use on Anthropic, prompted and validated on an
openai-compatible upstream (with retries), streamed, and refused when bad."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import attrs
import httpx
import openai
import pydantic
import pytest
import trio

from abstractcore_actors.server import GatewayConfig, ModelRoute
from abstractcore_actors.testing import (
    FakeAnthropicServer,
    FakeOpenAIServer,
    FakeToolCall,
    FakeUsage,
    Reply,
    open_fake_anthropic_server,
)

from .conftest import DEADLINE, UPSTREAM_KEY, Routes, assert_openai_error, chat, gateway_config

CITY = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "population": {"type": "integer"}},
    "required": ["name", "population"],
    "additionalProperties": False,
}
FORMAT: Any = {
    "type": "json_schema",
    "json_schema": {"name": "City", "schema": CITY, "strict": True},
}
PARIS = '{"name": "Paris", "population": 2100000}'


class City(pydantic.BaseModel):
    name: str
    population: int


@pytest.fixture
async def claude() -> AsyncIterator[FakeAnthropicServer]:
    async with open_fake_anthropic_server(api_key=UPSTREAM_KEY) as fake:
        yield fake


@pytest.fixture
def config(upstream: FakeOpenAIServer, claude: FakeAnthropicServer) -> GatewayConfig:
    base = gateway_config(upstream)
    options = {"api_key": UPSTREAM_KEY, "max_retries": 0}
    models = {
        **base.models,
        "native": ModelRoute(
            provider="openai", model="native", options={**options, "base_url": upstream.base_url}
        ),
        "claude": ModelRoute(
            provider="anthropic",
            model="claude-test",
            options={**options, "base_url": claude.base_url},
        ),
    }
    return attrs.evolve(base, models=models)


def _bodies(upstream: FakeOpenAIServer) -> list[dict[str, Any]]:
    return [r.json for r in upstream.requests if isinstance(r.json, dict)]


async def test_an_openai_upstream_gets_the_response_format_as_it_came(
    client: openai.AsyncOpenAI, upstream: FakeOpenAIServer, routes: Routes
) -> None:
    routes.steps["native"] = Reply(text=PARIS)
    with trio.fail_after(DEADLINE):
        reply = await client.chat.completions.create(
            model="native", messages=[{"role": "user", "content": "A city"}], response_format=FORMAT
        )
    assert json.loads(reply.choices[0].message.content or "") == json.loads(PARIS)
    [body] = _bodies(upstream)
    assert body["response_format"] == FORMAT
    assert all(m["role"] != "system" for m in body["messages"])  # not prompted


async def test_a_compatible_upstream_is_prompted_validated_and_retried(
    client: openai.AsyncOpenAI, upstream: FakeOpenAIServer, routes: Routes
) -> None:
    routes.steps["gpt-test"] = [
        Reply(
            text='{"name": "Paris", "population": "lots"}',
            usage=FakeUsage(prompt_tokens=10, completion_tokens=5),
        ),
        Reply(
            text="```json\n" + PARIS + "\n```",
            usage=FakeUsage(prompt_tokens=30, completion_tokens=8),
        ),
    ]
    with trio.fail_after(DEADLINE):
        reply = await client.chat.completions.create(
            model="gpt-test",
            messages=[{"role": "user", "content": "A city"}],
            response_format=FORMAT,
        )
    assert reply.choices[0].message.content == PARIS  # the fences are gone
    assert reply.usage is not None
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (40, 13)
    first, second = _bodies(upstream)
    assert "response_format" not in first
    assert (
        first["messages"][0]["role"] == "system"
        and '"population"' in first["messages"][0]["content"]
    )
    assert "population: expected integer" in second["messages"][-1]["content"]


async def test_the_sdk_parse_helper_gets_a_pydantic_object(
    client: openai.AsyncOpenAI, routes: Routes
) -> None:
    routes.steps["gpt-test"] = Reply(text=PARIS)
    with trio.fail_after(DEADLINE):
        reply = await client.chat.completions.parse(
            model="gpt-test", messages=[{"role": "user", "content": "A city"}], response_format=City
        )
    assert reply.choices[0].message.parsed == City(name="Paris", population=2100000)


async def test_anthropic_answers_by_a_forced_tool_call(
    client: openai.AsyncOpenAI, claude: FakeAnthropicServer
) -> None:
    claude.push(Reply(tool_calls=[FakeToolCall(name="City", arguments=json.loads(PARIS))]))
    with trio.fail_after(DEADLINE):
        reply = await client.chat.completions.create(
            model="claude", messages=[{"role": "user", "content": "A city"}], response_format=FORMAT
        )
    message = reply.choices[0].message
    assert json.loads(message.content or "") == json.loads(PARIS) and not message.tool_calls
    body = claude.requests[0].json
    assert isinstance(body, dict)
    assert body["tool_choice"] == {"type": "tool", "name": "City"}


async def test_json_object_asks_for_any_object(
    client: openai.AsyncOpenAI, upstream: FakeOpenAIServer, routes: Routes
) -> None:
    routes.steps["gpt-test"] = [Reply(text="not json"), Reply(text='{"ok": true}')]
    with trio.fail_after(DEADLINE):
        reply = await client.chat.completions.create(
            model="gpt-test",
            messages=[{"role": "user", "content": "JSON please"}],
            response_format={"type": "json_object"},
        )
    assert reply.choices[0].message.content == '{"ok": true}'
    assert len(upstream.requests) == 2


async def test_a_stream_sends_the_validated_answer_only(
    client: openai.AsyncOpenAI, upstream: FakeOpenAIServer, routes: Routes
) -> None:
    bad = '{"population": "lots", "name": "Paris and a long tail of words"}'
    routes.steps["gpt-test"] = [
        Reply(chunks=[bad[i : i + 3] for i in range(0, len(bad), 3)]),
        Reply(text=PARIS),
    ]
    with trio.fail_after(DEADLINE):
        stream = await client.chat.completions.create(
            model="gpt-test",
            messages=[{"role": "user", "content": "A city"}],
            response_format=FORMAT,
            stream=True,
        )
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == PARIS  # the stopped attempt never reached the client
    assert len(upstream.requests) == 2


async def test_a_model_that_never_fits_is_a_502_not_a_loop(
    http: httpx.AsyncClient, upstream: FakeOpenAIServer, routes: Routes
) -> None:
    routes.steps["gpt-test"] = Reply(text='{"name": 3}')
    for stream in (False, True):
        with trio.fail_after(DEADLINE):
            response = await http.post(
                "/v1/chat/completions", json=chat(response_format=FORMAT, stream=stream)
            )
        error = assert_openai_error(response, 502)
        assert error["code"] == "response_format_not_met"
        assert "name: expected string" in str(error["message"])
    assert len(upstream.requests) == 6  # 3 attempts each, then it stops


@pytest.mark.parametrize(
    ("response_format", "param"),
    [
        ("json", "response_format"),
        ({"type": "xml"}, "response_format.type"),
        ({"type": "json_schema"}, "response_format.json_schema"),
        (
            {"type": "json_schema", "json_schema": {"name": "a b"}},
            "response_format.json_schema.name",
        ),
        (
            {"type": "json_schema", "json_schema": {"name": "A", "schema": {"type": "string"}}},
            "response_format.json_schema.schema",
        ),
        (
            {"type": "json_schema", "json_schema": {"name": "A", "strict": "yes"}},
            "response_format.json_schema.strict",
        ),
    ],
)
async def test_a_bad_response_format_is_a_400_naming_the_field(
    http: httpx.AsyncClient, upstream: FakeOpenAIServer, response_format: object, param: str
) -> None:
    with trio.fail_after(DEADLINE):
        response = await http.post(
            "/v1/chat/completions", json=chat(response_format=response_format)
        )
    assert assert_openai_error(response, 400)["param"] == param
    assert upstream.requests == []


async def test_ensembles_and_tools_on_the_validated_path_are_refused(
    http: httpx.AsyncClient, upstream: FakeOpenAIServer
) -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    for body in (
        chat("ensemble:gpt-test,fast", response_format=FORMAT),
        chat(response_format=FORMAT, tools=[tool]),
    ):
        with trio.fail_after(DEADLINE):
            response = await http.post("/v1/chat/completions", json=body)
        error = assert_openai_error(response, 400)
        assert error["param"] == "response_format"
    assert upstream.requests == []


async def test_a_race_takes_the_first_valid_answer(
    client: openai.AsyncOpenAI, routes: Routes
) -> None:
    routes.steps["fast"] = Reply(text='{"name": 1, "population": 2}')
    routes.steps["slow"] = Reply(text=PARIS, ttft=0.2)
    with trio.fail_after(DEADLINE):
        reply = await client.chat.completions.create(
            model="race:fast,slow",
            messages=[{"role": "user", "content": "A city"}],
            response_format=FORMAT,
        )
    assert reply.choices[0].message.content == PARIS
