"""A chat page on FastAPI, served by Hypercorn's trio worker: answers stream
to the browser over SSE or a WebSocket, and stop as soon as the browser
goes away (or the person presses Stop) — the model call is cancelled, its
upstream connection closed.

    python examples/fastapi_chat.py            # http://127.0.0.1:8010/
    hypercorn --worker-class trio examples.fastapi_chat:app

The model is the embedded local one unless CHAT_PROVIDER / CHAT_MODEL /
CHAT_BASE_URL say otherwise (e.g. openai-compatible, a model name, a URL).

Under trio, a streamed answer runs inside the response's own task (not in
an async generator handed to StreamingResponse): the model's stream, its
timeout and its cancel scope then open and close in one task, and the task
that watches for the browser leaving cancels exactly that work.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio
from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send

from abstractcore_actors import LLM, open_runtime


def make_app(provider: str = "local", model: str | None = None, **options: Any) -> FastAPI:
    """The app, answering with `provider`/`model` (options as for `create_llm`)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The runtime lives as long as the app: its actors run in its nursery.
        async with open_runtime() as rt:
            app.state.llm = rt.create_llm(provider, model, **options)
            yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/", response_class=HTMLResponse)
    async def page() -> str:
        return PAGE

    @app.get("/chat/sse")
    async def chat_sse(prompt: str, request: Request) -> SSEAnswer:
        return SSEAnswer(request.app.state.llm, prompt)

    @app.websocket("/chat/ws")
    async def chat_ws(socket: WebSocket) -> None:
        await socket.accept()
        await converse(socket, socket.app.state.llm)

    return app


class SSEAnswer(Response):
    """The answer as SSE frames (`data: {"text": ...}`, then `data: [DONE]`),
    cancelled the moment the client disconnects."""

    def __init__(self, llm: LLM, prompt: str) -> None:
        super().__init__(media_type="text/event-stream")
        self.llm = llm
        self.prompt = prompt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        async with trio.open_nursery() as nursery:

            async def until_gone() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                nursery.cancel_scope.cancel()  # the browser left: stop the model

            nursery.start_soon(until_gone)
            async with self.llm.stream(self.prompt) as chunks:
                async for chunk in chunks:
                    if chunk.text:
                        await _frame(send, json.dumps({"text": chunk.text}))
            await _frame(send, "[DONE]", more=False)
            nursery.cancel_scope.cancel()


async def _frame(send: Send, data: str, more: bool = True) -> None:
    body = f"data: {data}\n\n".encode()
    await send({"type": "http.response.body", "body": body, "more_body": more})


async def converse(socket: WebSocket, llm: LLM) -> None:
    """Client: {"prompt": ...} or {"stop": true}. Server: {"text": ...} pieces,
    then {"done": true} (or {"stopped": true}). A new prompt or a stop ends
    the answer under way; a disconnect ends everything."""
    async with trio.open_nursery() as nursery:
        current: trio.CancelScope | None = None

        async def answer(prompt: str, task_status: trio.TaskStatus[trio.CancelScope]) -> None:
            with trio.CancelScope() as scope:
                task_status.started(scope)
                async with llm.stream(prompt) as chunks:
                    async for chunk in chunks:
                        if chunk.text:
                            await socket.send_json({"text": chunk.text})
                await socket.send_json({"done": True})
            if scope.cancelled_caught:
                await socket.send_json({"stopped": True})

        try:
            while True:
                message = await socket.receive_json()
                if current is not None:
                    current.cancel()
                if message.get("prompt"):
                    current = await nursery.start(answer, str(message["prompt"]))
        except WebSocketDisconnect:
            nursery.cancel_scope.cancel()  # the browser left: stop the model


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>chat</title>
<link rel="icon" href="data:,"></head>
<body>
<form id="ask"><input id="prompt" size="60" placeholder="Say something" required>
<button id="send">Send</button> <button id="stop" type="button">Stop</button></form>
<pre id="answer"></pre>
<script>
let source = null;
const answer = document.getElementById("answer");
document.getElementById("ask").addEventListener("submit", (event) => {
  event.preventDefault();
  if (source) source.close();
  answer.textContent = "";
  const prompt = document.getElementById("prompt").value;
  source = new EventSource("/chat/sse?prompt=" + encodeURIComponent(prompt));
  source.onmessage = (message) => {
    if (message.data === "[DONE]") { source.close(); answer.dataset.state = "done"; return; }
    answer.append(document.createTextNode(JSON.parse(message.data).text));
  };
});
// Stop: closing the EventSource closes the connection; the server cancels the call.
document.getElementById("stop").addEventListener("click", () => {
  if (source) { source.close(); answer.dataset.state = "stopped"; }
});
</script>
</body></html>
"""


def _from_env() -> FastAPI:
    options = {"base_url": os.environ["CHAT_BASE_URL"]} if os.environ.get("CHAT_BASE_URL") else {}
    return make_app(
        os.environ.get("CHAT_PROVIDER", "local"), os.environ.get("CHAT_MODEL"), **options
    )


app = _from_env()

if __name__ == "__main__":
    from hypercorn.config import Config
    from hypercorn.trio import serve

    config = Config()
    config.bind = ["127.0.0.1:8010"]
    print("chat on http://127.0.0.1:8010/")
    trio.run(serve, app, config)
