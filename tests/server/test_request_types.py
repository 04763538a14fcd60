"""A chat request field of the wrong JSON type (or out of range) is a 400 naming
the field and what it should be: never a 500, and no upstream call spent."""

from __future__ import annotations

import json
from typing import Any

import httpx
import trio

from abstractcore_actors.testing import FakeOpenAIServer

from .conftest import DEADLINE, assert_openai_error, chat


def said(role: object = "user", **fields: object) -> dict[str, Any]:
    """A body whose one message is {"role": role, "content": "x", **fields}."""
    return {"model": "gpt-test", "messages": [{"role": role, "content": "x", **fields}]}


def tool(**function: object) -> dict[str, Any]:
    return {"type": "function", "function": {"name": "f", **function}}


CALL = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}

# (body, the param the 400 names, words its message must hold)
CASES: list[tuple[object, str | None, str]] = [
    ("just text", None, "JSON object"),
    (None, None, "JSON object"),
    (7, None, "JSON object"),
    ({"model": ["gpt-test"], "messages": [{"role": "user"}]}, "model", "model name"),
    (said(role=["user"]), "messages[0].role", "one of system"),
    (said(role={"a": 1}), "messages[0].role", "got object"),
    (said(role=5), "messages[0].role", "got integer"),
    (said(role=True), "messages[0].role", "got boolean"),
    ({"model": "gpt-test", "messages": [{"content": "x"}]}, "messages[0].role", "got null"),
    (said(name=5), "messages[0].name", "a string"),
    (said(content=[["x"]]), "messages[0].content[0]", "an object"),
    (said(content=[{"type": ["text"], "text": "x"}]), "messages[0].content[0].type", "type"),
    (said(content=[{"type": "image_url"}]), "messages[0].content[0].image_url", "image_url"),
    (said(content=[{"type": "audio"}]), "messages[0].content[0].type", "only text"),
    (said(content=[{"type": "text", "text": {"a": 1}}]), "messages[0].content[0].text", "string"),
    (said(content={"type": "text"}), "messages[0].content", "list of content parts"),
    (said("tool", tool_call_id=[1]), "messages[0].tool_call_id", "a string"),
    (said("assistant", tool_calls="c1"), "messages[0].tool_calls", "a list"),
    (said("assistant", tool_calls=[{**CALL, "id": 1}]), "messages[0].tool_calls[0].id", "string"),
    (
        said("assistant", tool_calls=[{**CALL, "type": []}]),
        "messages[0].tool_calls[0].type",
        "function",
    ),
    (
        said("assistant", tool_calls=[{**CALL, "function": []}]),
        "messages[0].tool_calls[0].function",
        "an object",
    ),
    (
        said("assistant", tool_calls=[{**CALL, "function": {"name": "f", "arguments": {}}}]),
        "messages[0].tool_calls[0].function.arguments",
        "a string",
    ),
    (chat(tools="f"), "tools", "a list"),
    (chat(tools=["f"]), "tools[0]", "an object"),
    (chat(tools=[{"type": ["function"], "function": {"name": "f"}}]), "tools[0].type", "function"),
    (chat(tools=[{"function": "f"}]), "tools[0].function", "an object"),
    (chat(tools=[tool(name="a b")]), "tools[0].function.name", "letters, digits"),
    (chat(tools=[tool(name=["f"])]), "tools[0].function.name", "got array"),
    (chat(tools=[tool(), tool()]), "tools[1].function.name", "two tools"),
    (chat(tools=[tool(description=5)]), "tools[0].function.description", "a string"),
    (chat(tools=[tool(parameters=[])]), "tools[0].function.parameters", "JSON schema"),
    (
        chat(tools=[tool(parameters={"type": "array"})]),
        "tools[0].function.parameters.type",
        "object",
    ),
    (
        chat(tools=[tool(parameters={"type": "object", "properties": 5})]),
        "tools[0].function.parameters.properties",
        "an object",
    ),
    (chat(tool_choice=["auto"]), "tool_choice", "'auto'"),
    (chat(tool_choice={"function": {"name": ["f"]}}), "tool_choice", "function"),
    (chat(tool_choice={"type": "x", "function": {"name": "f"}}, tools=[tool()]), "tool_choice", ""),
    (
        chat(tool_choice={"type": "function", "function": {"name": "g"}}),
        "tool_choice",
        "not among the tools",
    ),
    (chat(temperature=True), "temperature", "a number"),
    (chat(temperature=[1]), "temperature", "a number"),
    (chat(temperature=10**400), "temperature", "from 0 to 2 (got int 1000"),
    (chat(temperature=-0.5), "temperature", "from 0 to 2"),
    (chat(top_p=1.5), "top_p", "in (0, 1]"),
    (chat(max_tokens=2**70), "max_tokens", "an integer from 1"),
    (chat(max_tokens=-1), "max_tokens", "an integer"),
    (chat(max_completion_tokens="9"), "max_completion_tokens", "got '9'"),
    (chat(seed=2**70), "seed", "64-bit"),
    (chat(seed=True), "seed", "integer"),
    (chat(seed=1.5), "seed", "integer"),
    (chat(stop=5), "stop", "a string or a list"),
    (chat(stop=["a"] * 5), "stop", "up to 4"),
    (chat(stop=[["a"]]), "stop", "strings"),
    (chat(stop={"a": 1}), "stop", "got object"),
    (chat(n=True), "n", "an integer"),
    (chat(n="1"), "n", "an integer"),
    (chat(n=[1]), "n", "an integer"),
    (chat(n=3), "n", "n=1"),
    (chat(stream=1), "stream", "a boolean"),
    (chat(stream=True, stream_options=[]), "stream_options", "an object"),
    (
        chat(stream=True, stream_options={"include_usage": "yes"}),
        "stream_options.include_usage",
        "boolean",
    ),
    (chat(response_format=["json_object"]), "response_format", "an object"),
    (chat(response_format={"type": ["json_object"]}), "response_format.type", "json_schema"),
    (
        chat(
            response_format={"type": "json_schema", "json_schema": {"name": "A", "description": 5}}
        ),
        "response_format.json_schema.description",
        "a string",
    ),
]


