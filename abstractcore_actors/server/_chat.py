"""Chat answers over a wire protocol: POST /v1/chat/completions (OpenAI's)
and POST /v1/messages (Anthropic's, see `_messages.py`) — a whole answer as
JSON, or chunks as SSE. One flow for both: a `ChatWire` says how its
protocol reads a request and writes answers and errors."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

import attrs
import trio

from .._wire.openai_chat import response_to_wire
from .._wire.openai_chat_request import ChatRequest, parse_chat
from .._wire.openai_chat_stream import ChunkWriter, error_frame
from .._wire.request_checks import parse_json
from ..types import Chunk, Cost, GenerateResponse
from ._call import CallContext, cut, failure, leaf
from ._errors import HTTPError
from ._http import Receive, Scope, Send, send_json, until_disconnect
from ._request_id import client_request_id, client_session_id, with_request_id
from ._response_format import StructuredTarget, parse_response_format
from ._routing import Target
from ._spend import spending_chat
from ._tool_loop import with_gateway_tools

SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


class StreamWriter(Protocol):
    """Our chunks as one protocol's stream frames (ChunkWriter, EventWriter)."""

    cost: Cost | None

    def first(self) -> bytes: ...

    def add(self, chunk: Chunk) -> bytes: ...

    def end(self) -> bytes: ...


@attrs.frozen
class ChatWire:
    """How one protocol reads a chat request and writes its answers and errors."""

    parse: Callable[[object, int | None], ChatRequest]
    whole: Callable[[GenerateResponse, str], dict[str, Any]]  # (answer, public model name)
    writer: Callable[[str, bool], StreamWriter]  # (public model name, include_usage)
    error_body: Callable[[HTTPError], dict[str, Any]]
    error_frame: Callable[[HTTPError], bytes]

    async def send_error(self, send: Send, error: HTTPError) -> None:
        await send_json(send, error.status, self.error_body(error), error.headers)


def _openai_whole(response: GenerateResponse, model: str) -> dict[str, Any]:
    id, created = _ids()
    return response_to_wire(response, id=id, model=model, created=created)


def _openai_writer(model: str, include_usage: bool) -> StreamWriter:
    id, created = _ids()
    return ChunkWriter(id=id, model=model, created=created, include_usage=include_usage)


OPENAI_CHAT = ChatWire(
    parse=lambda body, cap: parse_chat(body, max_tokens_cap=cap),
    whole=_openai_whole,
    writer=_openai_writer,
    error_body=lambda error: error.body(),
    error_frame=lambda error: error_frame(error.body()),
)


async def chat_completions(scope: Scope, receive: Receive, send: Send, ctx: CallContext) -> None:
    """Answer one chat-completions request (see `answer_chat`)."""
    await answer_chat(scope, receive, send, ctx, OPENAI_CHAT)


async def answer_chat(
    scope: Scope, receive: Receive, send: Send, ctx: CallContext, wire: ChatWire
) -> None:
    """Answer one chat request in `wire`'s protocol. Raises HTTPError (or
    ClientGone) before anything is sent."""
    request_id = client_request_id(scope)
    ids: dict[str, str] = {"request_id": request_id}
    session_id = client_session_id(scope)
    if session_id is not None:
        ids["session_id"] = session_id
    send = with_request_id(send, request_id)
    raw = await ctx.read_body(scope, receive)
    request = wire.parse(parse_json(raw), ctx.max_tokens())
    request = attrs.evolve(request, args={**request.args, **ids})
    response_format = parse_response_format(request.response_format)
    target = ctx.router.resolve(request.model, ctx.allowed)
    if request.mcp:  # the gateway's own tools: it runs the tool loop
        target = with_gateway_tools(target, request, ctx, session_id)
    if response_format is not None:
        target = StructuredTarget(target, response_format)
    ctx.record.model = ctx.labels(request.model)
    ctx.record.provider = ctx.router.provider_of(request.model)
    answer = _stream if request.stream else _complete

    # who sent it, while it runs: /v1/events shows a key its own requests
    aliased = ctx.config.aliases.get(request.model)
    async with spending_chat(scope, ctx, request, send) as (request, send):
        with ctx.requests.hold(request_id, ctx.owner, request.model, send, aliased) as sending:

            async def handler() -> None:
                await answer(sending, target, request, ctx, wire)

            # the server reports a disconnect after a complete response too: not a cut
            if await until_disconnect(scope, receive, handler) and not ctx.record.sent:
                ctx.record.outcome = "client_disconnect"


