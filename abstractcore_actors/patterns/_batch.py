"""`batch`: run many prompts through one LLM with bounded concurrency, results in order."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import attrs
import trio

from .._providers import LLM
from ..errors import ValidationError
from ..types import GenerateResponse, Usage

Progress = Callable[[int, int], Awaitable[None] | None]


@attrs.frozen(kw_only=True)
class BatchResult:
    """One entry per prompt, in input order: a GenerateResponse or the exception."""

    results: tuple[GenerateResponse | Exception, ...]

    @property
    def responses(self) -> list[GenerateResponse]:
        return [r for r in self.results if isinstance(r, GenerateResponse)]

    @property
    def errors(self) -> list[tuple[int, Exception]]:
        return [(i, r) for i, r in enumerate(self.results) if isinstance(r, Exception)]

    @property
    def usage(self) -> Usage:
        total = Usage()
        for response in self.responses:
            total = total + response.usage
        return total


async def batch(
    llm: LLM,
    prompts: Sequence[Any],
    *,
    concurrency: int = 8,
    fail_fast: bool = False,
    on_progress: Progress | None = None,
    **options: Any,
) -> BatchResult:
    """Answer every prompt, at most `concurrency` at a time, results in input order.

    `fail_fast=True`: the first error cancels the rest and is raised.
    Otherwise errors are collected in place. `on_progress(done, total)` (sync
    or async) is called after each prompt finishes.
    """
    if not isinstance(llm, LLM):
        raise ValidationError("batch takes an LLM as its first argument")
    if concurrency < 1:
        raise ValidationError(f"concurrency must be >= 1 (got {concurrency})")
    total = len(prompts)
    results: list[GenerateResponse | Exception | None] = [None] * total
    limiter = trio.CapacityLimiter(concurrency)
    done = 0

    async def one(index: int, prompt: Any) -> None:
        nonlocal done
        async with limiter:
            try:
                results[index] = await llm.generate(prompt, **options)
            except Exception as exc:
                if fail_fast:
                    raise
                results[index] = exc
        done += 1
        if on_progress is not None:
            outcome = on_progress(done, total)
            if inspect.isawaitable(outcome):
                await outcome

    try:
        async with trio.open_nursery() as nursery:
            for index, prompt in enumerate(prompts):
                nursery.start_soon(one, index, prompt)
    except BaseExceptionGroup as group:
        first = group.exceptions[0]
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from None
    return BatchResult(results=tuple(r for r in results if r is not None))
