"""The fake OpenAI server: chat completions (JSON and SSE), models, embeddings."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from ._http import Exchange, FakeServer
from ._script import Fault, RecordedRequest, Reply, prompt_tokens


def _error_type(status: int) -> str:
    return {
        400: "invalid_request_error",
        401: "invalid_api_key",
        403: "permission_denied",
        404: "not_found",
        429: "rate_limit_exceeded",
    }.get(status, "server_error")


class FakeOpenAIServer(FakeServer):
    """Speaks POST /v1/chat/completions, GET /v1/models, POST /v1/embeddings."""

    @property
    def base_url(self) -> str:
        """For `AsyncOpenAI(base_url=...)` and OpenAI-compatible clients: ends in /v1."""
        return f"http://{self.host}:{self.port}/v1"

    async def error(
        self, exchange: Exchange, status: int, message: str, retry_after: float | None = None
    ) -> None:
        headers = [("retry-after", f"{retry_after:g}")] if retry_after is not None else []
        body = {
            "error": {"message": message, "type": _error_type(status), "code": None, "param": None}
        }
        await exchange.json(status, body, headers)

    async def _dispatch(self, exchange: Exchange, request: RecordedRequest) -> None:
        if self.api_key is not None:
            auth = request.headers.get("authorization", "")
            if auth != f"Bearer {self.api_key}":
                await self.error(exchange, 401, "Incorrect API key provided.")
                return
        path = request.path.split("?")[0]
        if request.method == "GET" and path == "/v1/models":
            data = [{"id": "gpt-test", "object": "model", "created": 0, "owned_by": "fake"}]
            await exchange.json(200, {"object": "list", "data": data})
        elif request.method == "POST" and path == "/v1/embeddings":
            await exchange.json(200, _embeddings(request))
        elif request.method == "POST" and path == "/v1/chat/completions":
            await self._chat(exchange, request)
        else:
            await self.error(exchange, 404, f"no route {request.method} {path}")

    async def _chat(self, exchange: Exchange, request: RecordedRequest) -> None:
        body = request.json if isinstance(request.json, dict) else {}
        step = self.next_step(request)
        if isinstance(step, Fault) and step.kind == "status":
            await exchange.pause(step.ttft)
            await self.error(exchange, step.status_code, step.message, step.retry_after)
            return
        reply = step.scripted_reply() if isinstance(step, Fault) else step
        model = reply.model or str(body.get("model") or "gpt-test")
        usage = reply.usage
        prompt = usage.prompt_tokens if usage else prompt_tokens(request)
        completion = usage.completion_tokens if usage else max(len(reply.pieces()), 1)
        usage_json = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
        if body.get("stream"):
            await self._stream(exchange, step, reply, model, usage_json, body)
        else:
            await self._complete(exchange, step, reply, model, usage_json)

    async def _complete(
        self,
        exchange: Exchange,
        step: Reply | Fault,
        reply: Reply,
        model: str,
        usage: dict[str, int],
    ) -> None:
        await exchange.pause(step.ttft if isinstance(step, Fault) else reply.ttft)
        if isinstance(step, Fault):
            match step.kind:
                case "reset":
                    await exchange.reset()
                    return
                case "malformed":
                    await exchange.raw(200, b"{not json")
                    return
                case "stall":
                    await exchange.pause(step.seconds)
        message: dict[str, Any] = {"role": "assistant", "content": reply.full_text or None}
        if reply.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call.id or f"call_{i}",
                    "type": "function",
                    "function": {"name": call.name, "arguments": _arguments(call.arguments)},
                }
                for i, call in enumerate(reply.tool_calls)
            ]
        completion = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": reply.openai_finish()}],
            "usage": usage,
        }
        if isinstance(step, Fault) and step.kind == "truncate":
            await exchange.truncated_body(json.dumps(completion).encode())
            return
        await exchange.json(200, completion)

    async def _stream(
        self,
        exchange: Exchange,
        step: Reply | Fault,
        reply: Reply,
        model: str,
        usage: dict[str, int],
        body: dict[str, Any],
    ) -> None:
        created = int(time.time())

        def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
            return json.dumps(
                {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                }
            )

        pieces: list[Callable[[], Any]] = []
        texts = reply.pieces()
        for n, text in enumerate(texts):
            delta = {"role": "assistant", "content": text} if n == 0 else {"content": text}
            pieces.append(partial(exchange.sse, chunk(delta)))
        for i, call in enumerate(reply.tool_calls):
            head = {
                "index": i,
                "id": call.id or f"call_{i}",
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            pieces.append(partial(exchange.sse, chunk({"tool_calls": [head]})))
            args = _arguments(call.arguments)
            for part in (args[: len(args) // 2], args[len(args) // 2 :]):
                tail = {"index": i, "function": {"arguments": part}}
                pieces.append(partial(exchange.sse, chunk({"tool_calls": [tail]})))

        async def finish() -> None:
            await exchange.sse(chunk({}, reply.openai_finish()))
            if (body.get("stream_options") or {}).get("include_usage"):
                tail = {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [],
                    "usage": usage,
                }
                await exchange.sse(json.dumps(tail))
            await exchange.sse("[DONE]")
            await exchange.end()

        async def error_event() -> None:
            message = step.message if isinstance(step, Fault) else "error"
            await exchange.sse(json.dumps({"error": {"message": message, "type": "server_error"}}))

        await self.play_stream(exchange, step, pieces, finish=finish, error_event=error_event)


def _arguments(arguments: object) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments)


def _embeddings(request: RecordedRequest) -> dict[str, Any]:
    body = request.json if isinstance(request.json, dict) else {}
    inputs = body.get("input", "")
    texts = [inputs] if isinstance(inputs, str) else list(inputs)
    data = []
    for i, text in enumerate(texts):
        digest = hashlib.sha256(str(text).encode()).digest()
        data.append(
            {
                "object": "embedding",
                "index": i,
                "embedding": [(b - 128) / 128 for b in digest[:8]],
            }
        )
    return {
        "object": "list",
        "data": data,
        "model": body.get("model", "embed-test"),
        "usage": {"prompt_tokens": len(texts), "total_tokens": len(texts)},
    }
