"""Decoding a chat-completions request body (what the gateway receives) into
the keyword arguments of `LLM.request`.

Every wrong type or value is a `ValidationError` naming the field (`param`;
the gateway answers it as a 400), so no bad input reaches the runtime as
something it would fail on later. Value ranges are `_call_rules`, the same
checks `LLM.generate` makes. Unknown fields are ignored, as OpenAI's
clients send many optional ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .._call_rules import (
    check_logprobs,
    check_max_tokens,
    check_seed,
    check_temperature,
    check_tool_choice,
    check_top_p,
    is_int,
)
from .._image import image_from_part
from ..errors import ValidationError
from ..types import Image, Message, Request, ToolCall, ToolSpec
from .gateway_tools import McpToolRef, take_mcp_tools
from .request_checks import TOOL_NAME, as_list, as_object, expect, json_kind, parse_json, shown

_ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}


@attrs.frozen(kw_only=True)
class ChatRequest:
    """A valid chat request: the public model name, how to answer, and the call's arguments."""

    model: str
    stream: bool
    include_usage: bool
    args: Mapping[str, Any]  # keyword arguments of `LLM.request` (and the patterns)
    response_format: object = None  # as sent (None: plain text); the gateway reads it
    user: str | None = None  # OpenAI's end-user id: whom user budgets count the call for
    # {"type": "mcp"} tools: the gateway's own, which it runs (gateway_tools.py)
    mcp: tuple[McpToolRef, ...] = ()

    def prompt(self) -> Request:
        """Its messages and tools as a `Request`: what sizing a prompt needs
        (a budget's worst case, count_tokens), not the call to send."""
        args = self.args
        return Request(messages=tuple(args["messages"]), tools=tuple(args.get("tools", ())))


def text_of_parts(value: object, where: str, kinds: tuple[str, ...], refusal: str) -> str:
    """A string, or a list of text parts (each `{"type": one of kinds, "text": ...}`),
    as one string; a part of another type is a ValidationError saying `refusal`."""
    if isinstance(value, str):
        return value
    parts: list[str] = []
    for i, part in enumerate(as_list(value, where)):
        at = f"{where}[{i}]"
        item = as_object(part, at)
        kind = item.get("type")
        if kind not in kinds:
            raise ValidationError(f"{at}.type is {shown(kind)}: {refusal}", param=at)
        text: Any = item.get("text")
        expect(isinstance(text, str), f"{at}.text", "a string", text)
        parts.append(text)
    return "".join(parts)


def _optional_str(body: Mapping[str, Any], key: str, param: str) -> Any:
    value = body.get(key)
    expect(value is None or isinstance(value, str), param, "a string", value)
    return value


def _text(content: object, param: str) -> str:
    return _content(content, param, images=False)[0]


def _content(content: object, param: str, *, images: bool) -> tuple[str, tuple[Image, ...]]:
    """(text, images) of a message's content; image parts only where `images`."""
    if content is None or isinstance(content, str):
        return content or "", ()
    parts = as_list(content, param, "a string, null or a list of content parts")
    texts = []
    found: list[Image] = []
    for i, item in enumerate(parts):
        where = f"{param}[{i}]"
        part = as_object(item, where)
        kind = part.get("type")
        expect(isinstance(kind, str), f"{where}.type", 'a content part type ("text")', kind)
        if kind == "image_url" and images:
            try:
                found.append(image_from_part(part))
            except ValidationError as exc:
                raise ValidationError(f"{where}: {exc}", param=f"{where}.image_url") from None
            continue
        if kind != "text":
            allowed = "text and image_url" if images else "text"
            raise ValidationError(
                f"{where}.type: only {allowed} content parts are supported here (got {kind!r})"
                + ("; images go in user messages" if kind == "image_url" else ""),
                param=f"{where}.type",
            )
        expect(isinstance(part.get("text"), str), f"{where}.text", "a string", part.get("text"))
        texts.append(part["text"])
    return "".join(texts), tuple(found)


def _tool_calls(value: object, param: str) -> tuple[ToolCall, ...]:
    calls = []
    for i, item in enumerate(as_list(value, param)):
        where = f"{param}[{i}]"
        call = as_object(item, where)
        expect(isinstance(call.get("id"), str), f"{where}.id", "a string", call.get("id"))
        kind = call.get("type", "function")
        expect(kind == "function", f"{where}.type", '"function"', kind)
        fn = as_object(call.get("function"), f"{where}.function")
        name: Any = fn.get("name")
        arguments: Any = fn.get("arguments", "")
        expect(isinstance(name, str), f"{where}.function.name", "a string", name)
        expect(isinstance(arguments, str), f"{where}.function.arguments", "a string", arguments)
        calls.append(ToolCall.from_raw(id=call["id"], name=name, raw_arguments=arguments))
    return tuple(calls)


