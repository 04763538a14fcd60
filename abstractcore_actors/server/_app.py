"""`make_app(rt, config)`: the gateway as a plain ASGI app (http + lifespan)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import final

from .._budgets import RedisHealth, Spending
from ..runtime import Runtime
from ._call import CallContext, error_code, to_http
from ._chat import chat_completions
from ._config import GatewayConfig
from ._console import is_console, send_console
from ._cors import Cors
from ._drain import Drain
from ._embeddings import embeddings
from ._errors import HTTPError
from ._events_ws import EventsEndpoint
from ._exposition import CONTENT_TYPE
from ._gateway_tools import GatewayTools
from ._http import ClientGone, Message, Receive, Scope, Send, header, send_error, send_json
from ._keys import KeyPolicy, Limiter
from ._messages import ANTHROPIC_MESSAGES, count_tokens, messages
from ._metrics import GatewayMetrics
from ._request_id import OpenRequests
from ._responses import responses
from ._routing import Router
from ._spend import spend_report


def _unauthorized(message: str) -> HTTPError:
    return HTTPError(
        401,
        message,
        code="invalid_api_key",
        headers=[(b"www-authenticate", b'Bearer realm="abstractcore-actors"')],
    )


def _releasing(send: Send, release: Callable[[], None]) -> Send:
    """`send` that frees the key's slot just before the last bytes go: the
    client may ask again the moment it has its answer."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.body" and not message.get("more_body"):
            release()
        await send(message)

    return sending


_CALLS = {
    "/v1/chat/completions": "chat",
    "/v1/embeddings": "embeddings",
    "/v1/messages": "messages",
    "/v1/messages/count_tokens": "count_tokens",
    "/v1/responses": "responses",
}
_ANSWERS = {
    "chat": chat_completions,
    "embeddings": embeddings,
    "messages": messages,
    "count_tokens": count_tokens,
    "responses": responses,
}


