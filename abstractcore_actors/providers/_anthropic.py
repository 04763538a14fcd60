"""Adapter for Anthropic's Messages API through the official SDK (`AsyncAnthropic`).

Anthropic differs from the chat-completions shape in ways that matter here:
the system prompt is a top-level field; roles must alternate, so consecutive
turns of one role are merged; tool results travel as `tool_result` blocks in
a user turn; `max_tokens` is required; and a stream is a sequence of typed
events that we fold into our chunks, the last carrying finish reason + usage.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anthropic

from ..errors import InvalidResponse, ProviderError, ProviderTimeout, ProviderUnavailable
from ..types import Chunk, GenerateResponse, Message, Request, ToolCall, ToolCallDelta, Usage
from ._adapter import ProviderConfig
from ._status import (
    TRANSPORT_ERRORS,
    error_from_status,
    is_cut_short,
    preset_sdk_platform,
    provider_error,
)

_SDK_ERRORS: tuple[type[Exception], ...] = (anthropic.AnthropicError, ValueError, *TRANSPORT_ERRORS)
_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
}
# An `error` event inside a 200 stream carries only its type: the status it stands for.
_ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}
_TOOL_CHOICE = {"auto": {"type": "auto"}, "required": {"type": "any"}, "none": {"type": "none"}}


def _blocks(message: Message) -> list[dict[str, Any]]:
    """One of our messages as Anthropic content blocks."""
    if message.role == "tool":
        block: dict[str, Any] = {
            "type": "tool_result",
            "tool_use_id": message.tool_call_id or "",
            "content": message.content,
        }
        if message.content.startswith("error: "):
            block["is_error"] = True
        return [block]
    blocks: list[dict[str, Any]] = []
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
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)  # Anthropic wants roles to alternate
        else:
            turns.append({"role": role, "content": blocks})
    return system, turns


class AnthropicAdapter:
    """messages.create through AsyncAnthropic."""

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        self._client = anthropic.AsyncAnthropic(
            api_key=config.api_key,
            base_url=config.base_url,
            max_retries=0,
            timeout=anthropic.Timeout(config.read_timeout, connect=config.connect_timeout),
            default_headers=dict(config.headers) or None,
        )
        preset_sdk_platform(self._client, "anthropic._base_client")

    def __repr__(self) -> str:
        return f"<AnthropicAdapter {self.config.model}>"

    async def aclose(self) -> None:
        await self._client.close()

    def _params(self, request: Request) -> dict[str, Any]:
        system, turns = messages_to_wire(request.messages)
        params: dict[str, Any] = {
            "model": self.config.model,
            "messages": turns,
            "max_tokens": request.max_tokens or int(self.config.options.get("max_tokens", 1024)),
        }
        if system:
            params["system"] = system
        if request.tools:
            params["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": dict(t.parameters)}
                for t in request.tools
            ]
            if request.tool_choice:
                params["tool_choice"] = _TOOL_CHOICE.get(
                    request.tool_choice, {"type": "tool", "name": request.tool_choice}
                )
        if request.stop:
            params["stop_sequences"] = list(request.stop)
        # Recent SDK majors dropped sampling parameters from `create`'s
        # signature; the wire protocol still takes them, so they go in the body.
        body: dict[str, Any] = {}
        if request.temperature is not None:
            body["temperature"] = min(request.temperature, 1.0)  # Anthropic's range is 0-1
        if request.top_p is not None:
            body["top_p"] = request.top_p
        body.update(request.extra)
        if body:
            params["extra_body"] = body
        return params

    def _fail(self, kind: type[ProviderError], detail: str) -> ProviderError:
        return provider_error(kind, detail, self.config)

    def _map(self, exc: BaseException) -> ProviderError:
        if isinstance(exc, anthropic.APIStatusError):
            body = exc.body if isinstance(exc.body, dict) else {}
            found = body.get("error")
            error: dict[str, Any] = found if isinstance(found, dict) else {}
            status = exc.status_code
            if status < 400:  # an error event mid-stream, on a 200 response
                status = _ERROR_STATUS.get(str(error.get("type")), 500)
            return error_from_status(
                status,
                str(error.get("message") or exc.message),
                self.config,
                code=str(error.get("type") or ""),
                headers=exc.response.headers,
            )
        if isinstance(exc, anthropic.APITimeoutError):
            return self._fail(ProviderTimeout, "the request timed out")
        if is_cut_short(exc):
            return self._fail(
                InvalidResponse, f"the response was cut short ({exc.__cause__ or exc})"
            )
        if isinstance(exc, anthropic.APIConnectionError):
            cause = exc.__cause__ or exc
            return self._fail(
                ProviderUnavailable, f"connection failed ({type(cause).__name__}: {cause})"
            )
        if isinstance(exc, anthropic.APIResponseValidationError | ValueError):
            return self._fail(InvalidResponse, f"malformed answer ({exc})")
        if isinstance(exc, anthropic.APIError):  # an `error` event inside the stream
            return self._fail(ProviderUnavailable, f"error event mid-stream: {exc}")
        return self._fail(
            ProviderUnavailable, f"the connection broke ({type(exc).__name__}: {exc or 'reset'})"
        )

    async def generate(self, request: Request) -> GenerateResponse:
        try:
            message = await self._client.messages.create(**self._params(request))
        except _SDK_ERRORS as exc:
            raise self._map(exc) from exc
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
        return GenerateResponse(
            content="".join(texts),
            tool_calls=tuple(calls),
            finish_reason=_FINISH.get(message.stop_reason or "", message.stop_reason),
            usage=Usage(
                prompt_tokens=message.usage.input_tokens,
                completion_tokens=message.usage.output_tokens,
            ),
            model=message.model,
        )

    async def stream(self, request: Request) -> AsyncIterator[Chunk]:
        try:
            upstream = await self._client.messages.create(**self._params(request), stream=True)
        except _SDK_ERRORS as exc:
            raise self._map(exc) from exc
        prompt_tokens = output_tokens = 0
        stop_reason: str | None = None
        tool_index: dict[int, int] = {}  # content block index -> our tool-call index
        try:
            events = upstream.__aiter__()
            while True:
                try:
                    event = await events.__anext__()
                except StopAsyncIteration:
                    break
                except _SDK_ERRORS as exc:
                    raise self._map(exc) from exc
                match event.type:
                    case "message_start":
                        prompt_tokens = event.message.usage.input_tokens
                        output_tokens = event.message.usage.output_tokens
                    case "content_block_start" if event.content_block.type == "tool_use":
                        index = tool_index.setdefault(event.index, len(tool_index))
                        block = event.content_block
                        yield Chunk(
                            tool_calls=(ToolCallDelta(index=index, id=block.id, name=block.name),)
                        )
                    case "content_block_delta" if event.delta.type == "text_delta":
                        if event.delta.text:
                            yield Chunk(text=event.delta.text)
                    case "content_block_delta" if event.delta.type == "input_json_delta":
                        index = tool_index.setdefault(event.index, len(tool_index))
                        yield Chunk(
                            tool_calls=(
                                ToolCallDelta(index=index, arguments=event.delta.partial_json),
                            )
                        )
                    case "message_delta":
                        stop_reason = event.delta.stop_reason or stop_reason
                        output_tokens = event.usage.output_tokens or output_tokens
                    case "message_stop":
                        yield Chunk(
                            finish_reason=_FINISH.get(stop_reason or "end_turn", stop_reason),
                            usage=Usage(
                                prompt_tokens=prompt_tokens, completion_tokens=output_tokens
                            ),
                        )
                        return
            raise self._fail(InvalidResponse, "the stream ended before message_stop")
        finally:
            await upstream.close()
