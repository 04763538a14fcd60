"""Micro-batched embeddings: concurrent small `embed` calls to one provider
gathered into one upstream request.

A provider created with `embed_batching=...` runs an `EmbedBatcher` as
background work of its actor. A call of at most `max_size` texts joins the
batch being gathered; the batch leaves when it holds `max_size` texts or
about `max_tokens` tokens (four characters a token), `max_delay` seconds
after its first text arrived, or when no call has joined it for `idle`
seconds (a burst of callers is in by then), whichever comes first, and goes out under the
actor's policies (concurrency limit, breaker, retries). Its vectors are cut
back into each caller's rows, in order; usage is shared out by the callers'
characters. A caller cancelled (or timed out) before its batch leaves has
its rows dropped — they are never sent, and never answered to anyone else;
one cancelled after is answered to nobody. A batch the provider refuses as
a bad request is retried caller by caller, so only the caller whose input
was bad gets the error.

Why: an embeddings API costs about the same per request whether it carries
one text or a hundred, so a hundred callers each sending one text pay a
hundred round trips (benchmarks/embeddings.py measures the difference).
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, final

import attrs
import trio

from ..errors import BadRequest, ValidationError
from ..types import EmbeddingRequest, EmbeddingResponse, Usage

SendBatch = Callable[[EmbeddingRequest, float], Awaitable[EmbeddingResponse]]


@attrs.frozen(kw_only=True)
class EmbedBatching:
    """How a provider gathers concurrent embed calls (see the module docstring)."""

    max_size: int = 64  # texts in one upstream request
    max_delay: float = 0.005  # seconds the first text of a batch waits for company
    max_tokens: int = 8192  # estimated tokens in one upstream request
    # seconds without a new call after which a batch leaves anyway: a burst of
    # callers (say, all woken by the last batch's answer) has joined by then
    idle: float = 0.001

    def __attrs_post_init__(self) -> None:
        _check("max_size", self.max_size, 1, 2048, integer=True)
        _check("max_delay", self.max_delay, 0, 1, integer=False)  # longer only delays all
        _check("max_tokens", self.max_tokens, 1, 10**7, integer=True)
        _check("idle", self.idle, 0, 1, integer=False)

    @classmethod
    def parse(cls, value: object) -> EmbedBatching | None:
        """The `embed_batching=` option: True (the defaults), False/None (off),
        an EmbedBatching, or a mapping of its fields (from TOML)."""
        if value is None or value is False:
            return None
        if value is True:
            return cls()
        if isinstance(value, EmbedBatching):
            return value
        if isinstance(value, Mapping):
            unknown = set(value) - {"max_size", "max_delay", "max_tokens", "idle"}
            if unknown:
                raise ValidationError(
                    f"embed_batching takes max_size, max_delay, max_tokens and idle "
                    f"(got {', '.join(sorted(map(str, unknown)))})"
                )
            return cls(**value)
        raise ValidationError(
            "embed_batching takes True, False, EmbedBatching(...) or "
            f"{{max_size=, max_delay=, max_tokens=, idle=}} (got {value!r})"
        )


def _check(name: str, value: object, low: float, high: float, *, integer: bool) -> None:
    number = not isinstance(value, bool) and isinstance(value, int if integer else int | float)
    if not (number and low <= value <= high):  # type: ignore[operator]
        what = "an integer" if integer else "a number of seconds"
        raise ValidationError(
            f"embed_batching {name} must be {what} from {low:g} to {high:g} (got {value!r})"
        )


def _tokens(texts: tuple[str, ...]) -> int:
    return sum(len(t) for t in texts) // 4 + len(texts)


@final
class _Ticket:
    """One caller's rows, waiting for their batch."""

    __slots__ = ("deadline", "done", "error", "left", "request", "response")

    def __init__(self, request: EmbeddingRequest, deadline: float) -> None:
        self.request = request
        self.deadline = deadline
        self.done = trio.Event()
        self.response: EmbeddingResponse | None = None
        self.error: BaseException | None = None
        self.left = False  # the caller went away: drop its rows, answer nobody


