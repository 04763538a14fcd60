"""`race`: start every contender; the first acceptable answer wins, the rest are cancelled.

The race is a supervisor in the trio sense: one nursery over one task per
attempt. Each LLM attempt is a stream through its provider actor, and the
kernel's cancel protocol means a cancelled attempt returns only after its
actor confirmed the upstream request stopped — so by the time `race`
returns, every loser's connection is closed.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import trio

from .._call_rules import check_timeout
from ..errors import AllAttemptsFailed, PatternTimeout, ValidationError
from ..types import GenerateResponse
from ._attempts import (
    Attempt,
    Contender,
    PatternResult,
    Status,
    check_contenders,
    new_attempts,
    settle,
)

Accept = Callable[[GenerateResponse], bool | Awaitable[bool]]


async def accepted(accept: Accept | None, response: GenerateResponse) -> bool:
    if accept is None:
        return True
    verdict = accept(response)
    if inspect.isawaitable(verdict):
        verdict = await verdict
    return bool(verdict)


def failures(attempts: Sequence[Attempt]) -> list[tuple[str, BaseException]]:
    out: list[tuple[str, BaseException]] = []
    for a in attempts:
        if a.error is not None:
            out.append((a.label, a.error))
        elif a.status is Status.REJECTED:
            out.append((a.label, ValidationError("the answer was rejected by accept")))
    return out


async def race(
    contenders: Sequence[Contender],
    prompt: Any = None,
    *,
    accept: Accept | None = None,
    timeout: float | None = None,
    **options: Any,
) -> PatternResult:
    """The first answer that passes `accept` (default: any answer) wins.

    Every other attempt is cancelled, and its upstream connection closed,
    before this returns. `result.attempts` tells each one's fate and usage
    (`result.wasted_usage` is what racing cost). Raises `AllAttemptsFailed`
    (every cause in `.errors`) when no attempt produced an acceptable answer,
    `PatternTimeout` when `timeout` passed first. Cancelling the caller
    cancels every attempt.
    """
    items = check_contenders(contenders, "race")
    limit = check_timeout(timeout)
    attempts = new_attempts(items)
    winner: list[Attempt] = []

    async def judged(response: GenerateResponse) -> bool:
        return await accepted(accept, response)

    async def attempt_one(contender: Contender, attempt: Attempt, nursery: trio.Nursery) -> None:
        if await settle(contender, attempt, prompt, options, judged) is None:
            return
        if winner:
            attempt.end(Status.FINISHED)
            return
        winner.append(attempt)
        attempt.end(Status.WON)
        nursery.cancel_scope.cancel()

    with trio.move_on_after(limit):
        async with trio.open_nursery() as nursery:
            for contender, attempt in zip(items, attempts, strict=True):
                nursery.start_soon(attempt_one, contender, attempt, nursery)
    if winner:
        assert winner[0].response is not None
        return PatternResult(response=winner[0].response, attempts=tuple(attempts), pattern="race")
    if all(a.status is not Status.CANCELLED for a in attempts):
        raise AllAttemptsFailed("race", failures(attempts))
    raise PatternTimeout(
        "race",
        f"no acceptable answer within {timeout:g}s from {len(items)} contender(s)",
        [a.label for a in attempts],
    )
