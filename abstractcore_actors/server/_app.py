"""`make_app(rt, config)`: the gateway as a plain ASGI app (http + lifespan)."""

from __future__ import annotations

import time
from typing import final

from ..runtime import Runtime
from ._chat import chat_completions, to_http
from ._config import GatewayConfig
from ._console import is_console, send_console
from ._embeddings import embeddings
from ._errors import HTTPError
from ._events_ws import EventsEndpoint
from ._http import ClientGone, Receive, Scope, Send, header, send_error, send_json
from ._routing import Router


def _unauthorized(message: str) -> HTTPError:
    return HTTPError(
        401,
        message,
        code="invalid_api_key",
        headers=[(b"www-authenticate", b'Bearer realm="abstractcore-actors"')],
    )


@final
class GatewayApp:
    """The ASGI callable. Made by `make_app`; every request is answered in the
    server's task for it, so cancelling the server cancels every request."""

    def __init__(self, rt: Runtime, config: GatewayConfig) -> None:
        self.rt = rt
        self.config = config
        self.router = Router(rt, config)
        self.events = EventsEndpoint(rt, config)
        self.created = int(time.time())

    def __repr__(self) -> str:
        return f"<GatewayApp {self.config!r}>"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "http":
            await self._http(scope, receive, send)
        elif kind == "websocket":
            await self.events(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _check_key(self, scope: Scope) -> None:
        if not self.config.auth_required:
            return
        value = header(scope, b"authorization")
        if value is None:
            raise _unauthorized("missing API key: send the header 'Authorization: Bearer <key>'")
        scheme, _, key = value.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not self.config.key_allowed(key.strip()):
            raise _unauthorized("invalid API key")

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"].rstrip("/") or "/"
        method = scope["method"]
        try:
            if path == "/health":
                self._allow(method, "GET", "HEAD")
                await send_json(send, 200, {"status": "ok"})
                return
            if is_console(path):
                await send_console(send, path, method)
                return
            if not path.startswith("/v1/"):
                raise self._not_found(path)
            self._check_key(scope)
            if path == "/v1/chat/completions":
                self._allow(method, "POST")
                await chat_completions(scope, receive, send, self.router, self.config)
            elif path == "/v1/embeddings":
                self._allow(method, "POST")
                await embeddings(scope, receive, send, self.router, self.config)
            elif path == "/v1/models":
                self._allow(method, "GET")
                await send_json(send, 200, self._models())
            else:
                raise self._not_found(path)
        except ClientGone:
            return
        except HTTPError as error:
            await send_error(send, error)
        except Exception as exc:
            await send_error(send, to_http(exc))

    def _allow(self, method: str, *allowed: str) -> None:
        if method not in allowed:
            raise HTTPError(
                405,
                f"method {method} is not allowed here (use {' or '.join(allowed)})",
                code="method_not_allowed",
                headers=[(b"allow", ", ".join(allowed).encode())],
            )

    def _not_found(self, path: str) -> HTTPError:
        return HTTPError(
            404,
            f"no such endpoint: {path} (try /v1/chat/completions, /v1/embeddings, "
            "/v1/models, /v1/events (WebSocket), /health, or / for the console)",
            code="not_found",
        )

    def _models(self) -> dict[str, object]:
        data = []
        for name in self.config.public_names():
            target = self.config.aliases.get(name, name)
            route = self.config.models[target]
            data.append(
                {"id": name, "object": "model", "created": self.created, "owned_by": route.provider}
            )
        return {"object": "list", "data": data}


def make_app(rt: Runtime, config: GatewayConfig | None = None) -> GatewayApp:
    """The gateway's ASGI app over `rt` (default config: the local model, as "local").

    Any ASGI server can run it; `serve` runs it with Hypercorn's trio worker.
    The app holds no tasks of its own: LLMs it creates are actors of `rt`.
    """
    return GatewayApp(rt, config or GatewayConfig())
