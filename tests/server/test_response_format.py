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


def _format(schema: object) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": "A", "schema": schema}}


OBJ: dict[str, Any] = {"type": "object"}


@pytest.mark.parametrize(
    ("schema", "where"),
    [
        ({**OBJ, "required": 5}, "schema.required must be a list"),
        ({**OBJ, "required": "name"}, "schema.required must be a list"),
        ({**OBJ, "enum": 5}, "schema.enum must be a non-empty list"),
        ({**OBJ, "anyOf": 5}, "schema.anyOf must be a non-empty list"),
        ({**OBJ, "oneOf": [5]}, "schema.oneOf[0] must be a schema object"),
        ({"type": ["object", 3]}, "schema.type[1] must be a type name"),
        ({"type": "objekt"}, "schema.type names an unknown type 'objekt'"),
        ({**OBJ, "properties": []}, "schema.properties must be an object"),
        ({**OBJ, "properties": {"a": 5}}, "schema.properties.a must be a schema object"),
        (
            {**OBJ, "properties": {"a": True}},
            "schema.properties.a must be a schema object: true/false",
        ),
        ({**OBJ, "properties": {"a": {"items": [OBJ]}}}, "schema.properties.a.items must be one"),
        ({**OBJ, "additionalProperties": 5}, "schema.additionalProperties must be a schema"),
        (
            {**OBJ, "properties": {"a": {"$ref": "#/$defs/B"}}},
            "schema.properties.a.$ref '#/$defs/B' does",
        ),
        ({**OBJ, "properties": {"a": {"$ref": 5}}}, "schema.properties.a.$ref must be a local"),
        (
            {**OBJ, "$defs": {"B": {"$ref": "#/$defs/B"}}, "properties": {}},
            "schema.$defs.B.$ref '#/$defs/B' only leads to more $refs",
        ),
        ({**OBJ, "description": 5}, "schema.description must be a string"),
    ],
)
async def test_a_malformed_schema_is_a_400_before_any_upstream_call(
    http: httpx.AsyncClient, upstream: FakeOpenAIServer, schema: object, where: str
) -> None:
    for model in ("gpt-test", "native", "race:fast,slow"):
        for stream in (False, True):
            body = chat(model, response_format=_format(schema), stream=stream)
            with trio.fail_after(DEADLINE):
                response = await http.post("/v1/chat/completions", json=body)
            error = assert_openai_error(response, 400)
            assert error["param"] == "response_format.json_schema.schema"
            assert f"response_format.json_schema.{where}" in str(error["message"])
    assert upstream.requests == []


UNCHECKED = {  # a lookahead: RE2, which never backtracks, cannot run it
    **CITY,
    "properties": {**CITY["properties"], "name": {"type": "string", "pattern": "^(?=P)"}},
}


async def test_keywords_the_validator_cannot_check_are_refused_where_it_would_check(
    http: httpx.AsyncClient, upstream: FakeOpenAIServer, routes: Routes
) -> None:
    next_to_any_of = {**OBJ, "properties": {"a": {"anyOf": [{"type": "string"}], "enum": ["x"]}}}
    cases = ((UNCHECKED, "properties.name.pattern"), (next_to_any_of, "properties.a.enum"))
    for schema, where in cases:
        for model in ("gpt-test", "claude", "race:fast,slow"):
            with trio.fail_after(DEADLINE):
                body = chat(model, response_format=_format(schema))
                response = await http.post("/v1/chat/completions", json=body)
            error = assert_openai_error(response, 400)
            assert error["param"] == "response_format.json_schema.schema"
            assert f"schema.{where}" in str(error["message"])
    assert upstream.requests == []
    # an openai upstream checks its own schema: forwarded as it came
    routes.steps["native"] = Reply(text=PARIS)
    with trio.fail_after(DEADLINE):
        body = chat("native", response_format=_format(UNCHECKED))
        response = await http.post("/v1/chat/completions", json=body)
    assert response.status_code == 200, response.text
    [sent] = _bodies(upstream)
    assert sent["response_format"]["json_schema"]["schema"] == UNCHECKED


async def test_annotations_and_refs_a_validator_reads_are_accepted(
    http: httpx.AsyncClient, routes: Routes
) -> None:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "title": "Trip",
        "properties": {
            "city": {"$ref": "#/$defs/City", "description": "where"},
            "when": {"type": "string", "format": "date"},
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
        },
        "required": ["city", "when", "note"],
        "additionalProperties": False,
        "$defs": {"City": CITY},
    }
    routes.steps["gpt-test"] = Reply(
        text=json.dumps({"city": json.loads(PARIS), "when": "x", "note": None})
    )
    with trio.fail_after(DEADLINE):
        response = await http.post(
            "/v1/chat/completions", json=chat(response_format=_format(schema))
        )
    assert response.status_code == 200, response.text
    assert (
        json.loads(response.json()["choices"][0]["message"]["content"])["city"]["name"] == "Paris"
    )


class Order(pydantic.BaseModel):
    quantity: int = pydantic.Field(ge=1, le=10)
    code: str = pydantic.Field(max_length=5)


async def test_a_pattern_is_checked_and_retried_on_the_validated_path(
    http: httpx.AsyncClient, upstream: FakeOpenAIServer, routes: Routes
) -> None:
    schema = {
        **CITY,
        "properties": {**CITY["properties"], "name": {"type": "string", "pattern": "^P"}},
    }
    routes.steps["gpt-test"] = [Reply(text='{"name": "Lyon", "population": 1}'), Reply(text=PARIS)]
    with trio.fail_after(DEADLINE):
        body = chat("gpt-test", response_format=_format(schema))
        response = await http.post("/v1/chat/completions", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == PARIS
    _, second = _bodies(upstream)
    assert "name: must match the pattern '^P', got 'Lyon'" in second["messages"][-1]["content"]


async def test_pydantic_field_bounds_are_checked_and_retried_on_the_validated_path(
    client: openai.AsyncOpenAI, upstream: FakeOpenAIServer, routes: Routes
) -> None:
    routes.steps["gpt-test"] = [
        Reply(text='{"quantity": 50, "code": "AB"}'),  # over le=10: asked again
        Reply(text='{"quantity": 5, "code": "AB"}'),
    ]
    with trio.fail_after(DEADLINE):
        reply = await client.chat.completions.parse(
            model="gpt-test",
            messages=[{"role": "user", "content": "An order"}],
            response_format=Order,
        )
    assert reply.choices[0].message.parsed == Order(quantity=5, code="AB")
    _, second = _bodies(upstream)
    assert "quantity: must be <= 10" in second["messages"][-1]["content"]