async def test_every_wrong_type_is_a_400_naming_the_field(
    http: httpx.AsyncClient, upstream: FakeOpenAIServer
) -> None:
    wrong = []
    with trio.fail_after(DEADLINE * 3):
        for body, param, words in CASES:
            raw = json.dumps(body).encode()  # (json=None would send no body at all)
            response = await http.post("/v1/chat/completions", content=raw)
            if response.status_code != 400:
                wrong.append((body, response.status_code, response.text))
                continue
            error = assert_openai_error(response, 400)
            if error["param"] != param or words not in str(error["message"]):
                wrong.append((body, param, error))
    assert wrong == []
    assert upstream.requests == []


async def test_the_good_forms_of_those_fields_still_pass(
    http: httpx.AsyncClient, upstream: FakeOpenAIServer
) -> None:
    good = [
        chat(tools=[tool()], tool_choice={"type": "function", "function": {"name": "f"}}),
        chat(tools=[tool()], tool_choice="required", n=1, seed=-(2**63), stop="x"),
        chat(temperature=2, top_p=1, max_tokens=2**31 - 1, stream_options={"include_usage": True}),
        said(content=[{"type": "text", "text": "a"}, {"type": "text", "text": "b"}], name="me"),
        {
            "model": "gpt-test",
            "messages": [
                {"role": "user", "content": "x"},
                {"role": "assistant", "content": None, "tool_calls": [CALL]},
                {"role": "tool", "tool_call_id": "c1", "content": "42"},
            ],
        },
    ]
    with trio.fail_after(DEADLINE):
        for body in good:
            response = await http.post("/v1/chat/completions", json=body)
            assert response.status_code == 200, (body, response.text)
    assert len(upstream.requests) == len(good)
    sent = upstream.requests[0].json
    assert isinstance(sent, dict)
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "f"}}
