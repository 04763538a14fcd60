"""The fake OpenAI server: chat completions (JSON and SSE), models, embeddings.

Bodies and chunks follow OpenAI's API reference: a `chat.completion` object,
or `chat.completion.chunk` events (`data: {...}`), the role on the first
chunk, tool calls as `tool_calls` deltas with an `index`, `finish_reason` on
the last choice chunk, a usage chunk with `choices: []` when the request
asks for `stream_options.include_usage`, then `data: [DONE]`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import time
from collections import deque
from collections.abc import Mapping
from typing import Any, final

import attrs

from ._http import Exchange, FakeServer, StreamPlan
from ._script import (
    ArgsPiece,
    Fault,
    RecordedRequest,
    Reply,
    Step,
    TextPiece,
    ToolStart,
    Unit,
    arguments_text,
    completion_tokens,
    prompt_tokens,
    stream_units,
)

MODELS = ("gpt-test", "gpt-4o-mini", "text-embedding-3-small")

# OpenAI's `error.type` for the statuses it documents; others are server errors.
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "invalid_request_error",
    404: "invalid_request_error",
    409: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_exceeded",
}
_ERROR_CODES = {401: "invalid_api_key", 429: "rate_limit_exceeded"}


@final
@attrs.define(eq=False)
class FakeOpenAIServer(FakeServer):
    """Serves `POST /v1/chat/completions`, `GET /v1/models` and `POST /v1/embeddings`.

    Make one with `open_fake_openai_server`."""

    overloaded_status = 500
    request_id_header = "x-request-id"
    #: faults for the next embeddings requests, one each, in order (see push_embedding)
    embedding_faults: deque[Fault] = attrs.field(factory=deque, init=False)

    def push_embedding(self, *faults: Fault) -> None:
        """Act out `faults` on the next embeddings requests, one per request
        (a `stall` delays the answer; `status`, `reset`, `malformed`, ... fail it).
        Chat requests never use them."""
        self.embedding_faults.extend(faults)

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>/v1` — for `AsyncOpenAI(base_url=...)` and other
        OpenAI-compatible clients, which append `/chat/completions`."""
        return f"{self.origin}/v1"

    def error_body(self, status: int, message: str) -> Mapping[str, object]:
        return {
            "error": {
                "message": message,
                "type": _ERROR_TYPES.get(status, "server_error"),
                "code": _ERROR_CODES.get(status),
                "param": None,
            }
        }

    async def handle(self, exchange: Exchange, request: RecordedRequest) -> None:
        key = self.api_key
        if key is not None and request.headers.get("authorization") != f"Bearer {key}":
            await self.send_error(exchange, 401, "Incorrect API key provided.")
            return
        route = (request.method, request.path.partition("?")[0].rstrip("/"))
        match route:
            case ("POST", "/v1/chat/completions"):
                await self._chat(exchange, request)
            case ("GET", "/v1/models"):
                data = [
                    {"id": name, "object": "model", "created": 0, "owned_by": "fake"}
                    for name in MODELS
                ]
                raw = json.dumps({"object": "list", "data": data}).encode()
                await exchange.respond(200, raw, self.headers())
            case ("POST", "/v1/embeddings"):
                if self.embedding_faults:
                    fault = self.embedding_faults.popleft()
                    await self.play_complete(exchange, fault, _embeddings(request))
                else:
                    raw = json.dumps(_embeddings(request)).encode()
                    await exchange.respond(200, raw, self.headers())
            case _:
                message = f"Invalid URL ({request.method} {route[1]})"
                await self.send_error(exchange, 404, message)

    async def _chat(self, exchange: Exchange, request: RecordedRequest) -> None:
        body = request.json if isinstance(request.json, Mapping) else {}
        step = self.next_step(request)
        reply = step.scripted_reply() if not isinstance(step, Reply) else step
        model = reply.model or str(body.get("model") or "gpt-test")
        prompt = reply.usage.prompt_tokens if reply.usage else prompt_tokens(request)
        completion = completion_tokens(reply)
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
        top = _top_logprobs(body)
        if body.get("stream"):
            options = body.get("stream_options")
            with_usage = (
                reply.stream_usage
                and isinstance(options, Mapping)
                and bool(options.get("include_usage"))
            )
            plan = _stream_plan(reply, model, usage if with_usage else None, step, top)
            await self.play_stream(exchange, step, plan)
        else:
            await self.play_complete(exchange, step, _completion(reply, model, usage, top))


def _top_logprobs(body: Mapping[str, Any]) -> int | None:
    """How many alternatives per token the request asked for; None: no logprobs."""
    if body.get("logprobs") is not True:
        return None
    top = body.get("top_logprobs")
    return top if isinstance(top, int) and top > 0 else 0


