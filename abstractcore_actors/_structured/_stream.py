"""`stream_structured`: partial objects as the JSON grows, checked as they grow.

A producer task (in a nursery that the `async with` owns) reads the
upstream stream and hands partials to the caller over an unbuffered
channel: the caller's pace is the producer's pace. The moment a finished
field is already wrong (a wrong type, a value outside its enum, a field the
schema does not have) the producer leaves the upstream stream's block —
which closes the upstream connection — and asks again, with the problems,
instead of paying for the rest of a doomed answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, final

import trio

from .._providers import LLM
from .._schema import Problem, StreamingValidator
from ..errors import ProviderError
from ..types import GenerateResponse, Message, Request, Usage
from ._incremental import IncrementalJSON
from ._modes import Mode, ModeChoice, attempt_request, check_base, chunk_text, feedback, pick_mode
from ._response_model import ResponseModel
from ._response_model import response_model as describe
from ._result import StructuredAttempt, StructuredOutputError, StructuredResult
from ._sequential import check_attempts, judge
from ._view import Partial

_Item = tuple[int, Partial[Any]]


@final
class StructuredStream:
    """`async for partial in stream:` yields `Partial` views (attribute access,
    `is_complete(field)`, `to_dict()`), each a snapshot of the JSON so far:
    finished values as they will stay, a string in progress as a prefix of
    its final text. When an attempt is stopped and retried, the
    next partials start over; `attempt` is the number (from 0) of the
    attempt the last partial came from. After the loop, `result()` is the
    validated `StructuredResult` (or raises `StructuredOutputError`)."""

    def __init__(self, receive: trio.MemoryReceiveChannel[_Item]) -> None:
        self._receive = receive
        self.attempt = 0
        self._result: StructuredResult[Any] | None = None
        self._error: BaseException | None = None

    def __aiter__(self) -> StructuredStream:
        return self

    async def __anext__(self) -> Partial[Any]:
        try:
            self.attempt, partial = await self._receive.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            if self._error is not None:
                raise self._error from None
            raise StopAsyncIteration from None
        return partial

    async def result(self) -> StructuredResult[Any]:
        """Wait for the end (skipping partials not read) and return the validated
        answer; raises StructuredOutputError or the provider's error."""
        async for _ in self:
            pass
        assert self._result is not None
        return self._result

    @property
    def value(self) -> Any:
        """The validated instance, once the stream has ended."""
        if self._result is None:
            raise RuntimeError("the stream has not ended yet: read it to the end first")
        return self._result.value


@asynccontextmanager
async def stream_structured(
    llm: LLM,
    prompt: Any = None,
    *,
    response_model: Any,
    max_attempts: int = 3,
    mode: ModeChoice = "auto",
    timeout: float | None = None,
    **options: Any,
) -> AsyncIterator[StructuredStream]:
    """Stream a structured answer: `async with stream_structured(llm, p,
    response_model=M) as s: async for partial in s: ...`, then `await s.result()`.

    Arguments as `generate_structured`. An attempt is stopped at its first
    finished invalid field (its connection closed) and retried with the
    problems as feedback, up to `max_attempts` attempts in all; the result's
    attempts tell after how many chunks each stopped attempt was cut
    (`aborted_after_chunks`). Raises ValidationError at the call for a bad
    response model; the loop raises StructuredOutputError or a ProviderError.
    Leaving the block (early, by an error or a cancel) stops the producer and
    closes the upstream connection before the block exits.
    """
    check_attempts(max_attempts)
    model = describe(response_model)
    chosen = pick_mode(llm, mode)
    base = llm.request(prompt, **options)
    check_base(base)
    send, receive = trio.open_memory_channel[_Item](0)
    stream = StructuredStream(receive)
    producer = _Producer(llm, model, chosen, base, max_attempts, timeout, stream)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(producer.run, send)
            try:
                yield stream
            finally:
                nursery.cancel_scope.cancel()
                receive.close()
    except BaseExceptionGroup as group:
        # The producer never raises (its errors reach the caller through the
        # stream), so a lone error here is the caller's own: give it back as
        # it was raised, not wrapped in a group by our nursery.
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from None
        raise