@final
class GatewayApp:
    """The ASGI callable. Made by `make_app`; every request is answered in the
    server's task for it, so cancelling the server cancels every request."""

    def __init__(
        self,
        rt: Runtime,
        config: GatewayConfig,
        spending: Spending | None = None,
        tools: GatewayTools | None = None,
    ) -> None:
        self.rt = rt
        self.config = config
        self.tools = tools if tools is not None else GatewayTools()
        # budgets and rate limits in memory unless `serve` opened a ledger for them
        self.spending = spending if spending is not None else Spending(config.budgets)
        shared = self.spending.shared
        health = RedisHealth(shared.client, prefix=shared.prefix) if shared else None
        self.router = Router(rt, config, health=health)
        self.requests = OpenRequests()  # who sent each open chat request
        self.events = EventsEndpoint(rt, config, self.requests)
        self.created = int(time.time())
        self.metrics = GatewayMetrics.for_config(config)
        self.limiter = Limiter()
        self.drain = Drain()
        self.cors = Cors(config.cors_origins)

    def start_draining(self, grace: float | None = None) -> None:
        """Stop taking requests (503, /health too); open ones get `grace` seconds
        (default `config.shutdown_grace`), then their upstream calls are cancelled."""
        self.drain.start(self.config.shutdown_grace if grace is None else grace)

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

    def _check_key(self, scope: Scope) -> KeyPolicy | None:
        """The caller's key policy (None without auth); HTTPError 401."""
        if not self.config.auth_required:
            return None
        value = header(scope, b"authorization")
        anthropic_key = header(scope, b"x-api-key")  # how Anthropic's clients send a key
        if value is None and anthropic_key is not None:
            value = b"Bearer " + anthropic_key
        if value is None:
            raise _unauthorized(
                "missing API key: send the header 'Authorization: Bearer <key>' "
                "(or 'x-api-key: <key>')"
            )
        policy = self.config.key_from_authorization(value)
        if policy is None:
            raise _unauthorized("invalid API key")
        return policy

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"].rstrip("/") or "/"
        method = scope["method"]
        origin = self.cors.allowed_origin(scope)
        if origin is not None:
            if self.cors.is_preflight(scope):
                await self.cors.answer_preflight(send, origin)
                return
            send = self.cors.sending(send, origin)
        try:
            if path == "/health":
                self._allow(method, "GET", "HEAD")
                await self._health(send)
                return
            if path == "/metrics":
                await self._metrics(scope, method, send)
                return
            if is_console(path):
                await send_console(send, path, method)
                return
            if not path.startswith("/v1/"):
                raise self._not_found(path)
            if path in _CALLS:
                self._allow(method, "POST")
                await self._call(_CALLS[path], scope, receive, send)
                return
            key = self._check_key(scope)
            if path == "/v1/models":
                self._allow(method, "GET")
                await send_json(send, 200, self._models(key))
            elif path.startswith("/v1/models/"):
                self._allow(method, "GET")
                await send_json(send, 200, self._model(path.removeprefix("/v1/models/"), key))
            elif path == "/v1/tools":
                self._allow(method, "GET")
                await send_json(send, 200, self.tools.listing(key))
            elif path == "/v1/spend":
                self._allow(method, "GET")
                if key is not None and not key.admin:
                    raise HTTPError(
                        403,
                        "GET /v1/spend needs an admin key",
                        code="admin_only",
                        type="permission_error",
                    )
                await send_json(send, 200, await spend_report(self.spending, scope["query_string"]))
            else:
                raise self._not_found(path)
        except ClientGone:
            return
        except HTTPError as error:
            await send_error(send, error)
        except Exception as exc:
            await send_error(send, to_http(exc))

    async def _metrics(self, scope: Scope, method: str, send: Send) -> None:
        self._allow(method, "GET")
        if self.config.metrics_auth:
            self._check_key(scope)
        data = self.metrics.exposition()
        headers = [(b"content-type", CONTENT_TYPE), (b"content-length", str(len(data)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": data, "more_body": False})

    async def _call(self, endpoint: str, scope: Scope, receive: Receive, send: Send) -> None:
        """A chat or embeddings request, counted in /metrics however it ends
        (refusals too: a bad key, the key's concurrency limit, draining)."""
        with self.metrics.request(endpoint) as record:

            async def recording(message: Message) -> None:
                if message["type"] == "http.response.start":
                    record.status = message["status"]
                if message["type"] == "http.response.body" and not message.get("more_body"):
                    record.sent = True
                await send(message)

            try:
                key = self._check_key(scope)
                self.drain.check()
                with self.limiter.hold(key) as release:
                    ctx = CallContext(
                        router=self.router,
                        config=self.config,
                        drain=self.drain,
                        record=record,
                        labels=self.metrics.labels,
                        requests=self.requests,
                        key=key,
                        spending=self.spending,
                        tools=self.tools,
                        events=self.rt.events,
                    )
                    answer = _ANSWERS[endpoint]
                    await answer(scope, receive, _releasing(recording, release), ctx)
            except ClientGone:
                record.outcome = "client_disconnect"
            except Exception as exc:
                error = to_http(exc)
                record.failed(error_code(error))
                if endpoint in ("messages", "count_tokens"):  # Anthropic's clients read their shape
                    await ANTHROPIC_MESSAGES.send_error(recording, error)
                else:
                    await send_error(recording, error)

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
            "/v1/models, /v1/tools, /v1/events (WebSocket), /health, /metrics, or / for the "
            "console)",
            code="not_found",
        )

    async def _health(self, send: Send) -> None:
        # 503 only while draining, so a load balancer stops routing here; a
        # paused model is "degraded" but 200: every other model still serves.
        if self.drain.draining:
            await send_json(send, 503, {"status": "draining"})
            return
        paused = self.router.paused()
        if paused:
            await send_json(send, 200, {"status": "degraded", "degraded": paused})
            return
        await send_json(send, 200, {"status": "ok"})

    def _models(self, key: KeyPolicy | None) -> dict[str, object]:
        aliases = dict(self.config.aliases)
        data = [
            self._model_object(name)
            for name in self.config.public_names()
            if key is None or key.allows(name, aliases)  # a key sees only its own models
        ]
        return {"object": "list", "data": data}

    def _model(self, name: str, key: KeyPolicy | None) -> dict[str, object]:
        """GET /v1/models/{model}: one listed model, else 404 (as OpenAI answers)."""
        aliases = dict(self.config.aliases)

        def allowed(model: str) -> bool:
            return key is None or key.allows(model, aliases)

        if name not in self.config.public_names() or not allowed(name):
            raise self.router.not_found(name, allowed)
        return self._model_object(name)

    def _model_object(self, name: str) -> dict[str, object]:
        public = self.config.aliases.get(name, name)
        route = self.config.models.get(public)
        owner = route.provider if route is not None else "virtual"
        if public in self.config.routers:
            owner = "router"
        return {"id": name, "object": "model", "created": self.created, "owned_by": owner}


def make_app(
    rt: Runtime,
    config: GatewayConfig | None = None,
    spending: Spending | None = None,
    tools: GatewayTools | None = None,
) -> GatewayApp:
    """The gateway's ASGI app over `rt` (default config: the local model, as "local").

    Any ASGI server on trio can run it; `serve` runs it on the package's own
    HTTP/1.1 server (`_listener`).
    The app holds no tasks of its own: LLMs it creates are actors of `rt`.
    The config's `[prices]` are added to the runtime's price book. `tools`:
    the running `[mcp.NAME]` servers (`open_gateway_tools`; `serve` opens them).
    """
    config = config or GatewayConfig()
    rt.prices.add(config.prices)
    return GatewayApp(rt, config, spending, tools)
