"""Our answers in OpenAI's wire format: `chat.completion` and `chat.completion.chunk`."""

from __future__ import annotations

import json
from typing import Any

import attrs

from ..types import Chunk, GenerateResponse, TokenLogprob, ToolCallDelta, Usage


def usage_to_wire(usage: Usage) -> dict[str, int | bool]:
    """OpenAI's usage object; `"estimated": true` (our extension field, which
    clients ignore) when some count is ours, not the upstream's — e.g. a
    llama.cpp stream, which carries no usage."""
    wire: dict[str, int | bool] = {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }
    if usage.estimated:
        wire["estimated"] = True
    return wire


def logprobs_to_wire(logprobs: tuple[TokenLogprob, ...]) -> dict[str, Any] | None:
    """TokenLogprobs -> a choice's `logprobs` object (None when there are none)."""
    if not logprobs:
        return None
    return {
        "content": [
            {
                "token": lp.token,
                "logprob": lp.logprob,
                "bytes": list(lp.token.encode("utf-8", "surrogatepass")),
                "top_logprobs": [
                    {
                        "token": token,
                        "logprob": value,
                        "bytes": list(token.encode("utf-8", "surrogatepass")),
                    }
                    for token, value in lp.top
                ],
            }
            for lp in logprobs
        ],
        "refusal": None,
    }


def completion(response: GenerateResponse, *, id: str, model: str, created: int) -> dict[str, Any]:
    """A whole answer as a `chat.completion` object."""
    message: dict[str, Any] = {"role": "assistant", "content": response.content}
    if response.tool_calls:
        message["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {
                    "name": call.name,
                    "arguments": call.raw_arguments or json.dumps(dict(call.arguments)),
                },
            }
            for call in response.tool_calls
        ]
        message["content"] = response.content or None
    finish = response.finish_reason or ("tool_calls" if response.tool_calls else "stop")
    return {
        "id": id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": finish,
                "logprobs": logprobs_to_wire(response.logprobs),
            }
        ],
        "usage": usage_to_wire(response.usage),
        "system_fingerprint": None,
    }


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
        if chunk.logprobs:
            choices = self._choice({"content": chunk.text} if chunk.text else {})
            choices[0]["logprobs"] = logprobs_to_wire(chunk.logprobs)
            return self._frame(choices)
        if chunk.text and not chunk.tool_calls:
            return self._text_head + json.dumps(chunk.text).encode() + self._text_tail
        delta: dict[str, Any] = {}
        if chunk.text:
            delta["content"] = chunk.text
        if chunk.tool_calls:
            self.saw_tool_calls = True
            delta["tool_calls"] = [_tool_delta(d) for d in chunk.tool_calls]
        return self._frame(self._choice(delta)) if delta else b""

    def end(self) -> bytes:
        finish = self.finish_reason or ("tool_calls" if self.saw_tool_calls else "stop")
        out = self._frame(self._choice({}, finish))
        if self.include_usage:
            out += self._frame([], usage=usage_to_wire(self.usage or Usage()))
        return out + b"data: [DONE]\n\n"


def error_frame(body: dict[str, Any]) -> bytes:
    """An error after the stream began: OpenAI sends it as a data frame."""
    return b"data: " + json.dumps(body).encode() + b"\n\n"
