"""OpenAI's chat-completions stream (`chat.completion.chunk` SSE frames), both ways:
`chunk_from_wire` + `FinalChunk` decode an upstream's frames into our Chunks,
`ChunkWriter` encodes our Chunks as the frames a client reads."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from ..types import Chunk, Cost, ToolCallDelta, Usage
from .openai_chat import logprobs_from_wire, logprobs_to_wire, usage_from_wire, usage_to_wire


def chunk_from_wire(data: Mapping[str, Any]) -> Chunk | None:
    """One `chat.completion.chunk` -> a Chunk (None when it carries nothing).

    Raises KeyError/TypeError/ValueError on a malformed chunk; the caller
    maps those to InvalidResponse.
    """
    raw_usage = data.get("usage")
    usage = None if raw_usage is None else usage_from_wire(raw_usage)
    choices = data.get("choices") or []
    if not choices:
        return Chunk(usage=usage) if usage else None
    choice = choices[0]
    delta = choice.get("delta") or {}
    text = delta.get("content") or ""
    finish = choice.get("finish_reason")
    logprobs = logprobs_from_wire(choice) if choice.get("logprobs") else ()
    if text and finish is None and usage is None and not logprobs and not delta.get("tool_calls"):
        return Chunk(text=text)  # a text delta, most of any stream
    deltas: tuple[ToolCallDelta, ...] = ()
    if delta.get("tool_calls"):
        deltas = tuple(
            ToolCallDelta(
                index=int(tc.get("index", i)),
                id=tc.get("id"),
                name=(tc.get("function") or {}).get("name"),
                arguments=(tc.get("function") or {}).get("arguments") or "",
            )
            for i, tc in enumerate(delta["tool_calls"])
        )
    if not text and not deltas and finish is None and usage is None and not logprobs:
        return None
    return Chunk(text=text, tool_calls=deltas, finish_reason=finish, usage=usage, logprobs=logprobs)


class FinalChunk:
    """Hold the finish_reason chunk until the usage-only chunk that OpenAI sends
    after it (with `stream_options.include_usage`), so that our last chunk
    carries both, as the Chunk contract promises.

    Some OpenAI-compatible servers (llama.cpp's, older vLLM and Ollama) ignore
    `include_usage`: then the last chunk carries an estimate instead of
    nothing — one completion token per streamed piece (exact for servers that
    stream token by token) and `prompt_estimate` — so budgets and metrics
    never count such a call as free.
    """

    __slots__ = ("_pending", "_pieces", "_prompt_estimate", "_usage_seen", "finished")

    def __init__(self, prompt_estimate: int = 0) -> None:
        self._pending: Chunk | None = None
        self._pieces = 0
        self._prompt_estimate = prompt_estimate
        self._usage_seen = False
        self.finished = False  # a finish_reason was seen: the stream was not cut short

    def feed(self, chunk: Chunk) -> tuple[Chunk, ...] | list[Chunk]:
        """Chunks ready to yield after seeing `chunk`."""
        if self._pending is None and chunk.finish_reason is None:
            # the common case, a content delta: it passes through as it is
            if chunk.usage is not None:
                self._usage_seen = True
            if chunk.text or chunk.tool_calls:
                self._pieces += 1
            return (chunk,)
        self.finished = self.finished or chunk.finish_reason is not None
        self._usage_seen = self._usage_seen or chunk.usage is not None
        if chunk.text or chunk.tool_calls:
            self._pieces += 1
        out: list[Chunk] = []
        if self._pending is not None:
            if chunk.usage is not None and not chunk.text and not chunk.tool_calls:
                merged = Chunk(
                    text=self._pending.text,
                    tool_calls=self._pending.tool_calls,
                    finish_reason=self._pending.finish_reason,
                    usage=chunk.usage,
                )
                self._pending = None
                return [merged]
            out.append(self._pending)
            self._pending = None
        if chunk.finish_reason is not None and chunk.usage is None:
            self._pending = chunk
        else:
            out.append(chunk)
        return out

    def flush(self) -> list[Chunk]:
        """What is left at the end of the stream (check `finished` first)."""
        pending, self._pending = self._pending, None
        if pending is None:
            return []
        if not self._usage_seen:
            pending = attrs.evolve(
                pending,
                usage=Usage(
                    prompt_tokens=self._prompt_estimate,
                    completion_tokens=self._pieces,
                    estimated=True,
                ),
            )
        return [pending]


def _tool_delta(delta: ToolCallDelta) -> dict[str, Any]:
    wire: dict[str, Any] = {"index": delta.index}
    function: dict[str, Any] = {"arguments": delta.arguments}
    if delta.id is not None:
        wire["id"] = delta.id
        wire["type"] = "function"
    if delta.name is not None:
        function["name"] = delta.name
    wire["function"] = function
    return wire


@attrs.define(kw_only=True)
class ChunkWriter:
    """Turns our Chunks into the `data:` frames of one SSE answer, in OpenAI's order:
    a first chunk with the role, content / tool-call deltas, a finish chunk, then
    (with include_usage) a usage chunk with no choices, then `[DONE]`."""

    id: str
    model: str
    created: int
    include_usage: bool
    finish_reason: str | None = None
    usage: Usage | None = None
    cost: Cost | None = None  # set by the writer's owner before `end()`, when known
    saw_tool_calls: bool = False
    # A text-only chunk's frame is this head + the JSON string + this tail: its
    # other fields never change within a stream, and encoding them once instead
    # of per chunk is most of the cost of a frame.
    _text_head: bytes = attrs.field(init=False, default=b"")
    _text_tail: bytes = attrs.field(init=False, default=b"")

    def __attrs_post_init__(self) -> None:
        empty = self._frame(self._choice({"content": ""}))
        # "choices" follows id and model, so the last match is the delta's own
        head, _, tail = empty.rpartition(b'"content":""')
        self._text_head, self._text_tail = head + b'"content":', tail

    def _frame(self, choices: list[dict[str, Any]], **extra: Any) -> bytes:
        obj: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
            "choices": choices,
        }
        if self.include_usage:
            obj["usage"] = None
        obj.update(extra)
        return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"

    def _choice(self, delta: dict[str, Any], finish: str | None = None) -> list[dict[str, Any]]:
        return [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]

    def first(self) -> bytes:
        return self._frame(self._choice({"role": "assistant", "content": ""}))

    def add(self, chunk: Chunk) -> bytes:
        """The frame for `chunk` (b"" when it carries nothing to send now)."""
        if chunk.finish_reason is not None:
            self.finish_reason = chunk.finish_reason
        if chunk.usage is not None:
            self.usage = chunk.usage
        if chunk.text and not chunk.tool_calls and not chunk.logprobs:
            return self._text_head + json.dumps(chunk.text).encode() + self._text_tail
        delta: dict[str, Any] = {}
        if chunk.text:
            delta["content"] = chunk.text
        if chunk.tool_calls:
            self.saw_tool_calls = True
            delta["tool_calls"] = [_tool_delta(d) for d in chunk.tool_calls]
        if not delta and not chunk.logprobs:
            return b""
        choices = self._choice(delta)
        if chunk.logprobs:  # beside the delta, never instead of its tool calls
            choices[0]["logprobs"] = logprobs_to_wire(chunk.logprobs)
        return self._frame(choices)

    def end(self) -> bytes:
        finish = self.finish_reason or ("tool_calls" if self.saw_tool_calls else "stop")
        out = self._frame(self._choice({}, finish))
        if self.include_usage:
            out += self._frame([], usage=usage_to_wire(self.usage or Usage(), self.cost))
        return out + b"data: [DONE]\n\n"


def error_frame(body: dict[str, Any]) -> bytes:
    """An error after the stream began: OpenAI sends it as a data frame."""
    return b"data: " + json.dumps(body).encode() + b"\n\n"
