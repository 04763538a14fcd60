"""How each provider is asked for JSON that fits a schema.

json_schema  OpenAI's native mode: `response_format={"type": "json_schema", ...}`,
             sent through `Request.extra` (the adapters pass it on as it is);
             also vLLM's, LM Studio's, Ollama's and OpenRouter's
json_object_schema  llama.cpp's server: `response_format={"type": "json_object",
             "schema": ...}` (it refuses json_schema)
guided_json  vLLM's own field: `guided_json=<schema>`
ollama_format  Ollama's own field: `format=<schema>`
tool         Anthropic's: one tool whose input_schema is the schema, forced with
             `tool_choice={"type": "tool", "name": ...}`; the answer is the
             tool call's arguments
prompted     everyone else (unknown openai-compatible servers, `structured="prompt"`):
             the schema in a system message, "answer with JSON only", and
             ``` fences stripped from the answer
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any, Literal, get_args

import attrs

from .._providers import LLM, PROVIDERS
from .._schema import Problem, format_problems
from ..errors import ValidationError
from ..types import Chunk, GenerateResponse, Message, Request, ToolSpec
from ._response_model import ResponseModel

Mode = Literal[
    "json_schema", "json_object_schema", "guided_json", "ollama_format", "tool", "prompted"
]
ModeChoice = Literal[
    "auto",
    "native",
    "json_schema",
    "json_object_schema",
    "guided_json",
    "ollama_format",
    "tool",
    "prompted",
]
_MODES: tuple[str, ...] = get_args(ModeChoice)
# the native forms an OpenAI-compatible server may take (its `structured` option)
_SERVER_FORMS = ("json_schema", "json_object_schema", "guided_json", "ollama_format")


def pick_mode(llm: LLM, choice: str) -> Mode:
    """The mode for this LLM: `auto` uses the provider's native mode where it has one."""
    if choice not in _MODES:
        raise ValidationError(f"mode must be one of {', '.join(_MODES)} (got {choice!r})")
    adapter = PROVIDERS[llm.provider].adapter if llm.provider in PROVIDERS else "compatible"
    if choice in (*_SERVER_FORMS, "tool", "prompted"):
        if choice == "tool" and adapter == "local":
            raise ValidationError(
                "the local provider has no tool calls; use mode='json_schema' (a JSON "
                "grammar constrains its sampling) or mode='prompted'"
            )
        return choice  # type: ignore[return-value]
    if adapter == "anthropic":
        return "tool"
    # local: llama.cpp turns the schema into a grammar that constrains sampling
    if adapter in ("openai", "local"):
        return "json_schema"
    if adapter == "compatible":
        # the server's own form (the provider's `structured` option)
        form = str(llm.config.options.get("structured", "prompt"))
        if form in _SERVER_FORMS:
            return form  # type: ignore[return-value]
        if choice == "native":  # asked for explicitly: OpenAI's form
            return "json_schema"
        return "prompted"
    if choice == "native":
        raise ValidationError(f"{llm.provider} has no native structured mode; use mode='prompted'")
    return "prompted"


def strict_compatible(schema: Mapping[str, Any]) -> bool:
    """Whether OpenAI's strict mode accepts the schema: every object closed
    (additionalProperties false) with every property required."""
    if schema.get("type") == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        if schema.get("additionalProperties", True) is not False:
            return False
        if set(schema.get("required") or ()) != set(props):
            return False
    children: list[Any] = list((schema.get("properties") or {}).values())
    children += list((schema.get("$defs") or {}).values())
    children += [schema[k] for k in ("items",) if isinstance(schema.get(k), Mapping)]
    children += list(schema.get("anyOf") or ())
    return all(strict_compatible(c) for c in children if isinstance(c, Mapping))


def prompted_instructions(model: ResponseModel[Any]) -> str:
    return (
        "Answer with a single JSON object only: no prose before or after it, no code "
        "fences. It must match this JSON schema:\n" + json.dumps(model.schema)
    )


def attempt_request(
    base: Request, model: ResponseModel[Any], mode: Mode, history: tuple[Message, ...]
) -> Request:
    """The request of one attempt: `base` with the mode's parameters and the
    feedback turns of earlier attempts (`history`) appended."""
    messages = (*base.messages, *history)
    extra = dict(base.extra)
    tools = base.tools
    tool_choice = base.tool_choice
    if mode == "json_schema":
        extra["response_format"] = {
            "type": "json_schema",
            "json_schema": {
                "name": model.name,
                "schema": model.schema,
                "strict": strict_compatible(model.schema),
            },
        }
    elif mode == "json_object_schema":
        extra["response_format"] = {"type": "json_object", "schema": model.schema}
    elif mode == "guided_json":
        extra["guided_json"] = model.schema
    elif mode == "ollama_format":
        extra["format"] = model.schema
    elif mode == "tool":
        description = "Give your answer by calling this tool with it as the arguments."
        if model.schema.get("description"):
            description += " " + str(model.schema["description"])
        tools = (ToolSpec(name=model.name, description=description, parameters=model.schema),)
        tool_choice = model.name
    else:
        messages = (Message.system(prompted_instructions(model)), *messages)
    return attrs.evolve(
        base,
        messages=messages,
        tools=tools,
        tool_choice=tool_choice,
        extra=extra,
        request_id=f"req_{uuid.uuid4().hex[:16]}",
    )


def check_base(base: Request) -> None:
    if base.tools:
        raise ValidationError(
            "structured output does not combine with tools=: run the tool loop first "
            "(a session), then ask for the structured answer"
        )


def answer_text(response: GenerateResponse, model: ResponseModel[Any], mode: Mode) -> str:
    """The JSON text of an answer: the content, or in tool mode the tool's arguments."""
    if mode == "tool":
        for call in response.tool_calls:
            if call.name == model.name:
                return call.raw_arguments or json.dumps(dict(call.arguments))
    return response.content


def chunk_text(chunk: Chunk, mode: Mode) -> str:
    """The piece of the JSON text a streamed chunk adds."""
    if mode == "tool":
        return "".join(d.arguments for d in chunk.tool_calls if d.index == 0)
    return chunk.text


def feedback(raw: str, problems: list[Problem], *, cut_short: bool = False) -> tuple[Message, ...]:
    """The turns that tell the model what was wrong with its answer."""
    said = "Your answer was stopped early because it" if cut_short else "Your answer"
    text = (
        f"{said} does not match the required JSON schema:\n{format_problems(problems)}\n"
        "Answer again with the complete, corrected JSON object only."
    )
    return (Message.assistant(raw or "(empty)"), Message.user(text))