class _Producer:
    def __init__(
        self,
        llm: LLM,
        model: ResponseModel[Any],
        mode: Mode,
        base: Request,
        max_attempts: int,
        timeout: float | None,
        stream: StructuredStream,
    ) -> None:
        self.llm, self.model, self.mode, self.base = llm, model, mode, base
        self.max_attempts, self.timeout, self.stream = max_attempts, timeout, stream
        self.records: list[StructuredAttempt] = []

    async def run(self, send: trio.MemorySendChannel[_Item]) -> None:
        # Errors go to the caller through the stream, not through the nursery,
        # so the caller sees the error itself rather than an ExceptionGroup.
        async with send:
            try:
                await self._attempts(send)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass  # the caller left
            except Exception as exc:
                self.stream._error = exc

    async def _attempts(self, send: trio.MemorySendChannel[_Item]) -> None:
        history: tuple[Message, ...] = ()
        for index in range(self.max_attempts):
            request = attempt_request(self.base, self.model, self.mode, history)
            try:
                text, problems, response, cut = await self._one(index, request, send)
            except ProviderError as exc:
                exc.earlier_attempts = tuple(self.records)  # their usage is not lost
                raise
            value = None
            usage = response.usage if response is not None else Usage(completion_tokens=cut or 0)
            if response is not None:
                value, problems = judge(self.model, text, response.finish_reason)
            self.records.append(
                StructuredAttempt(
                    index=index,
                    raw=text,
                    problems=tuple(problems),
                    usage=usage,
                    aborted_after_chunks=cut,
                    cost=response.cost if response is not None else self.llm.cost(usage),
                )
            )
            if not problems:
                self.stream._result = StructuredResult(
                    value=value,
                    raw=text,
                    attempts=tuple(self.records),
                    mode=self.mode,
                    response=response,
                    max_tokens=self.base.max_tokens,
                )
                return
            history = (*history, *feedback(text, problems, cut_short=cut is not None))
        self.stream._error = StructuredOutputError(
            tuple(self.records), self.model.name, max_tokens=self.base.max_tokens
        )

    async def _one(
        self,
        index: int,
        request: Request,
        send: trio.MemorySendChannel[_Item],
    ) -> tuple[str, list[Problem], GenerateResponse | None, int | None]:
        """Stream one attempt: (text, problems so far, the whole response — None
        when cut — and the chunks read when cut)."""
        pieces: list[str] = []
        chunks = 0
        parser = IncrementalJSON()
        check = _Check(self.model, parser, index, send)
        async with self.llm.stream_request(request, timeout=self.timeout) as upstream:
            async for chunk in upstream:
                chunks += 1
                piece = chunk_text(chunk, self.mode)
                if not piece:
                    continue
                pieces.append(piece)
                # Check only when a value began or ended in the piece: a string
                # growing in between changes nothing the schema can judge early.
                if not parser.feed(piece):
                    continue
                problems = await check()
                if problems:
                    # Leaving the block closes the upstream connection now.
                    # Usage is unknown (it comes on the last chunk): count chunks.
                    return "".join(pieces), problems, None, chunks
            response = upstream.response()
        text = "".join(pieces)
        await check()  # the tail after the last value's end
        return text, [], response, None


class _Check:
    """Judge the partial so far, and send it when it fits and has changed.

    Each check costs what changed since the last (IncrementalJSON and
    StreamingValidator keep their state), so an answer costs time linear in
    its length however many chunks it comes in."""

    def __init__(
        self,
        model: ResponseModel[Any],
        parser: IncrementalJSON,
        index: int,
        send: trio.MemorySendChannel[_Item],
    ) -> None:
        self.model, self.parser, self.index, self.send = model, parser, index, send
        self.validator = StreamingValidator(model.schema)
        self.sent = -1  # the parser's version last sent

    async def __call__(self) -> list[Problem]:
        parser = self.parser
        if not parser.usable or parser.version == self.sent:
            return []
        assert parser.root is not None
        parser.refresh()
        problems = self.validator.problems(parser.root, complete=False)
        if problems:
            return problems
        partial = Partial[Any](parser.snapshot(), self.model.schema, done=parser.closed)
        self.sent = parser.version
        await self.send.send((self.index, partial))
        return []
