"""One attempt of a streamed call: forward the adapter's chunks to the
caller's sink under the call's deadline and the stall clock, count what
went out (for the call's events), and close the upstream response however
the attempt ends. The provider actor (`_actor.py`) retries around it.
"""

from __future__ import annotations

import math

import attrs
import trio

from .._kernel import StreamSink
from ..errors import ProviderError, ProviderTimeout
from ..events import Emitter, FirstToken, GenerationChunk
from ..types import Chunk, Request, Usage
from ._adapter import Accepted
from ._host import ProviderHost
from ._resilience import FreeSlot

# Upper bound on closing an upstream response after a cancel.
_CLOSE_GRACE = 5.0


@attrs.define(eq=False)
class StreamTally:
    """What one streamed call has produced so far, for its events."""

    start: float
    ttft: float | None = None
    ttft_reported: bool = False
    accepted: bool = False  # ACCEPTED passed on to the reader
    finish_reason: str | None = None
    usage: Usage | None = None


async def stream_once(
    actor: ProviderHost,
    request: Request,
    deadline: float,
    sink: StreamSink,
    events: Emitter,
    tally: StreamTally,
) -> bool:
    """One attempt; returns whether any chunk was sent.

    One cancel scope per attempt (not one per chunk: that costs more than
    the rest of our per-chunk work together). Its deadline is the call's
    deadline or, while waiting for the next chunk, the stall limit — moved
    forward lazily, at most every half `read_timeout`, so a stalled stream
    fails between ½ and 1 `read_timeout` after its last chunk.
    """
    read_timeout = actor.config.read_timeout
    sent = False
    idle_until = -math.inf
    with trio.CancelScope(deadline=deadline) as scope:
        async with FreeSlot(actor.limiter):
            upstream = actor.adapter.stream(request)
            try:
                while True:
                    now = trio.current_time()
                    if idle_until - now < read_timeout / 2:
                        idle_until = now + read_timeout
                        scope.deadline = min(deadline, idle_until)
                    try:
                        chunk = await upstream.__anext__()
                    except StopAsyncIteration:
                        break
                    except ProviderError:
                        raise
                    except Exception as exc:  # not the upstream's fault: see the top
                        raise actor.internal_error(exc) from exc
                    if isinstance(chunk, Accepted):
                        if not tally.accepted:  # once, though a retry accepts again
                            tally.accepted = True
                            try:
                                sink.send_nowait(chunk)
                            except trio.WouldBlock:  # an unbuffered reader
                                await sink.send(chunk)
                        continue
                    sent = True
                    if tally.ttft is None or chunk.is_final or chunk.usage is not None:
                        _tally(tally, chunk)
                        if tally.ttft is not None and not tally.ttft_reported:
                            tally.ttft_reported = True
                            await events.emit(FirstToken, ttft=tally.ttft)
                    if events.listening:
                        # waiting on a lossless subscriber is no stall
                        scope.deadline = deadline
                        idle_until = -math.inf
                        await events.emit(
                            GenerationChunk,
                            text=chunk.text,
                            tool_calls=tuple(d.name for d in chunk.tool_calls if d.name),
                        )
                    try:
                        sink.send_nowait(chunk)
                    except trio.WouldBlock:
                        # the reader is behind: waiting for it is no stall
                        scope.deadline = deadline
                        await sink.send(chunk)
                        idle_until = -math.inf  # restart the stall clock
            except ProviderError as exc:
                exc.first_token_sent = sent
                raise
            finally:
                # Shielded (and bounded): a cancelled caller must still get
                # the upstream response closed, or its socket would linger.
                with trio.move_on_after(_CLOSE_GRACE, shield=True):
                    try:
                        await upstream.aclose()  # type: ignore[attr-defined]
                    except Exception as exc:  # the call's own error matters more
                        actor.internal_error(exc, "closing the upstream response")
    if scope.cancelled_caught:
        error = (
            actor.timed_out(deadline)
            if trio.current_time() >= deadline
            else (
                ProviderTimeout(
                    f"the stream stalled: no data for {read_timeout:g}s",
                    provider=actor.config.provider,
                    model=actor.config.model,
                )
            )
        )
        error.first_token_sent = sent
        raise error
    return sent


def _tally(tally: StreamTally, chunk: Chunk) -> None:
    if tally.ttft is None and (chunk.text or chunk.tool_calls):
        tally.ttft = trio.current_time() - tally.start
    if chunk.finish_reason is not None:
        tally.finish_reason = chunk.finish_reason
    if chunk.usage is not None:
        tally.usage = chunk.usage
