"""WebSocket `/v1/events`: the runtime's event bus, live, as JSON text frames.

The protocol, server to client (every frame is one JSON object):

    {"type": "subscribed", "filters": {...}, "scope": "all" | "own"}
                                                  once, when events start to flow
    {"type": "generation.started", "request_id": ..., "seq": 1, "dropped": 0, ...}
    ...                                           one frame per event (`Event.to_dict()`)

Client to server: only `{"type": "auth", "api_key": "..."}` as the first
message when the key did not come in an `Authorization: Bearer` header
(browsers cannot set headers on a WebSocket); anything else is ignored.

What a key sees is its policy's (`KeyPolicy.events`), whatever the query
asks: "own" (a [[keys]] entry's default) the events of the gateway requests
it sent; "all" every call to a model it may use (every call, for a key with
no model list, a plain `api_keys` one, or without keys); "none" no socket.
`scope` in the first frame says which.

Close codes: 4400 bad query (the reason says which parameter), 4401 no or
a wrong key (the reason never holds the key), 4403 a key that may not watch
events, 1001 the server is shutting down. A slow client never slows
generation: its buffer (`buffer`, default 256) drops its oldest events, and
the next event it gets says how many in `dropped`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import final

import trio

from ..events import Event
from ..runtime import Runtime
from ._config import GatewayConfig
from ._event_filter import BadQuery, EventQuery, parse_query, visibility
from ._http import Message, Receive, Scope, Send, header
from ._keys import EVENTS_NONE, EVENTS_OWN, KeyPolicy
from ._request_id import OpenRequests

log = logging.getLogger("abstractcore_actors.server")

PATH = "/v1/events"
AUTH_TIMEOUT = 5.0  # seconds a browser has to send its auth message
CLOSE_SHUTDOWN = 1001
CLOSE_BAD_QUERY = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
_SEND_CLOSE_GRACE = 0.5  # a close frame on shutdown: best effort, never a hang

NEED_KEY = (
    "authentication required: send 'Authorization: Bearer <key>' or, first, "
    '{"type": "auth", "api_key": "<key>"}'
)
NO_EVENTS = 'this API key may not watch events (its [[keys]] entry has events = "none")'


class _Refused(Exception):
    """End this socket with a close code and a reason."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class _Gone(Exception):
    """The client closed the socket."""


def _reason(text: str) -> str:
    # A close frame's reason is at most 123 bytes of UTF-8.
    data = text.encode()
    if len(data) <= 123:
        return text
    return data[:120].decode(errors="ignore") + "..."


