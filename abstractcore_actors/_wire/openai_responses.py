"""OpenAI's Responses API (`POST /v1/responses`), as the gateway serves it:
the request body decoded into the same `ChatRequest` a chat-completions body
becomes, and an answer written as a `response` object. Streams are in
`openai_responses_stream.py`.

Input items map to our messages: a message item (string content or
`input_text`/`output_text` parts) to a turn, `function_call` items to the
assistant's tool calls, `function_call_output` to a tool message;
`instructions` to a system message; `reasoning` items are dropped. The
gateway keeps no state between calls, so `previous_response_id` is refused
(send the whole conversation as `input`), as are files; `input_image` parts
of user messages (an `image_url`, http(s) or data URL) become images.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from .._call_rules import check_max_tokens, check_temperature, check_top_p
from ..errors import ValidationError
from ..types import GenerateResponse, Image, Message, ServerToolCall, ToolCall, ToolSpec, Usage
from .gateway_tools import take_mcp_tools
from .openai_chat_request import ChatRequest, text_of_parts
from .request_checks import TOOL_NAME, as_list, as_object, expect, shown

_ROLES = {"user": "user", "system": "system", "developer": "system", "assistant": "assistant"}
_TEXT_PARTS = ("input_text", "output_text", "text")


def _content(value: object, where: str) -> str:
    refusal = (
        "only text parts here (input_text, output_text; input_image in user messages); "
        "send files to the provider directly"
    )
    return text_of_parts(value, where, _TEXT_PARTS, refusal)


def _user_content(value: object, where: str) -> tuple[str, tuple[Image, ...]]:
    """A user message's text and its `input_image` parts."""
    if not isinstance(value, list):
        return _content(value, where), ()
    images: list[Image] = []
    texts: list[object] = []
    for i, raw in enumerate(value):
        at = f"{where}[{i}]"
        part = as_object(raw, at)
        if part.get("type") != "input_image":
            texts.append(part)
            continue
        url: Any = part.get("image_url")
        if not isinstance(url, str):
            raise ValidationError(
                f"{at}.image_url must be an http(s) or data: URL (file_id images are not "
                "served: send the image itself)",
                param=f"{at}.image_url",
            )
        detail: Any = part.get("detail")
        try:
            images.append(Image(url, None if detail is None else detail))
        except ValidationError as exc:
            raise ValidationError(f"{at}: {exc}", param=f"{at}.image_url") from None
    return _content(texts, where), tuple(images)


def _input(value: object) -> list[Message]:
    if isinstance(value, str):
        return [Message.user(value)]
    out: list[Message] = []
    for i, raw in enumerate(as_list(value, "input")):
        where = f"input[{i}]"
        item = as_object(raw, where)
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role")
            if role not in _ROLES:
                raise ValidationError(
                    f"{where}.role must be user, system, developer or assistant "
                    f"(got {shown(role)})",
                    param=f"{where}.role",
                )
            if role == "user":
                text, images = _user_content(item.get("content"), f"{where}.content")
                out.append(Message.user(text, images))
                continue
            text = _content(item.get("content"), f"{where}.content")
            out.append(Message(role=_ROLES[str(role)], content=text))  # type: ignore[arg-type]
        elif kind == "function_call":
            call = _function_call(item, where)
            last = out[-1] if out else None
            if last is not None and last.role == "assistant" and not last.tool_call_id:
                out[-1] = Message.assistant(last.content, [*last.tool_calls, call])
            else:
                out.append(Message.assistant("", [call]))
        elif kind == "function_call_output":
            call_id: Any = item.get("call_id")
            expect(isinstance(call_id, str) and bool(call_id), f"{where}.call_id", "an id", call_id)
            output: Any = item.get("output")
            text = output if isinstance(output, str) else _content(output, f"{where}.output")
            out.append(Message(role="tool", content=text, tool_call_id=call_id))
        elif kind == "reasoning":
            continue
        else:
            raise ValidationError(
                f"{where}.type must be message, function_call or function_call_output "
                f"(got {shown(kind)})",
                param=f"{where}.type",
            )
    return out


def _function_call(item: Mapping[str, Any], where: str) -> ToolCall:
    call_id, name, arguments = item.get("call_id"), item.get("name"), item.get("arguments", "")
    expect(isinstance(call_id, str) and bool(call_id), f"{where}.call_id", "an id", call_id)
    expect(isinstance(name, str) and bool(name), f"{where}.name", "a function name", name)
    expect(isinstance(arguments, str), f"{where}.arguments", "a JSON string", arguments)
    assert isinstance(call_id, str) and isinstance(name, str) and isinstance(arguments, str)
    return ToolCall.from_raw(id=call_id, name=name, raw_arguments=arguments)


def _tools(value: object) -> list[ToolSpec]:
    specs: list[ToolSpec] = []
    for i, raw in enumerate(as_list(value, "tools")):
        where = f"tools[{i}]"
        tool = as_object(raw, where)
        if tool.get("type") != "function":
            raise ValidationError(
                f"{where}.type is {shown(tool.get('type'))}: only function tools are served "
                "(built-in tools such as web_search run on OpenAI's side)",
                param=f"{where}.type",
            )
        name: Any = tool.get("name")
        if not (isinstance(name, str) and TOOL_NAME.match(name)):
            raise ValidationError(
                f"{where}.name must be 1 to 64 letters, digits, _ or - (got {shown(name)})",
                param=f"{where}.name",
            )
        description: Any = tool.get("description") or ""
        parameters: Any = tool.get("parameters") or {"type": "object", "properties": {}}
        expect(isinstance(description, str), f"{where}.description", "a string", description)
        expect(isinstance(parameters, dict), f"{where}.parameters", "a JSON schema", parameters)
        if name in (s.name for s in specs):
            message = f"{where}.name: two tools are named {name!r}"
            raise ValidationError(message, param=f"{where}.name")
        specs.append(ToolSpec(name=name, description=description, parameters=parameters))
    return specs


