"""The OpenAI chat-completions wire format, as plain dicts.

Shared by the httpx adapter (`openai-compatible` servers) and kept
independent of the openai SDK's types, so any server that speaks the
documented protocol works, including ones that omit optional fields.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from ..types import (
    Chunk,
    GenerateResponse,
    Message,
    Request,
    TokenLogprob,
    ToolCall,
    ToolCallDelta,
    Usage,
)


def message_to_wire(message: Message) -> dict[str, Any]:
    wire: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        wire["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {
                    "name": call.name,
                    "arguments": call.raw_arguments or json.dumps(dict(call.arguments)),
                },
            }
            for call in message.tool_calls
        ]
        if not message.content:
            wire["content"] = None
    if message.role == "tool":
        wire["tool_call_id"] = message.tool_call_id
        if message.name:
            wire["name"] = message.name
    return wire


def request_body(request: Request, model: str, *, stream: bool) -> dict[str, Any]:
    """The JSON body of POST /chat/completions."""
    body: dict[str, Any] = {
        "model": model,
        "messages": [message_to_wire(m) for m in request.messages],
    }
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    if request.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description,
                    "parameters": dict(t.parameters),
                },
            }
            for t in request.tools
        ]
        if request.tool_choice in ("auto", "none", "required"):
            body["tool_choice"] = request.tool_choice
        elif request.tool_choice:  # a tool's name: OpenAI's wire form forces it
            body["tool_choice"] = {
                "type": "function",
                "function": {"name": request.tool_choice},
            }
    for key in ("temperature", "max_tokens", "top_p", "seed"):
        value = getattr(request, key)
        if value is not None:
            body[key] = value
    if request.stop:
        body["stop"] = list(request.stop)
    body.update(request.extra)
    return body


def usage_from_wire(usage: object) -> Usage | None:
    if not isinstance(usage, Mapping):
        return None
    return Usage(
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
    )


def logprobs_from_wire(choice: Mapping[str, Any]) -> tuple[TokenLogprob, ...]:
    """A choice's `logprobs.content` (OpenAI's shape) -> TokenLogprobs; () when absent."""
    content = (choice.get("logprobs") or {}).get("content") or ()
    return tuple(
        TokenLogprob(
            token=str(item["token"]),
            logprob=float(item["logprob"]),
            top=tuple(
                (str(alt["token"]), float(alt["logprob"])) for alt in item.get("top_logprobs") or ()
            ),
        )
        for item in content
    )


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


def response_from_wire(data: Mapping[str, Any]) -> GenerateResponse:
    """A `chat.completion` object -> GenerateResponse (KeyError etc. when malformed)."""
    choice = data["choices"][0]
    message = choice["message"]
    calls = tuple(
        ToolCall.from_raw(
            id=tc.get("id") or f"call_{i}",
            name=tc["function"]["name"],
            raw_arguments=tc["function"].get("arguments") or "",
        )
        for i, tc in enumerate(message.get("tool_calls") or [])
    )
    return GenerateResponse(
        content=message.get("content") or "",
        tool_calls=calls,
        finish_reason=choice.get("finish_reason"),
        usage=usage_from_wire(data.get("usage")) or Usage(),
        model=str(data.get("model") or ""),
        logprobs=logprobs_from_wire(choice),
    )


def error_message(body: object) -> str:
    """The human message of an OpenAI-shaped error body, or the raw text."""
    if isinstance(body, Mapping):
        err = body.get("error")
        if isinstance(err, Mapping) and err.get("message"):
            return str(err["message"])
        if isinstance(err, str):
            return err
    return str(body)[:500]


def error_code(body: object) -> str:
    if isinstance(body, Mapping):
        err = body.get("error")
        if isinstance(err, Mapping):
            return str(err.get("code") or err.get("type") or "")
    return ""


CUT_SHORT = "the stream ended before [DONE] or a finish_reason"


def estimate_prompt_tokens(request: Request) -> int:
    """A rough prompt size (4 characters a token, 4 tokens a message) for
    servers that report no usage; only ever used as `Usage(estimated=True)`."""
    chars = sum(len(m.content) for m in request.messages)
    return (chars + 3) // 4 + 4 * len(request.messages)


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
