"""Anthropic's Messages API (whole messages), both ways: our messages as its
turns, and an answer as its `message` object (`response_to_wire`, which the
fake server sends) or from the SDK's (`response_from_wire`, which the
adapter reads). Streams are in `anthropic_messages_stream.py`."""

from __future__ import annotations

import json
from typing import Any

from ..errors import ValidationError
from ..types import GenerateResponse, Image, Message, ToolCall, Usage

# Anthropic's stop reasons in OpenAI's vocabulary (the one our Chunk speaks);
# others (pause_turn, ...) pass through as they are.
FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
# ... and back: the stop reason an answer of ours is sent with.
STOP_REASON = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "refusal",
}


# Anthropic's error types by HTTP status (its docs, "Errors"); others by class.
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "overloaded_error",
    529: "overloaded_error",
}


def error_type(status: int) -> str:
    return ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")


def error_to_wire(status: int, message: str) -> dict[str, Any]:
    """An error body in Anthropic's shape."""
    return {"type": "error", "error": {"type": error_type(status), "message": message}}


def stop_reason(finish_reason: str | None, *, saw_tool_calls: bool = False) -> str:
    """Anthropic's stop_reason for one of our finish reasons (unknown ones pass through)."""
    if finish_reason is None:
        return "tool_use" if saw_tool_calls else "end_turn"
    return STOP_REASON.get(finish_reason, finish_reason)


def image_to_wire(image: Image) -> dict[str, Any]:
    """An image as an Anthropic `image` block (a data URL as its base64 source)."""
    inline = image.inline
    if inline is None:
        return {"type": "image", "source": {"type": "url", "url": image.url}}
    media_type, data = inline
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}


def image_from_wire(block: Any, at: str) -> Image:
    """An Anthropic `image` block -> Image; ValidationError naming `at` if malformed."""
    source = block.get("source") if isinstance(block, dict) else None
    if not isinstance(source, dict):
        source = {}
    kind = source.get("type")
    if kind == "url" and isinstance(source.get("url"), str):
        return _image(source["url"], at)
    if kind == "base64":
        media_type, data = source.get("media_type"), source.get("data")
        if isinstance(media_type, str) and isinstance(data, str):
            return _image(f"data:{media_type};base64,{data}", at)
    raise ValidationError(
        f'{at}.source must be {{"type": "base64", "media_type": "image/...", "data": "..."}} '
        'or {"type": "url", "url": "https://..."}',
        param=f"{at}.source",
    )


def _image(url: str, at: str) -> Image:
    try:
        return Image(url)
    except ValidationError as exc:
        raise ValidationError(f"{at}: {exc}", param=f"{at}.source") from None


def _blocks(message: Message) -> list[dict[str, Any]]:
    """One of our messages as Anthropic content blocks."""
    if message.role == "tool":
        block: dict[str, Any] = {
            "type": "tool_result",
            "tool_use_id": message.tool_call_id or "",
            "content": message.content,
        }
        if message.content.startswith("error: "):  # how Message.tool marks a failed tool
            block["is_error"] = True
        return [block]
    # images first: Anthropic's advice for image-and-text prompts
    blocks: list[dict[str, Any]] = [image_to_wire(image) for image in message.images]
    if message.content:
        blocks.append({"type": "text", "text": message.content})
    for call in message.tool_calls:
        blocks.append(
            {"type": "tool_use", "id": call.id, "name": call.name, "input": dict(call.arguments)}
        )
    return blocks


def messages_to_wire(messages: tuple[Message, ...]) -> tuple[str | None, list[dict[str, Any]]]:
    """(system prompt, alternating user/assistant turns)."""
    system = "\n\n".join(m.content for m in messages if m.role == "system") or None
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        role = "assistant" if message.role == "assistant" else "user"
        blocks = _blocks(message)
        if not blocks:
            continue  # Anthropic rejects an empty turn
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)  # Anthropic wants roles to alternate
        else:
            turns.append({"role": role, "content": blocks})
    return system, turns


def usage_to_wire(usage: Usage) -> dict[str, int]:
    """Anthropic's usage: `input_tokens` are the prompt tokens not read from
    the cache, which are `cache_read_input_tokens` (sent when there are some)."""
    wire = {
        "input_tokens": usage.prompt_tokens - usage.cached_prompt_tokens,
        "output_tokens": usage.completion_tokens,
    }
    if usage.cached_prompt_tokens:
        wire["cache_read_input_tokens"] = usage.cached_prompt_tokens
    return wire


def token_count(value: object) -> int:
    # None is allowed: Anthropic leaves some counters out of some objects.
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected a token count, got {type(value).__name__}")
    return value


def prompt_tokens_of(usage: Any) -> tuple[int, int]:
    """(all prompt tokens, those read from the cache) of an SDK usage object.
    Anthropic counts cache reads and cache writes apart from `input_tokens`;
    our prompt_tokens is all three, as OpenAI's is."""
    read = token_count(getattr(usage, "cache_read_input_tokens", None))
    written = token_count(getattr(usage, "cache_creation_input_tokens", None))
    return token_count(usage.input_tokens) + read + written, read


def usage_from_wire(usage: Any) -> Usage:
    prompt, cached = prompt_tokens_of(usage)
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=token_count(usage.output_tokens),
        cached_prompt_tokens=cached,
    )


def response_to_wire(response: GenerateResponse, *, id: str, model: str) -> dict[str, Any]:
    """A whole answer as Anthropic's `message` object: a text block (when there
    is text), then one `tool_use` block per call."""
    content: list[dict[str, Any]] = []
    if response.content:
        content.append({"type": "text", "text": response.content})
    for call in response.tool_calls:
        content.append(
            {"type": "tool_use", "id": call.id, "name": call.name, "input": dict(call.arguments)}
        )
    return {
        "id": id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason(
            response.finish_reason, saw_tool_calls=bool(response.tool_calls)
        ),
        "stop_sequence": None,
        "usage": {
            **usage_to_wire(response.usage),
        },
    }


def response_from_wire(message: Any) -> GenerateResponse:
    """The SDK's `Message` as our answer: text blocks joined, tool_use blocks
    as calls (a non-object `input` counts as no arguments), thinking and block
    types added later skipped. Raises AttributeError/TypeError when malformed."""
    texts: list[str] = []
    calls: list[ToolCall] = []
    for block in message.content:
        if block.type == "text":
            texts.append(block.text)
        elif block.type == "tool_use":
            arguments = block.input if isinstance(block.input, dict) else {}
            calls.append(
                ToolCall(
                    id=block.id,
                    name=block.name,
                    arguments=arguments,
                    raw_arguments=json.dumps(arguments),
                )
            )
    reason = message.stop_reason
    return GenerateResponse(
        content="".join(texts),
        tool_calls=tuple(calls),
        finish_reason=FINISH.get(reason or "", reason),
        usage=usage_from_wire(message.usage),
        model=message.model,
    )
