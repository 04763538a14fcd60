"""The fake Anthropic server: the Messages API (JSON and SSE events), and models.

Bodies and events follow Anthropic's streaming documentation: `message_start`,
then per content block `content_block_start`, its `content_block_delta`s
(`text_delta`, or `input_json_delta` with `partial_json` for tool use) and
`content_block_stop`, a `ping` after the first block starts, then
`message_delta` (stop_reason and usage.output_tokens) and `message_stop`.
Every event is named (`event: ...`): the SDK skips unnamed ones.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import final

import attrs

from ._http import Exchange, FakeServer, StreamPlan
from ._script import (
    ArgsPiece,
    RecordedRequest,
    Reply,
    Step,
    TextPiece,
    ToolStart,
    completion_tokens,
    prompt_tokens,
    stream_units,
)

MODELS = ("claude-test", "claude-sonnet-4-5")

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


@final
@attrs.define(eq=False)
class FakeAnthropicServer(FakeServer):
    """Serves `POST /v1/messages` and `GET /v1/models`.

    Make one with `open_fake_anthropic_server`."""

    overloaded_status = 529
    request_id_header = "request-id"

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`, no `/v1` — for `AsyncAnthropic(base_url=...)`,
        which appends `/v1/messages` itself."""
        return self.origin

    def error_body(self, status: int, message: str) -> Mapping[str, object]:
        kind = _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
        return {"type": "error", "error": {"type": kind, "message": message}}

    async def handle(self, exchange: Exchange, request: RecordedRequest) -> None:
        # Anthropic documents `x-api-key`; the current SDK sends `Authorization: Bearer`.
        if self.api_key is not None:
            sent = {request.headers.get("x-api-key"), request.headers.get("authorization")}
            if not sent & {self.api_key, f"Bearer {self.api_key}"}:
                await self.send_error(exchange, 401, "invalid x-api-key")
                return
        route = (request.method, request.path.partition("?")[0].rstrip("/"))
        match route:
            case ("POST", "/v1/messages"):
                await self._messages(exchange, request)
            case ("GET", "/v1/models"):
                data = [
                    {
                        "type": "model",
                        "id": name,
                        "display_name": name,
                        "created_at": "2025-01-01T00:00:00Z",
                    }
                    for name in MODELS
                ]
                body = {
                    "data": data,
                    "has_more": False,
                    "first_id": MODELS[0],
                    "last_id": MODELS[-1],
                }
                await exchange.respond(200, json.dumps(body).encode(), self.headers())
            case _:
                await self.send_error(exchange, 404, f"Not found: {request.method} {route[1]}")

    async def _messages(self, exchange: Exchange, request: RecordedRequest) -> None:
        body = request.json if isinstance(request.json, Mapping) else {}
        step = self.next_step(request)
        reply = step.scripted_reply() if not isinstance(step, Reply) else step
        model = reply.model or str(body.get("model") or "claude-test")
        prompt = reply.usage.prompt_tokens if reply.usage else prompt_tokens(request)
        output = completion_tokens(reply)
        if body.get("stream"):
            await self.play_stream(exchange, step, _stream_plan(reply, model, prompt, output, step))
        else:
            await self.play_complete(exchange, step, _message(reply, model, prompt, output))


def _tool_input(call_arguments: str | object) -> object:
    """A tool's `input`: the parsed JSON, or a non-JSON string as it is (verbatim)."""
    if isinstance(call_arguments, str):
        try:
            return json.loads(call_arguments)
        except (ValueError, RecursionError):  # not JSON, or nested past what Python parses
            return call_arguments
    return call_arguments


def _message(reply: Reply, model: str, prompt: int, output: int) -> dict[str, object]:
    content: list[dict[str, object]] = []
    if reply.full_text:
        content.append({"type": "text", "text": reply.full_text})
    for i, call in enumerate(reply.tool_calls):
        content.append(
            {
                "type": "tool_use",
                "id": call.id or f"toolu_{i}",
                "name": call.name,
                "input": _tool_input(call.arguments),
            }
        )
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": reply.anthropic_finish(),
        "stop_sequence": None,
        "usage": {"input_tokens": prompt, "output_tokens": output},
    }


def _event(kind: str, data: Mapping[str, object] | None = None, raw: str | None = None) -> bytes:
    payload = raw if raw is not None else json.dumps({"type": kind, **(data or {})})
    return f"event: {kind}\ndata: {payload}\n\n".encode()


def _stream_plan(reply: Reply, model: str, prompt: int, output: int, step: Step) -> StreamPlan:
    start: dict[str, object] = {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": prompt, "output_tokens": 1},
    }
    text_blocks = 1 if reply.pieces() else 0
    chunks: list[bytes] = []
    open_block: int | None = None  # the index of the content block being streamed

    def begin(index: int, block: Mapping[str, object]) -> bytes:
        nonlocal open_block
        frames = b"" if open_block is None else _event("content_block_stop", {"index": open_block})
        frames += _event("content_block_start", {"index": index, "content_block": block})
        if open_block is None:  # as in Anthropic's documented example
            frames += _event("ping")
        open_block = index
        return frames

    for unit in stream_units(reply):
        match unit:
            case TextPiece(text=text):
                frames = begin(0, {"type": "text", "text": ""}) if open_block is None else b""
                delta = {"type": "text_delta", "text": text}
                chunks.append(frames + _event("content_block_delta", {"index": 0, "delta": delta}))
            case ToolStart(index=i, call=call):
                block = {"type": "tool_use", "id": call.id or f"toolu_{i}", "name": call.name}
                chunks.append(begin(text_blocks + i, {**block, "input": {}}))
            case ArgsPiece(index=i, text=text):
                delta = {"type": "input_json_delta", "partial_json": text}
                chunks.append(
                    _event("content_block_delta", {"index": text_blocks + i, "delta": delta})
                )
    tail = (
        _event("ping")
        if open_block is None
        else _event("content_block_stop", {"index": open_block})
    )
    tail += _event(
        "message_delta",
        {
            "delta": {"stop_reason": reply.anthropic_finish(), "stop_sequence": None},
            "usage": {"output_tokens": output},
        },
    )
    message = step.message if not isinstance(step, Reply) else "Overloaded"
    return StreamPlan(
        head=_event("message_start", {"message": start}),
        chunks=chunks,
        tail=tail + _event("message_stop"),
        error=_event("error", {"error": {"type": "overloaded_error", "message": message}}),
        # named, because the SDK skips an event without a name before parsing its data
        malformed=_event("content_block_delta", raw="{not json"),
        event_prefix=b"event: content_block_delta\n",
    )
