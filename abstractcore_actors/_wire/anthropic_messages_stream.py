"""Anthropic's Messages stream (named SSE events), both ways: `Fold` turns the
SDK's events into our Chunks (the adapter), `EventWriter` turns our Chunks into
the events a client reads (the fake server; the gateway's Messages route).

The order, from Anthropic's streaming documentation: `message_start`, then
per content block `content_block_start`, its `content_block_delta`s
(`text_delta`, or `input_json_delta` with `partial_json` for tool use) and
`content_block_stop`, a `ping` after the first block starts, then
`message_delta` (stop_reason and the cumulative usage.output_tokens) and
`message_stop`. Every event is named (`event: ...`): the SDK skips unnamed ones.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from ..types import Chunk, Cost, ToolCallDelta, Usage
from .anthropic_messages import (
    FINISH,
    prompt_tokens_of,
    stop_reason,
    token_count,
    usage_to_wire,
)


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


class Fold:
    """The state of one stream: SDK events in, our chunks out.

    The SDK builds events without validating them, so a malformed event
    (a missing field, a wrong type) shows up here as AttributeError or
    TypeError, which the caller turns into InvalidResponse."""

    def __init__(self) -> None:
        self.prompt_tokens = 0
        self.output_tokens = 0
        self.cached_tokens = 0
        self.stop_reason: str | None = None
        self.finished = False
        self._tools: dict[int, int] = {}  # content block index -> our tool-call index

    def _tool(self, block_index: int) -> int:
        # Tool calls are numbered from 0 among tool blocks only: a text block
        # before them must not shift the index the Accumulator sees.
        return self._tools.setdefault(block_index, len(self._tools))

    def chunk(self, event: Any) -> Chunk | None:
        """Our chunk for one event, or None when it carries nothing for the caller."""
        match event.type:
            case "message_start":
                usage = event.message.usage
                self.prompt_tokens, self.cached_tokens = prompt_tokens_of(usage)
                self.output_tokens = token_count(usage.output_tokens)
            case "content_block_start":
                block = event.content_block
                if block.type == "tool_use":
                    delta = ToolCallDelta(
                        index=self._tool(event.index), id=_str(block.id), name=_str(block.name)
                    )
                    return Chunk(tool_calls=(delta,))
                if block.type == "text" and block.text:
                    return Chunk(text=_str(block.text))
            case "content_block_delta":
                delta = event.delta
                if delta.type == "text_delta":
                    text = _str(delta.text)
                    return Chunk(text=text) if text else None
                if delta.type == "input_json_delta":
                    piece = ToolCallDelta(
                        index=self._tool(event.index), arguments=_str(delta.partial_json)
                    )
                    return Chunk(tool_calls=(piece,))
            case "message_delta":
                self.stop_reason = event.delta.stop_reason or self.stop_reason
                # Anthropic reports cumulative counts here, and they are the
                # final word (0 included); newer servers add input_tokens too.
                usage = event.usage
                if usage.output_tokens is not None:
                    self.output_tokens = token_count(usage.output_tokens)
                if getattr(usage, "input_tokens", None) is not None:
                    self.prompt_tokens, self.cached_tokens = prompt_tokens_of(usage)
            case "message_stop":
                self.finished = True
                reason = self.stop_reason or "end_turn"
                return Chunk(
                    finish_reason=FINISH.get(reason, reason),
                    usage=Usage(
                        prompt_tokens=self.prompt_tokens,
                        completion_tokens=self.output_tokens,
                        cached_prompt_tokens=self.cached_tokens,
                    ),
                )
        # ping, content_block_stop, thinking deltas, event types added later:
        # nothing for us (Anthropic asks clients to ignore what they do not know).
        return None


def sse_event(kind: str, data: Mapping[str, object] | None = None) -> bytes:
    """One named SSE event whose data is `{"type": kind, **data}`."""
    payload = json.dumps({"type": kind, **(data or {})}, separators=(",", ":"))
    return f"event: {kind}\ndata: {payload}\n\n".encode()


def error_event(kind: str, message: str) -> bytes:
    """An error after the stream began (`overloaded_error`, `api_error`, ...)."""
    return sse_event("error", {"error": {"type": kind, "message": message}})


@attrs.define
class EventWriter:
    """Our Chunks as the events of one Messages stream.

    Text opens a text block, each new tool call (a delta with an id or a new
    index) a `tool_use` block, numbered in the order they open; a block is
    stopped when the next one starts or the stream ends. The finish reason
    and usage of the last chunks go out in `message_delta` at `end()`."""

    id: str
    model: str
    prompt_tokens: int = 0
    finish_reason: str | None = None
    usage: Usage | None = None
    cost: Cost | None = None  # known at the end; Anthropic's events carry none (kept for logs)
    _blocks: int = 0  # content blocks started so far
    _open: int | None = None  # the index of the block being streamed
    _open_text: bool = False
    _tool_blocks: dict[int, int] = attrs.field(factory=dict)  # tool-call index -> block

    def first(self) -> bytes:
        message: dict[str, object] = {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {**usage_to_wire(Usage(prompt_tokens=self.prompt_tokens)), "output_tokens": 1},
        }
        return sse_event("message_start", {"message": message})

    def _begin(self, block: Mapping[str, object], *, text: bool) -> bytes:
        out = b"" if self._open is None else sse_event("content_block_stop", {"index": self._open})
        out += sse_event("content_block_start", {"index": self._blocks, "content_block": block})
        if self._blocks == 0:  # as in Anthropic's documented example
            out += sse_event("ping")
        self._open, self._open_text = self._blocks, text
        self._blocks += 1
        return out

    def add(self, chunk: Chunk) -> bytes:
        """The events for `chunk` (b"" when it carries nothing to send now)."""
        if chunk.finish_reason is not None:
            self.finish_reason = chunk.finish_reason
        if chunk.usage is not None:
            self.usage = chunk.usage
        out = b""
        if chunk.text:
            if not self._open_text:
                out += self._begin({"type": "text", "text": ""}, text=True)
            delta = {"type": "text_delta", "text": chunk.text}
            out += sse_event("content_block_delta", {"index": self._open, "delta": delta})
        for piece in chunk.tool_calls:
            if piece.index not in self._tool_blocks:
                self._tool_blocks[piece.index] = self._blocks
                block = {
                    "type": "tool_use",
                    "id": piece.id or f"toolu_{piece.index}",
                    "name": piece.name or "",
                    "input": {},
                }
                out += self._begin(block, text=False)
            if piece.arguments:
                delta = {"type": "input_json_delta", "partial_json": piece.arguments}
                index = self._tool_blocks[piece.index]
                out += sse_event("content_block_delta", {"index": index, "delta": delta})
        return out

    def end(self) -> bytes:
        out = (
            sse_event("ping")
            if self._open is None
            else sse_event("content_block_stop", {"index": self._open})
        )
        reason = stop_reason(self.finish_reason, saw_tool_calls=bool(self._tool_blocks))
        # The final counts, cumulative, as Anthropic's message_delta carries them.
        usage = usage_to_wire(self.usage or Usage(prompt_tokens=self.prompt_tokens))
        out += sse_event(
            "message_delta",
            {"delta": {"stop_reason": reason, "stop_sequence": None}, "usage": usage},
        )
        return out + sse_event("message_stop")