@final
class EmbedBatcher:
    """Gathers calls into batches; `run` is the actor's background task."""

    def __init__(self, policy: EmbedBatching, send: SendBatch) -> None:
        self.policy = policy
        self._send = send
        self._in, self._queue = trio.open_memory_channel[_Ticket](math.inf)
        self._carry: _Ticket | None = None  # the call that did not fit the last batch

    def takes(self, request: EmbeddingRequest) -> bool:
        """Whether `request` is small enough to join a batch (token ids never do:
        only OpenAI's own API reads them, so nothing is gained)."""
        return not request.tokens and len(request.texts) <= self.policy.max_size

    async def embed(self, request: EmbeddingRequest, deadline: float) -> EmbeddingResponse:
        """The caller's side: join a batch and wait for its rows."""
        ticket = _Ticket(request, deadline)
        self._in.send_nowait(ticket)
        try:
            await ticket.done.wait()
        finally:
            ticket.left = not ticket.done.is_set()
        if ticket.error is not None:
            raise ticket.error
        assert ticket.response is not None
        return ticket.response

    async def run(self) -> None:
        """Gather and send batches until the actor stops; several batches may
        be in flight at once (the actor's concurrency limit bounds them)."""
        async with trio.open_nursery() as sending:
            while True:
                batch = await self._gather()
                if batch:
                    sending.start_soon(self._flush, batch)

    async def _gather(self) -> list[_Ticket]:
        first, self._carry = self._carry or await self._queue.receive(), None
        batch, size, tokens = [first], len(first.request), _tokens(first.request.texts)
        policy = self.policy
        deadline = trio.current_time() + policy.max_delay
        while size < policy.max_size and tokens < policy.max_tokens:
            try:  # those already waiting join without a timer (a burst: most of them)
                ticket: _Ticket | None = self._queue.receive_nowait()
            except trio.WouldBlock:
                ticket = None
                with trio.move_on_at(min(deadline, trio.current_time() + policy.idle)):
                    ticket = await self._queue.receive()
            if ticket is None:
                break  # max_delay passed, or nobody joined for `idle` s
            more = len(ticket.request)
            if size + more > policy.max_size:
                self._carry = ticket  # the next batch's first
                break
            batch.append(ticket)
            size += more
            tokens += _tokens(ticket.request.texts)
        return [t for t in batch if not t.left]

    async def _flush(self, batch: list[_Ticket]) -> None:
        batch = [t for t in batch if not t.left]  # rows of callers gone meanwhile: dropped
        if not batch:
            return
        texts = tuple(text for t in batch for text in t.request.texts)
        first = batch[0].request
        request = attrs.evolve(first, texts=texts)
        deadline = min(t.deadline for t in batch)
        try:
            response = await self._send(request, deadline)
        except BadRequest as exc:
            if len(batch) == 1:
                _fail(batch, exc)
                return
            # one caller's input may be what the provider refused: ask for each
            # alone, so the others still get their vectors
            async with trio.open_nursery() as each:
                for ticket in batch:
                    each.start_soon(self._flush, [ticket])
            return
        except Exception as exc:
            _fail(batch, exc)
            return
        _share(batch, response)


def _fail(batch: list[_Ticket], exc: BaseException) -> None:
    for ticket in batch:
        ticket.error = exc
        ticket.done.set()


def _share(batch: list[_Ticket], response: EmbeddingResponse) -> None:
    """Cut the batch's vectors back into each caller's rows; share its usage
    by characters (the sum of the parts is the whole)."""
    chars = [sum(len(t) for t in ticket.request.texts) or 1 for ticket in batch]
    total_chars = sum(chars)
    tokens = response.usage.prompt_tokens
    given = 0
    start = 0
    for i, ticket in enumerate(batch):
        count = len(ticket.request.texts)
        share = tokens - given if i == len(batch) - 1 else tokens * chars[i] // total_chars
        given += share
        rows = response.vectors[start : start + count]
        start += count
        fields: dict[str, Any] = {
            "vectors": rows,
            "usage": Usage(prompt_tokens=share, estimated=response.usage.estimated),
            "request_id": ticket.request.request_id,
        }
        ticket.response = attrs.evolve(response, **fields)
        ticket.done.set()
