"""`race_stream`: the first stream to produce a token wins; the others are cancelled.

Each contender opens its stream in its own task. The first to produce a
token claims the race; every other contender is cancelled at once (its
upstream connection closed), and the winner's task keeps pumping its
chunks, at the reader's pace, to the caller.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, final

import trio

from ..errors import AllAttemptsFailed, ProviderTimeout, ValidationError
from ..providers import LLM
from ..types import Chunk, GenerateResponse
from ._attempts import Attempt, PatternResult, Status, contender_options, new_attempts
from ._race import check_timeout, failures

_BUFFER = 32  # as a provider stream's


@final
class RacedStream:
    """The winning stream: `async for chunk in raced`. `winner` says who won."""

    def __init__(
        self,
        chunks: trio.MemoryReceiveChannel[Chunk],
        winner: Attempt,
        attempts: list[Attempt],
        errors: list[BaseException],
    ) -> None:
        self._chunks = chunks
        self.winner = winner
        self.attempts = attempts
        self._errors = errors

    def __aiter__(self) -> RacedStream:
        return self

    async def __anext__(self) -> Chunk:
        try:
            return await self._chunks.receive()
        except trio.EndOfChannel:
            if self._errors:
                raise self._errors[0] from None
            raise StopAsyncIteration from None

    def receive_nowait(self) -> Chunk:
        """The winner's next chunk if it has already arrived; `trio.WouldBlock`
        otherwise. Never ends the stream: at its end (or error) this raises
        `trio.WouldBlock` and the next `async for` step reports it — as
        `ResponseStream.receive_nowait`, so a reader can take a burst at once."""
        try:
            return self._chunks.receive_nowait()
        except trio.EndOfChannel:
            raise trio.WouldBlock from None

    def result(self) -> PatternResult:
        """The race so far: the winner's answer (complete once the stream ended)."""
        response = self.winner.response or GenerateResponse(content="")
        return PatternResult(response=response, attempts=tuple(self.attempts), pattern="race")


@asynccontextmanager
async def race_stream(
    llms: Sequence[LLM],
    prompt: Any = None,
    *,
    timeout: float | None = None,
    **options: Any,
) -> AsyncIterator[RacedStream]:
    """`async with race_stream([a, b], "Hi") as s: async for chunk in s:`

    `timeout` bounds the wait for the first token. Raises `AllAttemptsFailed`
    if every stream failed before its first token, `ProviderTimeout` if no
    token came in time. Leaving the block cancels the winner too.
    """
    items = list(llms)
    if not items or not all(isinstance(x, LLM) for x in items):
        raise ValidationError("race_stream takes a non-empty list of LLMs")
    limit = check_timeout(timeout)
    attempts = new_attempts(items)
    # a few chunks of room: the winner's pump runs a little ahead of its
    # reader, who takes what has arrived in one go (receive_nowait)
    send, recv = trio.open_memory_channel[Chunk](_BUFFER)
    decided = trio.Event()
    scopes: list[trio.CancelScope] = [trio.CancelScope() for _ in items]
    winner: list[Attempt] = []
    errors: list[BaseException] = []

    def maybe_all_failed() -> None:
        if all(a.status is Status.FAILED for a in attempts):
            decided.set()

    async def contend(index: int, llm: LLM) -> None:
        attempt = attempts[index]
        with scopes[index]:
            try:
                async with llm.stream(prompt, **contender_options(options, index)) as stream:
                    async for chunk in stream:
                        if chunk.text or chunk.tool_calls:
                            attempt.partial_completion_tokens += 1
                            if not winner:
                                winner.append(attempt)
                                attempt.end(Status.WON)
                                for other, scope in enumerate(scopes):
                                    if other != index:
                                        scope.cancel()
                                decided.set()
                        if winner and winner[0] is attempt:
                            await send.send(chunk)
                    attempt.response = stream.response()
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass  # the reader left
            except Exception as exc:
                attempt.error = exc
                if winner and winner[0] is attempt:
                    errors.append(exc)  # after the first token: the reader sees it
                else:
                    attempt.end(Status.FAILED)
                    maybe_all_failed()
            finally:
                if winner and winner[0] is attempt:
                    send.close()
        if scopes[index].cancelled_caught:
            attempt.end(Status.CANCELLED)

    async with trio.open_nursery() as nursery:
        for index, llm in enumerate(items):
            nursery.start_soon(contend, index, llm)
        with trio.move_on_after(limit):
            await decided.wait()
        if not winner:
            nursery.cancel_scope.cancel()
        else:
            try:
                yield RacedStream(recv, winner[0], attempts, errors)
            finally:
                recv.close()
                nursery.cancel_scope.cancel()
    if not winner:
        if all(a.status is Status.FAILED for a in attempts):
            raise AllAttemptsFailed("race_stream", failures(attempts))
        raise ProviderTimeout(
            f"no first token within {timeout}s from {len(items)} stream(s)",
            provider="race_stream",
            model=",".join(a.label for a in attempts),
        )