def token_logprobs(pieces: list[str], top: int | None) -> dict[str, object] | None:
    """A choice's `logprobs` (OpenAI's shape), one token per text piece.

    Deterministic so that tests can state them: piece i has logprob
    `-(i + 1) / 100`; its alternatives are the piece itself, then
    `"<piece>~k"` one nat less likely each."""
    if top is None:
        return None
    content = []
    for i, piece in enumerate(pieces):
        logprob = -(i + 1) / 100
        alts = [(piece if k == 0 else f"{piece}~{k}", logprob - k) for k in range(top)]
        content.append(
            {
                "token": piece,
                "logprob": logprob,
                "bytes": list(piece.encode()),
                "top_logprobs": [
                    {"token": t, "logprob": lp, "bytes": list(t.encode())} for t, lp in alts
                ],
            }
        )
    return {"content": content, "refusal": None}


def _completion(
    reply: Reply, model: str, usage: dict[str, int], top: int | None = None
) -> dict[str, object]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": reply.full_text or None,
        "refusal": None,
    }
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": call.id or f"call_{i}",
                "type": "function",
                "function": {"name": call.name, "arguments": arguments_text(call)},
            }
            for i, call in enumerate(reply.tool_calls)
        ]
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": token_logprobs(reply.pieces(), top),
                "finish_reason": reply.openai_finish(),
            }
        ],
        "usage": usage,
    }


def _delta(unit: Unit) -> dict[str, object]:
    match unit:
        case TextPiece(text=text):
            return {"content": text}
        case ToolStart(index=index, call=call):
            head = {
                "index": index,
                "id": call.id or f"call_{index}",
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            return {"tool_calls": [head]}
        case ArgsPiece(index=index, text=text):
            return {"tool_calls": [{"index": index, "function": {"arguments": text}}]}


def _stream_plan(
    reply: Reply, model: str, usage: dict[str, int] | None, step: Step, top: int | None = None
) -> StreamPlan:
    created = int(time.time())

    def frame(choices: list[object], **extra: object) -> bytes:
        chunk: dict[str, object] = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": choices,
        }
        if usage is not None:
            # with include_usage, OpenAI sends `"usage": null` on every chunk but the last
            chunk["usage"] = None
        chunk.update(extra)
        return b"data: " + json.dumps(chunk).encode() + b"\n\n"

    def choice(
        delta: dict[str, object], finish: str | None = None, logprobs: object = None
    ) -> list[object]:
        return [{"index": 0, "delta": delta, "logprobs": logprobs, "finish_reason": finish}]

    units = stream_units(reply)
    # each text piece is one token; its chunk carries that token's logprobs
    whole = token_logprobs(reply.pieces(), top)
    tokens = iter(whole["content"] if whole else ())  # type: ignore[call-overload]

    def piece_logprobs(unit: Unit) -> object:
        if whole is None or not isinstance(unit, TextPiece):
            return None
        return {"content": [next(tokens)], "refusal": None}

    deltas = [_delta(unit) for unit in units]
    if deltas:  # the role rides on the first chunk, whatever else it carries
        deltas[0] = {"role": "assistant", "content": None, **deltas[0]}
    finish = choice({} if deltas else {"role": "assistant", "content": ""}, reply.openai_finish())
    tail = frame(finish)
    if usage is not None:
        tail += frame([], usage=usage)
    message = step.message if not isinstance(step, Reply) else "error"
    error = {"error": {"message": message, "type": "server_error", "code": None, "param": None}}
    return StreamPlan(
        head=b"",
        chunks=[
            frame(choice(delta, logprobs=piece_logprobs(unit)))
            for delta, unit in zip(deltas, units, strict=True)
        ],
        tail=tail + b"data: [DONE]\n\n",
        error=b"data: " + json.dumps(error).encode() + b"\n\n",
        malformed=b"data: {not json\n\n",
    )


def _embeddings(request: RecordedRequest) -> dict[str, object]:
    """Deterministic vectors: 8 floats in [-1, 1) from a SHA-256 of each input
    (`dimensions` floats, up to 32, when the request asks).

    The openai SDK asks for `encoding_format: "base64"` unless told otherwise
    (little-endian float32, which it decodes); these values are exact in float32,
    so both formats give the same floats."""
    body = request.json if isinstance(request.json, Mapping) else {}
    raw = body.get("input", "")
    texts = [raw] if isinstance(raw, str) else list(raw) if isinstance(raw, list) else [raw]
    if texts and all(isinstance(t, int) for t in texts):
        texts = [texts]  # one array of token ids is one input
    size = body.get("dimensions")
    size = size if isinstance(size, int) and 1 <= size <= 32 else 8
    data = []
    for i, text in enumerate(texts):
        digest = hashlib.sha256(str(text).encode()).digest()
        vector = [(byte - 128) / 128 for byte in digest[:size]]
        embedding: object = vector
        if body.get("encoding_format") == "base64":
            embedding = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        data.append({"object": "embedding", "index": i, "embedding": embedding})
    words = sum(len(str(text).split()) for text in texts)
    return {
        "object": "list",
        "data": data,
        "model": str(body.get("model") or "text-embedding-3-small"),
        "usage": {"prompt_tokens": words, "total_tokens": words},
    }