def _ids() -> tuple[str, int]:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())


async def _complete(
    send: Send, target: Target, request: ChatRequest, ctx: CallContext, wire: ChatWire
) -> None:
    response = None
    try:
        with ctx.drain.scope() as scope:
            response = await target.generate(request.args, ctx.config.request_timeout)
    except Exception as exc:
        await wire.send_error(send, failure(exc, ctx.record))
        return
    if response is None:
        assert scope.cancelled_caught
        await wire.send_error(send, cut(ctx.record))
        return
    ctx.record.usage = response.usage
    ctx.record.cost = response.cost
    await send_json(send, 200, wire.whole(response, request.model), [cost_header(response.cost)])


async def _stream(
    send: Send, target: Target, request: ChatRequest, ctx: CallContext, wire: ChatWire
) -> None:
    writer = wire.writer(request.model, request.include_usage)
    started = False
    raised: BaseException | None = None
    record = ctx.record

    async def body(data: bytes, more: bool = True) -> None:
        await send({"type": "http.response.body", "body": data, "more_body": more})

    async def start() -> None:
        nonlocal started
        if not started:
            started = True
            await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
            await body(writer.first())

    def frame(chunk: Chunk) -> bytes:
        if chunk.usage is not None:
            record.usage = chunk.usage
        if chunk.text or chunk.tool_calls:
            record.token()
        return writer.add(chunk)

    try:
        with ctx.drain.scope() as scope:
            async with target.stream(request.args, ctx.config.request_timeout) as chunks:
                take = _taker(chunks)
                accepted = _acceptance(chunks)
                if accepted is not None:
                    # The head goes out once the upstream has accepted the call,
                    # as the upstream's own did: a client parses it while the
                    # model thinks, not after. An error before this is a status;
                    # after it, an error frame (as with OpenAI itself).
                    await accepted()
                    await start()
                # This task reads and writes: chunks that arrived while a write was
                # under way leave together in the next one (the provider actor keeps
                # reading meanwhile, into the stream's buffer). Under load that saves
                # most per-write costs (ASGI message, h11, a send() syscall per
                # chunk) and a task switch per chunk; alone, each chunk leaves at once.
                try:
                    async for chunk in chunks:
                        await start()
                        data = frame(chunk)
                        if take is not None:
                            data += b"".join([frame(c) for c in _ready(take)])
                        if data:
                            await body(data)
                finally:  # a stream cut short cost something too (budgets settle it)
                    record.cost = writer.cost = _cost_of(chunks)
    except trio.Cancelled:
        raise
    except BaseException as exc:  # an error opening, reading or writing the stream
        if not isinstance(leaf(exc), Exception):
            raise
        raised = exc
    error: HTTPError | None = None
    if scope.cancelled_caught:  # the shutdown grace ran out
        error = cut(record)
    elif raised is not None:
        error = failure(raised, record)
    if error is None:
        await start()
        await body(writer.end(), more=False)
    elif not started:
        await wire.send_error(send, error)
    else:
        await body(wire.error_frame(error), more=False)


def _taker(chunks: AsyncIterator[Chunk]) -> Callable[[], Chunk] | None:
    """The stream's `receive_nowait`, when it has one (a provider's stream does)."""
    take: Callable[[], Chunk] | None = getattr(chunks, "receive_nowait", None)
    return take


def _acceptance(chunks: AsyncIterator[Chunk]) -> Callable[[], Awaitable[None]] | None:
    """The stream's `wait_accepted`, when it has one (a provider's stream does)."""
    wait: Callable[[], Awaitable[None]] | None = getattr(chunks, "wait_accepted", None)
    return wait


def _cost_of(chunks: AsyncIterator[Chunk]) -> Cost | None:
    """What the stream cost, when it can tell (every target's stream can)."""
    cost: Callable[[], Cost] | None = getattr(chunks, "cost", None)
    return None if cost is None else cost()


def cost_header(cost: Cost | None) -> tuple[bytes, bytes]:
    """`x-abstractcore-cost-usd`: what the call cost in USD, or "unknown"
    (a price was missing); OpenAI clients ignore it."""
    usd = None if cost is None else cost.usd
    return (b"x-abstractcore-cost-usd", b"unknown" if usd is None else f"{usd:.9f}".encode())


def _ready(take: Callable[[], Chunk]) -> list[Chunk]:
    """Every chunk that has already arrived, in order, without waiting."""
    ready = []
    while True:
        try:
            ready.append(take())
        except trio.WouldBlock:
            return ready