def _message(value: object, i: int) -> Message:
    where = f"messages[{i}]"
    value = as_object(value, where)
    role = value.get("role")
    if not isinstance(role, str) or (role != "tool" and role not in _ROLES):
        raise ValidationError(
            f"{where}.role must be one of system, developer, user, assistant, tool "
            f"(got {shown(role)})",
            param=f"{where}.role",
        )
    name = _optional_str(value, "name", f"{where}.name")
    if role == "tool":
        call_id = value.get("tool_call_id")
        expect(isinstance(call_id, str), f"{where}.tool_call_id", "a string", call_id)
        content = _text(value.get("content"), f"{where}.content")
        return Message(role="tool", content=content, tool_call_id=call_id, name=name)
    if role == "user":
        text, images = _content(value.get("content"), f"{where}.content", images=True)
        return Message.user(text, images)
    content = _text(value.get("content"), f"{where}.content")
    if role == "assistant" and value.get("tool_calls") is not None:
        calls = _tool_calls(value["tool_calls"], f"{where}.tool_calls")
        return Message.assistant(content, calls)
    return Message(role=_ROLES[role], content=content)  # type: ignore[arg-type]


def _tools(value: object) -> list[ToolSpec]:
    specs: list[ToolSpec] = []
    for i, item in enumerate(as_list(value, "tools")):
        where = f"tools[{i}]"
        tool = as_object(item, where)
        kind = tool.get("type", "function")
        expect(kind == "function", f"{where}.type", '"function"', kind)
        at = f"{where}.function"
        fn = as_object(tool.get("function"), at)
        name: Any = fn.get("name")
        description: Any = fn.get("description", "")
        parameters: Any = fn.get("parameters", {"type": "object", "properties": {}})
        if not (isinstance(name, str) and TOOL_NAME.match(name)):
            raise ValidationError(
                f"{at}.name must be 1 to 64 letters, digits, _ or - (got {shown(name)})",
                param=f"{at}.name",
            )
        if name in (s.name for s in specs):
            raise ValidationError(f"{at}.name: two tools are named {name!r}", param=f"{at}.name")
        expect(isinstance(description, str), f"{at}.description", "a string", description)
        expect(isinstance(parameters, dict), f"{at}.parameters", "a JSON schema object", parameters)
        kind = parameters.get("type", "object")
        expect(kind == "object", f"{at}.parameters.type", '"object"', kind)
        properties = parameters.get("properties", {})
        expect(isinstance(properties, dict), f"{at}.parameters.properties", "an object", properties)
        specs.append(ToolSpec(name=name, description=description, parameters=parameters))
    return specs


def _tool_choice(value: Any, tools: list[ToolSpec]) -> str | None:
    return check_tool_choice(value, [t.name for t in tools])


def _sampling(body: Mapping[str, Any], args: dict[str, Any]) -> None:
    for key, check in (("temperature", check_temperature), ("top_p", check_top_p)):
        value = body.get(key)
        if value is not None:
            check(value)
            args[key] = value
    for key in ("max_completion_tokens", "max_tokens"):
        value = body.get(key)
        if value is not None:
            check_max_tokens(value, key)
            args.setdefault("max_tokens", value)
    seed = body.get("seed")
    if seed is not None:
        check_seed(seed)
        args["seed"] = seed
    stop = body.get("stop")
    if isinstance(stop, str):
        args["stop"] = [stop]
    elif stop is not None:
        ok = isinstance(stop, list) and len(stop) <= 4 and all(isinstance(s, str) for s in stop)
        expect(ok, "stop", "a string or a list of up to 4 strings", stop)
        args["stop"] = stop
    logprobs, top = body.get("logprobs"), body.get("top_logprobs")
    check_logprobs(logprobs, top)
    if logprobs:
        args["logprobs"] = True
    if top is not None:
        args["top_logprobs"] = top
    n = body.get("n")
    if n is not None:
        expect(is_int(n), "n", "an integer", n)
        if n != 1:
            raise ValidationError("only n=1 is supported: send one request per answer", param="n")


def parse_chat(body: object, *, max_tokens_cap: int | None = None) -> ChatRequest:
    """Check a decoded body; raises ValidationError naming the first bad field."""
    if not isinstance(body, dict):
        raise ValidationError(f"the request body must be a JSON object (got {json_kind(body)})")
    model = body.get("model")
    expect(isinstance(model, str) and bool(model), "model", "a model name", model)
    messages = body.get("messages")
    expect(isinstance(messages, list) and bool(messages), "messages", "a non-empty list", messages)
    args: dict[str, Any] = {"messages": [_message(m, i) for i, m in enumerate(messages)]}  # type: ignore[arg-type]

    tools, mcp = take_mcp_tools(body.get("tools"))
    if tools is not None and (tools or not mcp):
        args["tools"] = _tools(tools)
    if body.get("tool_choice") is not None:
        args["tool_choice"] = _tool_choice(body["tool_choice"], args.get("tools", []))
    _sampling(body, args)
    if max_tokens_cap is not None:
        args["max_tokens"] = min(args.get("max_tokens", max_tokens_cap), max_tokens_cap)
    stream = body.get("stream", False)
    expect(stream is None or isinstance(stream, bool), "stream", "a boolean", stream)
    options = body.get("stream_options")
    expect(options is None or isinstance(options, dict), "stream_options", "an object", options)
    include = (options or {}).get("include_usage", False)
    expect(isinstance(include, bool), "stream_options.include_usage", "a boolean", include)
    user = body.get("user")
    expect(user is None or isinstance(user, str), "user", "a string", user)
    assert isinstance(model, str)
    return ChatRequest(
        model=model,
        stream=bool(stream),
        include_usage=include,
        args=args,
        response_format=body.get("response_format"),
        user=user or None,
        mcp=mcp,
    )


__all__ = ["ChatRequest", "parse_chat", "parse_json"]
