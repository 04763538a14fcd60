"""`race_stream` and `hedge_stream`: the first stream to produce a token wins;
the others are cancelled.

Each contender opens its stream in its own task — all at once for a race,
one every `after` seconds for a hedge. The first to produce a token claims
the race; every other contender is cancelled at once (its upstream
connection closed), no more are started, and the winner's task keeps
pumping its chunks, a little ahead of the reader, to the caller.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, final

import trio

from .._call_rules import check_timeout
from .._providers import LLM
from ..errors import AllAttemptsFailed, PatternTimeout, ValidationError
from ..types import Chunk, Cost, GenerateResponse
from ._attempts import Attempt, PatternResult, Status, contender_options, label_of
from ._hedge import hedge_attempts
from ._race import failures

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
        pattern: str = "race",
    ) -> None:
        self._chunks = chunks
        self.winner = winner
        self.attempts = attempts
        self._errors = errors
        self._pattern = pattern

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

    def cost(self) -> Cost:
        """What every attempt has cost so far, the cancelled losers' too."""
        return self.result().cost

    def result(self) -> PatternResult:
        """The race (or hedge) so far: the winner's answer (complete once the stream ended)."""
        response = self.winner.response or GenerateResponse(content="")
        attempts = tuple(self.attempts)
        return PatternResult(response=response, attempts=attempts, pattern=self._pattern)


Launch = Callable[[Callable[[int], None], Callable[[], Awaitable[None]]], Awaitable[None]]


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
    if every stream failed before its first token, `PatternTimeout` if no
    token came in time. Leaving the block cancels the winner too.
    """
    items = _llms(llms, "race_stream")

    async def all_at_once(start: Callable[[int], None], _: Callable[[], Awaitable[None]]) -> None:
        for index in range(len(items)):
            start(index)

    async with _first_token(items, prompt, timeout, options, all_at_once, "race") as stream:
        yield stream


@asynccontextmanager
async def hedge_stream(
    llms: LLM | Sequence[LLM],
    prompt: Any = None,
    *,
    after: float,
    max_attempts: int | None = None,
    timeout: float | None = None,
    **options: Any,
) -> AsyncIterator[RacedStream]:
    """`async with hedge_stream([a, b], "Hi", after=0.5) as s: async for chunk in s:`

    The first attempt streams; every `after` seconds without a first token
    (or at once when an attempt fails) the next one starts, cycling through
    `llms` up to `max_attempts` (default: at least 2). The first to send a
    token wins and the others are cancelled, as in `race_stream` — a hedge
    against a slow time to first token. `timeout` bounds the wait for it.
    """
    chain = _llms([llms] if isinstance(llms, LLM) else llms, "hedge_stream")
    count = hedge_attempts(after, max_attempts, len(chain))
    items = [chain[k % len(chain)] for k in range(count)]

    async def staggered(
        start: Callable[[int], None], failure: Callable[[], Awaitable[None]]
    ) -> None:
        for index in range(count):
            start(index)
            if index < count - 1:
                with trio.move_on_after(after):
                    await failure()  # an attempt failed: start the next one now

    async with _first_token(items, prompt, timeout, options, staggered, "hedge") as stream:
        yield stream


def _llms(llms: Sequence[LLM], pattern: str) -> list[LLM]:
    items = list(llms)
    if not items or not all(isinstance(x, LLM) for x in items):
        raise ValidationError(f"{pattern} takes a non-empty list of LLMs")
    return items


@asynccontextmanager
async def _first_token(
    items: list[LLM],
    prompt: Any,
    timeout: float | None,
    options: dict[str, Any],
    launch: Launch,
    pattern: str,
) -> AsyncIterator[RacedStream]:
    """Streams of `items`, started when `launch` says; the first token wins."""
    limit = check_timeout(timeout)
    attempts: list[Attempt] = []  # the started ones, in order
    send, recv = trio.open_memory_channel[Chunk](_BUFFER)
    decided = trio.Event()
    failed = trio.Event()  # pulsed by each failure
    scopes: list[trio.CancelScope] = [trio.CancelScope() for _ in items]
    winner: list[Attempt] = []
    errors: list[BaseException] = []

    def maybe_all_failed() -> None:
        nonlocal failed
        failed.set()
        failed = trio.Event()
        if len(attempts) == len(items) and all(a.status is Status.FAILED for a in attempts):
            decided.set()

    async def a_failure() -> None:
        await failed.wait()

    async def contend(index: int, llm: LLM, attempt: Attempt) -> None:
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

        def start(index: int) -> None:
            if decided.is_set() or scopes[index].cancel_called:
                return
            llm = items[index]
            attempt = Attempt(
                label=label_of(llm, index), index=index, started_at=trio.current_time()
            )
            attempts.append(attempt)
            nursery.start_soon(contend, index, llm, attempt)

        launching = trio.CancelScope()

        async def launcher() -> None:
            with launching:
                await launch(start, a_failure)

        nursery.start_soon(launcher)
        with trio.move_on_after(limit):
            await decided.wait()
        launching.cancel()  # decided (or timed out): start no more attempts
        for scope in scopes[len(attempts) :]:
            scope.cancel()
        if not winner:
            nursery.cancel_scope.cancel()
        else:
            try:
                yield RacedStream(recv, winner[0], attempts, errors, pattern)
            finally:
                recv.close()
                nursery.cancel_scope.cancel()
    if not winner:
        if attempts and all(a.status is Status.FAILED for a in attempts):
            raise AllAttemptsFailed(f"{pattern}_stream", failures(attempts))
        raise PatternTimeout(
            f"{pattern}_stream",
            f"no first token within {timeout}s from {len(attempts)} stream(s)",
            [a.label for a in attempts],
        )
