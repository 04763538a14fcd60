"""The fake Anthropic server: the Messages API (JSON and SSE events)."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from typing import Any

from ._http import Exchange, FakeServer
from ._script import Fault, RecordedRequest, Reply, prompt_tokens


def _error_type(status: int) -> str:
    return {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        413: "request_too_large",
        429: "rate_limit_error",
        529: "overloaded_error",
    }.get(status, "api_error")


class FakeAnthropicServer(FakeServer):
    """Speaks POST /v1/messages as Anthropic documents it."""

    @property
    def base_url(self) -> str:
        """For `AsyncAnthropic(base_url=...)`: no /v1 (the SDK adds /v1/messages)."""
        return f"http://{self.host}:{self.port}"

    async def error(
        self, exchange: Exchange, status: int, message: str, retry_after: float | None = None
    ) -> None:
        headers = [("retry-after", f"{retry_after:g}")] if retry_after is not None else []
        body = {"type": "error", "error": {"type": _error_type(status), "message": message}}
        await exchange.json(status, body, headers)

    async def _dispatch(self, exchange: Exchange, request: RecordedRequest) -> None:
        # Anthropic documents x-api-key; recent SDKs send a bearer token instead.
        sent = {request.headers.get("x-api-key"), request.headers.get("authorization")}
        if self.api_key is not None and not sent & {self.api_key, f"Bearer {self.api_key}"}:
            await self.error(exchange, 401, "invalid x-api-key")
            return
        path = request.path.split("?")[0]
        if request.method == "POST" and path == "/v1/messages":
            await self._messages(exchange, request)
        else:
            await self.error(exchange, 404, f"no route {request.method} {path}")

    async def _messages(self, exchange: Exchange, request: RecordedRequest) -> None:
        body = request.json if isinstance(request.json, dict) else {}
        step = self.next_step(request)
        if isinstance(step, Fault) and step.kind == "status":
            await exchange.pause(step.ttft)
            await self.error(exchange, step.status_code, step.message, step.retry_after)
            return
        reply = step.scripted_reply() if isinstance(step, Fault) else step
        model = reply.model or str(body.get("model") or "claude-test")
        prompt = reply.usage.prompt_tokens if reply.usage else prompt_tokens(request)
        output = reply.usage.completion_tokens if reply.usage else max(len(reply.pieces()), 1)
        if body.get("stream"):
            await self._stream(exchange, step, reply, model, prompt, output)
        else:
            await self._complete(exchange, step, reply, model, prompt, output)

    async def _complete(
        self,
        exchange: Exchange,
        step: Reply | Fault,
        reply: Reply,
        model: str,
        prompt: int,
        output: int,
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
        content: list[dict[str, Any]] = []
        if reply.full_text:
            content.append({"type": "text", "text": reply.full_text})
        for i, call in enumerate(reply.tool_calls):
            content.append(
                {
                    "type": "tool_use",
                    "id": call.id or f"toolu_{i}",
                    "name": call.name,
                    "input": _input(call.arguments),
                }
            )
        message = {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": reply.anthropic_finish(),
            "stop_sequence": None,
            "usage": {"input_tokens": prompt, "output_tokens": output},
        }
        if isinstance(step, Fault) and step.kind == "truncate":
            await exchange.truncated_body(json.dumps(message).encode())
            return
        await exchange.json(200, message)

    async def _stream(
        self,
        exchange: Exchange,
        step: Reply | Fault,
        reply: Reply,
        model: str,
        prompt: int,
        output: int,
    ) -> None:
        def send(event: str, data: dict[str, Any]) -> Any:
            return exchange.sse(json.dumps({"type": event, **data}), event=event)

        pieces: list[Callable[[], Any]] = []
        block = 0
        texts = reply.pieces()
        if texts:

            async def open_text() -> None:
                await send(
                    "content_block_start",
                    {"index": 0, "content_block": {"type": "text", "text": ""}},
                )
                await send("ping", {})

            first_text = True
            for text in texts:
                delta = {"index": 0, "delta": {"type": "text_delta", "text": text}}

                async def text_piece(d: dict[str, Any] = delta, opening: bool = first_text) -> None:
                    if opening:
                        await open_text()
                    await send("content_block_delta", d)

                pieces.append(text_piece)
                first_text = False
            pieces.append(partial(send, "content_block_stop", {"index": 0}))
            block = 1
        for i, call in enumerate(reply.tool_calls):
            index = block + i
            start: dict[str, Any] = {
                "index": index,
                "content_block": {
                    "type": "tool_use",
                    "id": call.id or f"toolu_{i}",
                    "name": call.name,
                    "input": {},
                },
            }
            pieces.append(partial(send, "content_block_start", start))
            args = call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)
            for part in (args[: len(args) // 2], args[len(args) // 2 :]):
                delta = {
                    "index": index,
                    "delta": {"type": "input_json_delta", "partial_json": part},
                }
                pieces.append(partial(send, "content_block_delta", delta))
            pieces.append(partial(send, "content_block_stop", {"index": index}))

        async def begin() -> None:
            start: dict[str, Any] = {
                "message": {
                    "id": "msg_fake",
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": prompt, "output_tokens": 1},
                }
            }
            await send("message_start", start)

        async def finish() -> None:
            await send(
                "message_delta",
                {
                    "delta": {"stop_reason": reply.anthropic_finish(), "stop_sequence": None},
                    "usage": {"output_tokens": output},
                },
            )
            await send("message_stop", {})
            await exchange.end()

        async def error_event() -> None:
            message = step.message if isinstance(step, Fault) else "error"
            await send("error", {"error": {"type": "overloaded_error", "message": message}})

        # message_start goes out with the first piece, after the ttft pause
        if pieces:
            first = pieces[0]

            async def first_with_start() -> None:
                await begin()
                await first()

            pieces[0] = first_with_start
        else:
            finish_only = finish

            async def finish_with_start() -> None:
                await begin()
                await finish_only()

            finish = finish_with_start
        await self.play_stream(exchange, step, pieces, finish=finish, error_event=error_event)


def _input(arguments: object) -> object:
    if isinstance(arguments, str):
        try:
            return json.loads(arguments)
        except ValueError:
            return {"_raw": arguments}
    return arguments
