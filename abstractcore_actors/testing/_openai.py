"""The fake OpenAI server: chat completions (JSON and SSE), models, embeddings.

Bodies and chunks follow OpenAI's API reference, encoded by the same codec as
the gateway's answers (`_wire.openai_chat`): a `chat.completion` object, or
`chat.completion.chunk` events (`data: {...}`): a role-only first frame
(`{"role": "assistant", "content": ""}`, as OpenAI sends), tool calls as
`tool_calls` deltas with an `index`, `finish_reason` on the last choice
chunk, a usage chunk with `choices: []` when the request asks for
`stream_options.include_usage`, then `data: [DONE]`.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import deque
from collections.abc import Mapping
from typing import Any, final

import attrs
import trio

from .._wire.openai_chat import response_to_wire
from .._wire.openai_chat_stream import ChunkWriter, error_frame
from .._wire.openai_embeddings import response_to_wire as embeddings_to_wire
from ..types import (
    Chunk,
    EmbeddingResponse,
    GenerateResponse,
    TokenLogprob,
    ToolCall,
    ToolCallDelta,
    Usage,
)
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
    reply_usage,
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
    #: seconds every embeddings request takes before its answer (a real API's
    #: round trip, whatever the number of inputs)
    embedding_latency: float = attrs.field(default=0.0, init=False)

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
                if self.embedding_latency:
                    await trio.sleep(self.embedding_latency)
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
        usage = reply_usage(reply, request)
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


def token_logprobs(pieces: list[str], top: int | None) -> tuple[TokenLogprob, ...]:
    """One token per text piece (none unless asked: `top` is None).

    Deterministic so that tests can state them: piece i has logprob
    `-(i + 1) / 100`; its alternatives are the piece itself, then
    `"<piece>~k"` one nat less likely each."""
    if top is None:
        return ()
    return tuple(
        TokenLogprob(
            token=piece,
            logprob=-(i + 1) / 100,
            top=tuple(
                (piece if k == 0 else f"{piece}~{k}", -(i + 1) / 100 - k) for k in range(top)
            ),
        )
        for i, piece in enumerate(pieces)
    )


def _completion(
    reply: Reply, model: str, usage: Usage, top: int | None = None
) -> dict[str, object]:
    calls = tuple(
        ToolCall.from_raw(
            id=call.id or f"call_{i}", name=call.name, raw_arguments=arguments_text(call)
        )
        for i, call in enumerate(reply.tool_calls)
    )
    response = GenerateResponse(
        content=reply.full_text,
        tool_calls=calls,
        finish_reason=reply.openai_finish(),
        usage=usage,
        logprobs=token_logprobs(reply.pieces(), top),
    )
    wire = response_to_wire(response, id="chatcmpl-fake", model=model, created=int(time.time()))
    wire["choices"][0]["message"]["refusal"] = None
    return wire


def _chunk(unit: Unit, logprobs: tuple[TokenLogprob, ...]) -> Chunk:
    match unit:
        case TextPiece(text=text):
            return Chunk(text=text, logprobs=logprobs)
        case ToolStart(index=index, call=call):
            delta = ToolCallDelta(index=index, id=call.id or f"call_{index}", name=call.name)
            return Chunk(tool_calls=(delta,))
        case ArgsPiece(index=index, text=text):
            return Chunk(tool_calls=(ToolCallDelta(index=index, arguments=text),))


def _stream_plan(
    reply: Reply, model: str, usage: Usage | None, step: Step, top: int | None = None
) -> StreamPlan:
    """The frames through the gateway's own encoder (`ChunkWriter`): OpenAI's
    order, with a role-only first frame as OpenAI sends; each text piece is
    one token, and its frame carries that token's logprobs when asked for."""
    writer = ChunkWriter(
        id="chatcmpl-fake", model=model, created=int(time.time()), include_usage=usage is not None
    )
    tokens = iter(token_logprobs(reply.pieces(), top))
    chunks = []
    for unit in stream_units(reply):
        logprobs = (next(tokens),) if top is not None and isinstance(unit, TextPiece) else ()
        chunks.append(writer.add(_chunk(unit, logprobs)))
    writer.add(Chunk(finish_reason=reply.openai_finish(), usage=usage))
    message = step.message if not isinstance(step, Reply) else "error"
    error = {"error": {"message": message, "type": "server_error", "code": None, "param": None}}
    return StreamPlan(
        head=writer.first(),
        chunks=chunks,
        tail=writer.end(),
        error=error_frame(error),
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
    vectors = []
    for text in texts:
        digest = hashlib.sha256(str(text).encode()).digest()
        vectors.append(tuple((byte - 128) / 128 for byte in digest[:size]))
    words = sum(len(str(text).split()) for text in texts)
    response = EmbeddingResponse(vectors=tuple(vectors), usage=Usage(prompt_tokens=words))
    model = str(body.get("model") or "text-embedding-3-small")
    encoding = "base64" if body.get("encoding_format") == "base64" else "float"
    return embeddings_to_wire(response, model=model, encoding=encoding)
