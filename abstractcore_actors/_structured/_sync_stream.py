"""The two halves of `SyncLLM.stream_structured`: an async iterator that the
runtime's thread pumps (each partial with its attempt number, then the
result), and the blocking stream the caller's thread reads.

They live here, not in `sync.py`, because they only know structured output:
`sync.py` pumps them the way it pumps chunks, through the same channel.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any, final

from ._result import StructuredResult
from ._stream import StructuredStream
from ._view import Partial

Item = tuple[int, Partial[Any]] | StructuredResult[Any]


@final
class PartialsThenResult:
    """`(attempt, partial)` for each partial of `stream`, then its `StructuredResult`.

    A class rather than an async generator, so a cancelled pump leaves no
    half-run generator for the garbage collector to finalise."""

    def __init__(self, stream: StructuredStream) -> None:
        self._stream = stream
        self._done = False

    def __aiter__(self) -> PartialsThenResult:
        return self

    async def __anext__(self) -> Item:
        if self._done:
            raise StopAsyncIteration
        try:
            partial = await self._stream.__anext__()
        except StopAsyncIteration:
            self._done = True
            return await self._stream.result()
        return (self._stream.attempt, partial)


@final
class SyncStructuredStream:
    """`for partial in stream:` yields `Partial` views as the JSON grows (see
    `StructuredStream`); `attempt` is the attempt the last one came from.
    After the loop, `result()` is the validated `StructuredResult` (or the
    loop raised StructuredOutputError / the provider's error). Leaving the
    loop early (break, an exception) or `close()` cancels the call and closes
    its connection; so does leaving a `with` block."""

    def __init__(self, items: Generator[Item, None, None]) -> None:
        self._items = items
        self.attempt = 0
        self._result: StructuredResult[Any] | None = None

    def __iter__(self) -> Iterator[Partial[Any]]:
        finished = False
        try:
            for item in self._items:
                if isinstance(item, StructuredResult):
                    self._result = item
                else:
                    self.attempt, partial = item
                    yield partial
            finished = True
        finally:
            if not finished:
                self._items.close()  # stops the pump: the upstream call is cancelled

    def result(self) -> StructuredResult[Any]:
        """Read to the end (skipping partials not read) and return the result."""
        for _ in self:
            pass
        if self._result is None:
            raise RuntimeError(
                "the stream was stopped before its end, so it has no result: "
                "read it to the end, or call result() without breaking out of the loop"
            )
        return self._result

    @property
    def value(self) -> Any:
        """The validated instance, once the stream has ended."""
        if self._result is None:
            raise RuntimeError("the stream has not ended yet: read it to the end first")
        return self._result.value

    def close(self) -> None:
        """Stop the stream now (idempotent): the upstream call is cancelled."""
        self._items.close()

    def __enter__(self) -> SyncStructuredStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
