"""POST /v1/chat/completions: a whole answer as JSON, or chunks as SSE."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator

import attrs
import trio

from ..types import Chunk
from ._config import GatewayConfig
from ._errors import HTTPError, http_error
from ._http import Receive, Scope, Send, read_body, send_error, send_json, until_disconnect
from ._request import ChatRequest, parse_chat, parse_json
from ._request_id import client_request_id, with_request_id
from ._response_format import StructuredTarget
from ._routing import Router, Target
from ._wire import ChunkWriter, completion, error_frame

log = logging.getLogger("abstractcore_actors.server")

SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


def leaf(exc: BaseException) -> BaseException:
    """The one real error inside (nested) single-member exception groups."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def to_http(exc: BaseException) -> HTTPError:
    error = http_error(leaf(exc))
    if error.status >= 500 and error.code == "internal_error":
        log.error("internal error while answering a chat request", exc_info=exc)
    return error


async def chat_completions(
    scope: Scope, receive: Receive, send: Send, router: Router, config: GatewayConfig
) -> None:
    """Answer one chat request. Raises HTTPError (or ClientGone) before anything is sent."""
    request_id = client_request_id(scope)
    send = with_request_id(send, request_id)
    raw = await read_body(scope, receive, config.body_limit)
    request = parse_chat(parse_json(raw), max_tokens_cap=config.max_tokens)
    request = attrs.evolve(request, args={**request.args, "request_id": request_id})
    target = router.resolve(request.model)
    if request.response_format is not None:
        target = StructuredTarget(target, request.response_format)
    answer = _stream if request.stream else _complete

    async def handler() -> None:
        await answer(send, target, request, config.request_timeout)

    await until_disconnect(receive, handler)


def _ids() -> tuple[str, int]:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())


async def _complete(
    send: Send, target: Target, request: ChatRequest, timeout: float | None
) -> None:
    try:
        response = await target.generate(request.args, timeout)
    except Exception as exc:
        await send_error(send, to_http(exc))
        return
    id, created = _ids()
    await send_json(send, 200, completion(response, id=id, model=request.model, created=created))


# Frames waiting for the client, per stream. Past this the upstream waits:
# a slow client slows its own upstream call, nothing piles up in memory.
_OUTBOX = 64


async def _stream(send: Send, target: Target, request: ChatRequest, timeout: float | None) -> None:
    id, created = _ids()
    writer = ChunkWriter(
        id=id, model=request.model, created=created, include_usage=request.include_usage
    )
    started = False
    failure: BaseException | None = None

    async def body(data: bytes, more: bool = True) -> None:
        await send({"type": "http.response.body", "body": data, "more_body": more})

    async def start() -> None:
        nonlocal started
        if not started:
            started = True
            await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
            await body(writer.first())

    async def produce(chunks: AsyncIterator[Chunk], out: trio.MemorySendChannel[bytes]) -> None:
        # Errors are kept, not raised: the nursery would wrap them in a group.
        nonlocal failure
        async with out:
            try:
                async for chunk in chunks:
                    await out.send(writer.add(chunk))
            except Exception as exc:
                failure = exc

    try:
        async with target.stream(request.args, timeout) as chunks:
            # One task reads chunks, this one writes: frames that came in while
            # a write was under way leave together in the next one. Under load
            # that saves most per-write costs (ASGI message, h11, a send()
            # syscall per chunk); alone, each frame still leaves at once.
            out, frames = trio.open_memory_channel[bytes](_OUTBOX)
            async with trio.open_nursery() as nursery, frames:
                nursery.start_soon(produce, chunks, out)
                async for frame in frames:
                    await start()
                    data = frame + b"".join(_drain(frames))
                    if data:
                        await body(data)
    except trio.Cancelled:
        raise
    except BaseException as exc:  # an error opening the stream or writing, maybe in a group
        if not isinstance(leaf(exc), Exception):
            raise
        failure = exc
    if failure is None:
        await start()
        await body(writer.end(), more=False)
    elif not started:
        await send_error(send, to_http(failure))
    else:
        await body(error_frame(to_http(failure).body()), more=False)


def _drain(frames: trio.MemoryReceiveChannel[bytes]) -> list[bytes]:
    """Every frame already waiting, without blocking."""
    ready = []
    while True:
        try:
            ready.append(frames.receive_nowait())
        except (trio.WouldBlock, trio.EndOfChannel):
            return ready
