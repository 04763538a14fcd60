"""Native structured output for self-hosted servers: each server's own form.

llama.cpp's server takes `{"type": "json_object", "schema": ...}` (not
json_schema); vLLM, LM Studio and Ollama take json_schema; vLLM also its own
`guided_json`, Ollama its own `format`. The provider name picks the form;
the `structured` option overrides it; an unknown openai-compatible server is
prompted. Every form's answer is still validated (and retried) here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from abstractcore_actors import LLM
from abstractcore_actors.structured import generate_structured, stream_structured
from abstractcore_actors.testing import FakeOpenAIServer, Reply

from .conftest import ADA, PERSON_JSON, Person


def _sent(server: FakeOpenAIServer) -> dict[str, Any]:
    body = server.requests[-1].json
    assert isinstance(body, dict)
    return body


def _json_schema(body: dict[str, Any]) -> Any:
    assert body["response_format"]["type"] == "json_schema"
    return body["response_format"]["json_schema"]["schema"]


def _json_object_schema(body: dict[str, Any]) -> Any:
    assert body["response_format"]["type"] == "json_object"
    return body["response_format"]["schema"]


FORMS: list[tuple[str, dict[str, Any], str, Callable[[dict[str, Any]], Any]]] = [
    ("llamacpp", {}, "json_object_schema", _json_object_schema),
    ("vllm", {}, "json_schema", _json_schema),
    ("lmstudio", {}, "json_schema", _json_schema),
    ("ollama", {}, "json_schema", _json_schema),
    ("vllm", {"structured": "guided_json"}, "guided_json", lambda b: b["guided_json"]),
    ("ollama", {"structured": "ollama_format"}, "ollama_format", lambda b: b["format"]),
    (
        "openai-compatible",
        {"structured": "json_object_schema"},
        "json_object_schema",
        _json_object_schema,
    ),
]


@pytest.mark.parametrize(("provider", "options", "mode", "schema_of"), FORMS)
async def test_each_server_is_asked_in_its_own_native_form(
    make_llm: Callable[..., LLM],
    openai_server: FakeOpenAIServer,
    provider: str,
    options: dict[str, Any],
    mode: str,
    schema_of: Callable[[dict[str, Any]], Any],
) -> None:
    llm = make_llm(provider, **options)
    openai_server.push(Reply(text=PERSON_JSON))
    result = await generate_structured(llm, "Who?", response_model=Person)
    assert result.value == ADA
    assert result.mode == mode
    body = _sent(openai_server)
    assert schema_of(body)["properties"]["mood"]["enum"] == ["happy", "sad"]
    assert [m["role"] for m in body["messages"]] == ["user"]  # no schema in the prompt


async def test_a_streamed_structured_answer_uses_the_form_too(
    make_llm: Callable[..., LLM], openai_server: FakeOpenAIServer
) -> None:
    openai_server.push(Reply(text=PERSON_JSON))
    async with stream_structured(make_llm("llamacpp"), "Who?", response_model=Person) as stream:
        async for _ in stream:
            pass
    assert (await stream.result()).value == ADA
    _json_object_schema(_sent(openai_server))


@pytest.mark.parametrize(
    ("options", "mode"), [({}, "prompted"), ({"structured": "prompt"}, "prompted")]
)
async def test_an_unknown_server_or_structured_prompt_is_prompted(
    make_llm: Callable[..., LLM],
    openai_server: FakeOpenAIServer,
    options: dict[str, Any],
    mode: str,
) -> None:
    openai_server.push(Reply(text=PERSON_JSON))
    result = await generate_structured(
        make_llm("openai-compatible", **options), "Who?", response_model=Person
    )
    assert result.mode == mode
    body = _sent(openai_server)
    assert "response_format" not in body
    assert body["messages"][0]["role"] == "system"
