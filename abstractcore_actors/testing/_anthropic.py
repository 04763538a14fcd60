"""The fake Anthropic server: the Messages API (JSON and SSE events), and models.

Bodies and events are written by the Messages codec (`_wire.anthropic_messages`
and `_wire.anthropic_messages_stream`), the same encoder the gateway answers
with, after Anthropic's documentation; only the faults are the fake's own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import final

import attrs

from .._wire.anthropic_messages import error_to_wire, response_to_wire
from .._wire.anthropic_messages_stream import EventWriter, error_event
from ..types import Chunk, GenerateResponse, ToolCall, ToolCallDelta, Usage
from ._http import Exchange, FakeServer, StreamPlan
from ._script import (
    ArgsPiece,
    RecordedRequest,
    Reply,
    Step,
    TextPiece,
    ToolStart,
    Unit,
    arguments_text,
    reply_usage,
    stream_units,
)

MODELS = ("claude-test", "claude-sonnet-4-5")


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
        return error_to_wire(status, message)

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
        usage = reply_usage(reply, request)
        if body.get("stream"):
            await self.play_stream(exchange, step, _stream_plan(reply, model, usage, step))
        else:
            await self.play_complete(exchange, step, _message(reply, model, usage))


def _answer(reply: Reply, usage: Usage) -> GenerateResponse:
    calls = tuple(
        ToolCall.from_raw(id=call.id or f"toolu_{i}", name=call.name, raw_arguments=raw)
        for i, call in enumerate(reply.tool_calls)
        for raw in [arguments_text(call)]
    )
    return GenerateResponse(
        content=reply.full_text,
        tool_calls=calls,
        finish_reason=reply.openai_finish(),
        usage=usage,
    )


def _message(reply: Reply, model: str, usage: Usage) -> dict[str, object]:
    answer = _answer(reply, usage)
    wire = response_to_wire(answer, id="msg_fake", model=model)
    blocks = wire["content"][1 if answer.content else 0 :]
    for block, call in zip(blocks, answer.tool_calls, strict=True):
        if not call.arguments_are_valid_json:  # a scripted fault: the text as it is
            block["input"] = call.raw_arguments
    return wire


def _chunk(unit: Unit) -> Chunk:
    match unit:
        case TextPiece(text=text):
            return Chunk(text=text)
        case ToolStart(index=index, call=call):
            delta = ToolCallDelta(index=index, id=call.id or f"toolu_{index}", name=call.name)
            return Chunk(tool_calls=(delta,))
        case ArgsPiece(index=index, text=text):
            return Chunk(tool_calls=(ToolCallDelta(index=index, arguments=text),))


def _stream_plan(reply: Reply, model: str, usage: Usage, step: Step) -> StreamPlan:
    writer = EventWriter(id="msg_fake", model=model, prompt_tokens=usage.prompt_tokens)
    head = writer.first()
    chunks = [writer.add(_chunk(unit)) for unit in stream_units(reply)]
    writer.add(Chunk(finish_reason=reply.openai_finish(), usage=usage))
    message = step.message if not isinstance(step, Reply) else "Overloaded"
    return StreamPlan(
        head=head,
        chunks=chunks,
        tail=writer.end(),
        error=error_event("overloaded_error", message),
        # named, because the SDK skips an event without a name before parsing its data
        malformed=b"event: content_block_delta\ndata: {not json\n\n",
        event_prefix=b"event: content_block_delta\n",
    )
