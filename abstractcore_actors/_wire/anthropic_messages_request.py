"""Decoding an Anthropic Messages request body (what the gateway's
`POST /v1/messages` receives) into the same `ChatRequest` a chat-completions
body becomes, so every model, router and virtual model answers both.

Content blocks map to our messages: text to text; an assistant's
`tool_use` to its tool calls; a user's `tool_result` to a tool message
(`is_error` as Message.tool marks a failed tool); `thinking` blocks are
dropped. `system` (a string or text blocks) becomes a system message.
Images and documents are refused with a 400 naming the block: this
runtime's messages carry text only. Every wrong type or value is a
`ValidationError` naming the field, as for chat completions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .._call_rules import check_max_tokens, check_temperature, check_top_p
from ..errors import ValidationError
from ..types import Image, Message, ToolCall, ToolSpec
from .anthropic_messages import image_from_wire
from .gateway_tools import take_mcp_tools
from .openai_chat_request import ChatRequest, text_of_parts
from .request_checks import TOOL_NAME, as_list, as_object, expect, shown

_TOOL_CHOICES = {"auto": "auto", "any": "required", "none": "none"}


def _texts(value: object, where: str) -> str:
    """A string, or a list of text blocks, as one string."""
    return text_of_parts(value, where, ("text",), "expected a text block here")


def _refuse_media(kind: object, at: str) -> None:
    if kind == "image":
        raise ValidationError(f"{at} is an image block: images go in user turns", param=at)
    if kind == "document":
        raise ValidationError(
            f"{at} is a document block: this gateway carries text and images only; send "
            "documents to the provider directly",
            param=at,
        )


def _user_turn(content: object, where: str) -> list[Message]:
    if isinstance(content, str):
        return [Message.user(content)]
    out: list[Message] = []
    images: list[Image] = []  # images wait for the text that follows them

    def flush() -> None:
        if images:
            out.append(Message.user("", images))
            images.clear()

    for i, block in enumerate(as_list(content, where)):
        at = f"{where}[{i}]"
        item = as_object(block, at)
        kind = item.get("type")
        if kind == "image":
            images.append(image_from_wire(item, at))
        elif kind == "text":
            text: Any = item.get("text")
            expect(isinstance(text, str), f"{at}.text", "a string", text)
            out.append(Message.user(text, images))
            images.clear()
        elif kind == "tool_result":
            flush()
            call_id = item.get("tool_use_id")
            expect(
                isinstance(call_id, str) and bool(call_id), f"{at}.tool_use_id", "an id", call_id
            )
            raw = item.get("content", "")
            text = _texts(raw, f"{at}.content")
            if item.get("is_error") is True and not text.startswith("error: "):
                text = f"error: {text}"
            out.append(Message(role="tool", content=text, tool_call_id=call_id))
        else:
            _refuse_media(kind, at)
            raise ValidationError(
                f"{at}.type must be text, image or tool_result in a user turn (got {shown(kind)})",
                param=f"{at}.type",
            )
    flush()
    return out


def _assistant_turn(content: object, where: str) -> Message:
    if isinstance(content, str):
        return Message.assistant(content)
    texts: list[str] = []
    calls: list[ToolCall] = []
    for i, block in enumerate(as_list(content, where)):
        at = f"{where}[{i}]"
        item = as_object(block, at)
        kind = item.get("type")
        if kind == "text":
            text: Any = item.get("text")
            expect(isinstance(text, str), f"{at}.text", "a string", text)
            texts.append(text)
        elif kind == "tool_use":
            call_id: Any = item.get("id")
            name: Any = item.get("name")
            arguments: Any = item.get("input", {})
            expect(isinstance(call_id, str) and bool(call_id), f"{at}.id", "an id", call_id)
            expect(isinstance(name, str) and bool(name), f"{at}.name", "a tool name", name)
            expect(isinstance(arguments, dict), f"{at}.input", "an object", arguments)
            calls.append(
                ToolCall(
                    id=call_id, name=name, arguments=arguments, raw_arguments=json.dumps(arguments)
                )
            )
        elif kind in ("thinking", "redacted_thinking"):
            continue  # the model's own scratch: not ours to replay
        else:
            _refuse_media(kind, at)
            raise ValidationError(
                f"{at}.type must be text or tool_use in an assistant turn (got {shown(kind)})",
                param=f"{at}.type",
            )
    return Message.assistant("".join(texts), calls)


def _tools(value: object) -> list[ToolSpec]:
    specs: list[ToolSpec] = []
    for i, item in enumerate(as_list(value, "tools")):
        where = f"tools[{i}]"
        tool = as_object(item, where)
        if tool.get("type") not in (None, "custom"):
            raise ValidationError(
                f"{where} is a server tool ({tool['type']}): only your own tools "
                "(name, description, input_schema) are served",
                param=f"{where}.type",
            )
        name: Any = tool.get("name")
        schema: Any = tool.get("input_schema")
        if not (isinstance(name, str) and TOOL_NAME.match(name)):
            raise ValidationError(
                f"{where}.name must be 1 to 64 letters, digits, _ or - (got {shown(name)})",
                param=f"{where}.name",
            )
        description = tool.get("description", "")
        expect(isinstance(description, str), f"{where}.description", "a string", description)
        expect(isinstance(schema, dict), f"{where}.input_schema", "a JSON schema object", schema)
        if name in (s.name for s in specs):
            raise ValidationError(
                f"{where}.name: two tools are named {name!r}", param=f"{where}.name"
            )
        specs.append(ToolSpec(name=name, description=description, parameters=schema))
    return specs


def _tool_choice(value: object, tools: list[ToolSpec]) -> str:
    choice = as_object(value, "tool_choice")
    kind = choice.get("type")
    if kind == "tool":
        name = choice.get("name")
        if name not in {t.name for t in tools}:
            raise ValidationError(
                f"tool_choice names {shown(name)}, which is not among tools",
                param="tool_choice.name",
            )
        return str(name)
    if kind not in _TOOL_CHOICES:
        raise ValidationError(
            f"tool_choice.type must be auto, any, tool or none (got {shown(kind)})",
            param="tool_choice.type",
        )
    return _TOOL_CHOICES[str(kind)]


def parse_messages(body: object, *, max_tokens_cap: int | None = None) -> ChatRequest:
    """Check a decoded Messages body; raises ValidationError naming the first bad field."""
    if not isinstance(body, dict):
        raise ValidationError("the request body must be a JSON object")
    model = body.get("model")
    expect(isinstance(model, str) and bool(model), "model", "a model name", model)
    max_tokens = body.get("max_tokens")
    check_max_tokens(max_tokens, "max_tokens")  # required by the Messages API
    turns = body.get("messages")
    expect(isinstance(turns, list) and bool(turns), "messages", "a non-empty list", turns)
    messages: list[Message] = []
    if body.get("system") is not None:
        messages.append(Message.system(_texts(body["system"], "system")))
    for i, turn in enumerate(turns):  # type: ignore[arg-type]
        where = f"messages[{i}]"
        item = as_object(turn, where)
        role = item.get("role")
        if role == "user":
            messages += _user_turn(item.get("content"), f"{where}.content")
        elif role == "assistant":
            messages.append(_assistant_turn(item.get("content"), f"{where}.content"))
        else:
            raise ValidationError(
                f"{where}.role must be user or assistant (got {shown(role)})",
                param=f"{where}.role",
            )
    args: dict[str, Any] = {"messages": messages, "max_tokens": max_tokens}
    if max_tokens_cap is not None:
        args["max_tokens"] = min(int(max_tokens), max_tokens_cap)  # type: ignore[arg-type]
    tools, mcp = take_mcp_tools(body.get("tools"))
    if tools is not None and (tools or not mcp):
        args["tools"] = _tools(tools)
    if body.get("tool_choice") is not None:
        args["tool_choice"] = _tool_choice(body["tool_choice"], args.get("tools", []))
    for key, check in (("temperature", check_temperature), ("top_p", check_top_p)):
        if body.get(key) is not None:
            check(body[key])
            args[key] = body[key]
    stop = body.get("stop_sequences")
    if stop is not None:
        ok = isinstance(stop, list) and all(isinstance(s, str) for s in stop)
        expect(ok, "stop_sequences", "a list of strings", stop)
        args["stop"] = stop
    stream = body.get("stream", False)
    expect(isinstance(stream, bool), "stream", "a boolean", stream)
    metadata = body.get("metadata")
    user = metadata.get("user_id") if isinstance(metadata, Mapping) else None
    assert isinstance(model, str)
    return ChatRequest(
        model=model,
        stream=stream,
        include_usage=True,
        args=args,
        user=user if isinstance(user, str) and user else None,
        mcp=mcp,
    )
