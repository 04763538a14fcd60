"""Small helpers over the ASGI http protocol: read a bounded body, send JSON,
and run a handler that a client's disconnect cancels."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import trio

from ._errors import HTTPError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

JSON_HEADERS = [(b"content-type", b"application/json")]
# `_http1`'s scope extensions: `watch(cancel) -> unwatch` (see until_disconnect),
# and `arrived() -> bytes | None`: the whole body, taken, once it has all been
# received (see read_body); other servers have neither, and get the ASGI way
DISCONNECT = "abstractcore_actors.disconnect"
BODY = "abstractcore_actors.body"


class ClientGone(Exception):
    """The client disconnected before its request was read."""


def header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value)
    return None


async def read_body(scope: Scope, receive: Receive, limit: int, timeout: float) -> bytes:
    """The whole request body; HTTPError 413 past `limit` bytes (by Content-Length
    or by counting, for chunked bodies), 408 when it has not all arrived within
    `timeout` seconds, ClientGone when the client left."""
    arrived = scope.get("extensions", {}).get(BODY)
    if arrived is not None and (body := arrived()) is not None:
        if len(body) > limit:  # (a Content-Length over the limit was refused at its head)
            raise _too_big(limit)
        return body  # all here already: no timeout to set, nothing to wait for
    with trio.move_on_after(timeout):
        return await _read_body(scope, receive, limit)
    raise HTTPError(
        408,
        f"the request body did not arrive within {timeout:g} s: send it whole, at once",
        type="invalid_request_error",
        code="request_timeout",
        headers=[(b"connection", b"close")],
    )


def _too_big(limit: int) -> HTTPError:
    return HTTPError(
        413,
        f"the request body is larger than the limit of {limit} bytes",
        code="request_too_large",
    )


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    too_big = _too_big(limit)
    declared = header(scope, b"content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise HTTPError(400, "invalid Content-Length header") from None
        if size > limit:
            raise too_big
    parts: list[bytes] = []
    received = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        received += len(chunk)
        if received > limit:
            raise too_big
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


async def send_json(
    send: Send,
    status: int,
    body: object,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                *JSON_HEADERS,
                (b"content-length", str(len(data)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data, "more_body": False})


async def send_error(send: Send, error: HTTPError) -> None:
    await send_json(send, error.status, error.body(), error.headers)


async def until_disconnect(
    scope: Scope, receive: Receive, handler: Callable[[], Awaitable[None]]
) -> bool:
    """Run `handler` (after the body was read); the client's disconnect cancels it.

    `handler` must deal with its own errors: this only adds the watcher, and
    returns quietly when the client went away (there is nobody to answer).
    Returns True when the client's disconnect cut the handler short.
    """
    watch = scope.get("extensions", {}).get(DISCONNECT)
    if watch is not None:  # our own server tells us; no watcher task needed
        with trio.CancelScope() as cut:
            unwatch = watch(cut.cancel)
            try:
                await handler()
            finally:
                unwatch()
        return cut.cancelled_caught
    gone = done = False
    async with trio.open_nursery() as nursery:

        async def watch_receive() -> None:
            nonlocal gone
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    gone = True
                    nursery.cancel_scope.cancel()
                    return

        nursery.start_soon(watch_receive)
        try:
            await handler()
            done = True
        finally:
            nursery.cancel_scope.cancel()
    return gone and not done