@final
class EventsEndpoint:
    """Serves `/v1/events` for one app; `shutdown()` closes every socket with 1001."""

    def __init__(self, rt: Runtime, config: GatewayConfig, requests: OpenRequests) -> None:
        self._rt = rt
        self._config = config
        self._requests = requests
        self._closing = trio.Event()
        self.open_sockets = 0

    def __repr__(self) -> str:
        return f"<EventsEndpoint open_sockets={self.open_sockets}>"

    def shutdown(self) -> None:
        """The server is stopping: close every open socket (1001) and refuse new ones."""
        self._closing.set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one websocket scope (any path: only /v1/events is served)."""
        if (await receive())["type"] != "websocket.connect":
            return
        path = scope["path"].rstrip("/") or "/"
        if path != PATH or self._closing.is_set():
            # before accepting: the server answers the handshake with HTTP 403
            await send({"type": "websocket.close", "code": 1008})
            return
        self.open_sockets += 1
        try:
            await self._serve(scope, receive, send)
        finally:
            self.open_sockets -= 1

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "websocket.accept"})
        requests = self._requests
        try:
            query = parse_query(scope.get("query_string", b""))
            asked = query.predicate(self._config, requests)
            key = await self._key(scope, receive)
            if key is not None and key.events == EVENTS_NONE:
                raise _Refused(CLOSE_FORBIDDEN, NO_EVENTS)
            allowed = visibility(self._config, key, requests)
            accepts = asked if allowed is None else _both(allowed, asked)
            own = key is not None and key.events == EVENTS_OWN
            await self._stream(query, accepts, "own" if own else "all", receive, send)
        except BadQuery as exc:
            await _close(send, CLOSE_BAD_QUERY, f"bad query: {exc}")
        except _Refused as exc:
            await _close(send, exc.code, exc.reason)
        except _Gone:
            return
        except trio.Cancelled:
            # the server itself is stopping at once: say so if the client still listens
            await _close(send, CLOSE_SHUTDOWN, "server shutting down")
            raise

    async def _key(self, scope: Scope, receive: Receive) -> KeyPolicy | None:
        """The caller's key policy (None when no keys are configured): from the
        `Authorization` header, else from the first message; _Refused (4401)."""
        if not self._config.auth_required:
            return None
        value = header(scope, b"authorization")
        if value is None:
            return await self._first_message_auth(receive)
        policy = self._config.key_from_authorization(value)
        if policy is None:
            raise _Refused(CLOSE_UNAUTHORIZED, "invalid API key")
        return policy

    async def _first_message_auth(self, receive: Receive) -> KeyPolicy:
        with trio.move_on_after(AUTH_TIMEOUT):
            message = await receive()
            if message["type"] == "websocket.disconnect":
                raise _Gone
            try:
                data = json.loads(message.get("text") or message.get("bytes") or b"")
            except ValueError:
                data = None
            if not isinstance(data, dict) or data.get("type") != "auth":
                raise _Refused(CLOSE_UNAUTHORIZED, NEED_KEY)
            key = data.get("api_key")
            policy = self._config.find_key(key) if isinstance(key, str) else None
            if policy is None:
                raise _Refused(CLOSE_UNAUTHORIZED, "invalid API key")
            return policy
        raise _Refused(CLOSE_UNAUTHORIZED, f"no auth message within {AUTH_TIMEOUT:g} s; {NEED_KEY}")

    async def _stream(
        self,
        query: EventQuery,
        accepts: Callable[[Event], bool],
        visible: str,
        receive: Receive,
        send: Send,
    ) -> None:
        gone = False
        async with (
            self._rt.events.subscribe(accepts, buffer=query.buffer) as events,
            trio.open_nursery() as nursery,
        ):

            async def watch_client() -> None:
                nonlocal gone
                while (await receive())["type"] != "websocket.disconnect":
                    pass  # only the auth message means something; ignore the rest
                gone = True
                nursery.cancel_scope.cancel()

            async def watch_shutdown() -> None:
                await self._closing.wait()
                nursery.cancel_scope.cancel()

            nursery.start_soon(watch_client)
            nursery.start_soon(watch_shutdown)
            hello: dict[str, object] = {
                "type": "subscribed",
                "filters": query.describe(),
                "scope": visible,  # what this key may see: "own" or "all"
            }
            await _send_json(send, hello)
            async for event in events:
                await _send_json(send, event.to_dict())
            nursery.cancel_scope.cancel()  # the runtime closed its bus
        if gone:
            raise _Gone
        await _close(send, CLOSE_SHUTDOWN, "server shutting down")


def _both(first: Callable[[Event], bool], then: Callable[[Event], bool]) -> Callable[[Event], bool]:
    return lambda event: first(event) and then(event)


async def _send_json(send: Send, data: dict[str, object]) -> None:
    # default=str: a custom event may carry values JSON cannot spell
    await send({"type": "websocket.send", "text": json.dumps(data, default=str)})


async def _close(send: Send, code: int, reason: str) -> None:
    message: Message = {"type": "websocket.close", "code": code, "reason": _reason(reason)}
    # Shielded and bounded: this runs on the way out, even when cancelled.
    with trio.CancelScope(shield=True) as scope:
        scope.deadline = trio.current_time() + _SEND_CLOSE_GRACE
        try:
            await send(message)
        except Exception:  # the connection is already gone: nothing to tell
            log.debug("could not send a websocket close frame", exc_info=True)