def _tool_choice(value: object, tools: list[ToolSpec]) -> str:
    if value in ("auto", "none", "required"):
        return str(value)
    choice = as_object(value, "tool_choice")
    name = choice.get("name")
    if choice.get("type") != "function" or name not in {t.name for t in tools}:
        raise ValidationError(
            'tool_choice must be "auto", "none", "required" or {"type": "function", '
            f'"name": one of tools}} (got {shown(value)})',
            param="tool_choice",
        )
    return str(name)


def parse_responses(body: object, *, max_tokens_cap: int | None = None) -> ChatRequest:
    """Check a decoded Responses body; raises ValidationError naming the first bad field."""
    if not isinstance(body, dict):
        raise ValidationError("the request body must be a JSON object")
    model = body.get("model")
    expect(isinstance(model, str) and bool(model), "model", "a model name", model)
    if body.get("previous_response_id") is not None:
        raise ValidationError(
            "previous_response_id is not supported: this gateway keeps no conversation state; "
            "send the whole conversation as input",
            param="previous_response_id",
        )
    expect(body.get("input") is not None, "input", "a string or a list of items", None)
    messages = _input(body["input"])
    if body.get("instructions") is not None:
        instructions = body["instructions"]
        expect(isinstance(instructions, str), "instructions", "a string", instructions)
        messages.insert(0, Message.system(instructions))
    expect(bool(messages), "input", "at least one item", body["input"])
    args: dict[str, Any] = {"messages": messages}
    max_tokens = body.get("max_output_tokens")
    if max_tokens is not None:
        check_max_tokens(max_tokens, "max_output_tokens")
        args["max_tokens"] = max_tokens
    if max_tokens_cap is not None:
        args["max_tokens"] = min(int(args.get("max_tokens", max_tokens_cap)), max_tokens_cap)
    tools, mcp = take_mcp_tools(body.get("tools"))
    if tools:
        args["tools"] = _tools(tools)
    if body.get("tool_choice") is not None:
        args["tool_choice"] = _tool_choice(body["tool_choice"], args.get("tools", []))
    for key, check in (("temperature", check_temperature), ("top_p", check_top_p)):
        if body.get(key) is not None:
            check(body[key])
            args[key] = body[key]
    stream = body.get("stream", False)
    expect(isinstance(stream, bool), "stream", "a boolean", stream)
    user = body.get("safety_identifier") or body.get("user")
    assert isinstance(model, str)
    return ChatRequest(
        model=model,
        stream=stream,
        include_usage=True,
        args=args,
        user=user if isinstance(user, str) and user else None,
        mcp=mcp,
    )


def usage_to_wire(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {"cached_tokens": usage.cached_prompt_tokens},
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": usage.total_tokens,
    }


def message_item(id: str, text: str, status: str = "completed") -> dict[str, Any]:
    part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
    return {
        "type": "message",
        "id": id,
        "status": status,
        "role": "assistant",
        "content": [part] if status == "completed" else [],
    }


def call_item(id: str, call: ToolCall | None = None, status: str = "completed") -> dict[str, Any]:
    return {
        "type": "function_call",
        "id": id,
        "call_id": call.id if call else "",
        "name": call.name if call else "",
        "arguments": call.raw_arguments if call else "",
        "status": status,
    }


def mcp_call_item(id: str, call: ServerToolCall, status: str = "completed") -> dict[str, Any]:
    """An `mcp_call` item: a tool the gateway ran (OpenAI's shape for its
    hosted MCP tools); a failed call has `error` and no `output`."""
    done = status == "completed"
    failed = done and call.error is not None
    return {
        "type": "mcp_call",
        "id": id,
        "server_label": call.server,
        "name": call.name,
        "arguments": call.arguments if done else "",
        "output": call.output if done and not failed else None,
        "error": {"type": "mcp_tool_execution_error", "content": call.error} if failed else None,
        "approval_request_id": None,
        "status": ("failed" if failed else "completed") if done else "in_progress",
    }


def response_object(
    id: str,
    model: str,
    output: list[dict[str, Any]],
    *,
    status: str = "completed",
    usage: Usage | None = None,
    finish_reason: str | None = None,
    created: int | None = None,
) -> dict[str, Any]:
    """A `response` object (what `responses.create` returns, and what the stream's
    created/completed events carry)."""
    incomplete = finish_reason == "length" and status == "completed"
    return {
        "id": id,
        "object": "response",
        "created_at": created if created is not None else int(time.time()),
        "status": "incomplete" if incomplete else status,
        "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
        "error": None,
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "instructions": None,
        "metadata": {},
        "temperature": None,
        "top_p": None,
        "text": {"format": {"type": "text"}},
        "usage": None if usage is None else usage_to_wire(usage),
    }


def response_to_wire(response: GenerateResponse, *, id: str, model: str) -> dict[str, Any]:
    """A whole answer: an mcp_call item per tool the gateway ran on the way,
    a message item (when there is text), then one function_call item per
    tool call."""
    output = [mcp_call_item(f"mcp_{id}_{i}", c) for i, c in enumerate(response.server_tool_calls)]
    if response.content or not response.tool_calls:
        output.append(message_item(f"msg_{id}", response.content))
    output += [call_item(f"fc_{id}_{i}", c) for i, c in enumerate(response.tool_calls)]
    return response_object(
        f"resp_{id}", model, output, usage=response.usage, finish_reason=response.finish_reason
    )
