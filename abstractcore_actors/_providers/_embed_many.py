"""`embed_many`: embed a large list of texts in batches, a few at a time.

For offline work (indexing a corpus): the texts are cut into requests of
`batch_size`, at most `concurrency` of them in flight, each under the
provider's policies like any `embed` call; the vectors come back in input
order, with the usage and cost of every request summed. `progress(done,
total)` is called as texts are embedded. The first failure cancels the
requests still in flight and is raised as it is; cancelling the caller
cancels them all.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence

import attrs
import trio

from .._accounting import Cost, Usage
from ..errors import ValidationError
from ..types import EmbeddingResponse
from ._embed import MAX_INPUTS, build_embedding_request
from ._llm import LLM

Progress = Callable[[int, int], object | Awaitable[object]]


def _check(texts: Sequence[str], batch_size: int, concurrency: int) -> None:
    if isinstance(texts, str | bytes) or not isinstance(texts, Sequence):
        raise ValidationError(f"embed_many takes a list of strings, not {type(texts).__name__}")
    if not texts:
        raise ValidationError("nothing to embed: pass a non-empty list of strings")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int):
        raise ValidationError(f"batch_size must be an integer (got {batch_size!r})")
    if not 1 <= batch_size <= MAX_INPUTS:
        raise ValidationError(f"batch_size must be 1 to {MAX_INPUTS} (got {batch_size})")
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValidationError(f"concurrency must be an integer >= 1 (got {concurrency!r})")


async def embed_many(
    llm: LLM,
    texts: Sequence[str],
    *,
    batch_size: int = 256,
    concurrency: int = 4,
    dimensions: int | None = None,
    timeout: float | None = None,
    progress: Progress | None = None,
) -> EmbeddingResponse:
    """One vector per text, in order (see the module docstring). Raises
    ValidationError naming the bad text before any request is sent."""
    _check(texts, batch_size, concurrency)
    requests = [
        build_embedding_request(list(texts[start : start + batch_size]), dimensions=dimensions)
        for start in range(0, len(texts), batch_size)
    ]
    answers: list[EmbeddingResponse | None] = [None] * len(requests)
    slots = trio.CapacityLimiter(concurrency)
    done = 0

    async def one(index: int) -> None:
        nonlocal done
        async with slots:
            answers[index] = await llm.embed_request(requests[index], timeout=timeout)
        done += len(requests[index])
        if progress is not None:
            reported = progress(done, len(texts))
            if inspect.isawaitable(reported):
                await reported

    start = trio.current_time()
    try:
        async with trio.open_nursery() as nursery:
            for index in range(len(requests)):
                nursery.start_soon(one, index)
    except BaseExceptionGroup as group:
        if len(group.exceptions) == 1:  # the first failure; the others were cancelled
            raise group.exceptions[0] from None
        raise
    parts = [a for a in answers if a is not None]
    assert len(parts) == len(requests)
    usage, cost = Usage(), Cost()
    for part in parts:
        usage += part.usage
        cost = cost + part.cost if part.cost is not None else cost
    return attrs.evolve(
        parts[0],
        vectors=tuple(v for part in parts for v in part.vectors),
        usage=usage,
        cost=cost if all(p.cost is not None for p in parts) else None,
        request_id=parts[0].request_id,
        duration=trio.current_time() - start,
    )
