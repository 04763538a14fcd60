"""`hedge`: start another attempt when the first is slow; the first to finish wins.

With one LLM, the hedges are the same call again (a slow request on a
loaded replica is often beaten by a fresh one). With several contenders it
is a fallback chain with hedging: attempt k uses contender k, started after
`after` seconds — or at once when the attempt before it failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import trio

from .._call_rules import check_timeout
from .._providers import LLM
from ..errors import AllAttemptsFailed, PatternTimeout, ValidationError
from ._attempts import (
    Attempt,
    Contender,
    PatternResult,
    Status,
    check_contenders,
    label_of,
    settle,
)
from ._race import failures


def hedge_attempts(after: float, max_attempts: int | None, chain: int) -> int:
    """How many attempts a hedge over `chain` contenders makes (default: the
    chain's length, at least 2); ValidationError for a bad `after` or count."""
    if not after >= 0:
        raise ValidationError(f"after must be >= 0 seconds (got {after!r})")
    count = max_attempts if max_attempts is not None else max(2, chain)
    if count < 1:
        raise ValidationError(f"max_attempts must be >= 1 (got {max_attempts})")
    return count


async def hedge(
    contenders: Contender | Sequence[Contender],
    prompt: Any = None,
    *,
    after: float,
    max_attempts: int | None = None,
    timeout: float | None = None,
    **options: Any,
) -> PatternResult:
    """Run the first attempt; every `after` seconds without an answer, start the next.

    The first answer wins and the other attempts are cancelled (their
    connections closed) before this returns. Raises `AllAttemptsFailed` when
    every attempt failed, `PatternTimeout` after `timeout`.
    """
    chain = check_contenders(
        [contenders] if isinstance(contenders, LLM) or callable(contenders) else contenders,
        "hedge",
    )
    count = hedge_attempts(after, max_attempts, len(chain))
    limit = check_timeout(timeout)
    attempts: list[Attempt] = []
    winner: list[Attempt] = []
    failed = trio.Event()  # pulsed when an attempt fails: start the next one now

    async def attempt_one(contender: Contender, attempt: Attempt, nursery: trio.Nursery) -> None:
        nonlocal failed
        response = await settle(contender, attempt, prompt, options)
        if response is None:
            failed.set()
            return
        if winner:
            attempt.end(Status.FINISHED)
            return
        attempt.response = response
        winner.append(attempt)
        attempt.end(Status.WON)
        nursery.cancel_scope.cancel()

    with trio.move_on_after(limit):
        async with trio.open_nursery() as nursery:
            for k in range(count):
                contender = chain[k % len(chain)]
                attempt = Attempt(
                    label=label_of(contender, k), index=k, started_at=trio.current_time()
                )
                attempts.append(attempt)
                nursery.start_soon(attempt_one, contender, attempt, nursery)
                if k == count - 1:
                    break
                failed = trio.Event()
                with trio.move_on_after(after):
                    await failed.wait()
    if winner:
        assert winner[0].response is not None
        return PatternResult(response=winner[0].response, attempts=tuple(attempts), pattern="hedge")
    if all(a.status is Status.FAILED for a in attempts):
        raise AllAttemptsFailed("hedge", failures(attempts))
    raise PatternTimeout(
        "hedge",
        f"no answer within {timeout}s after {len(attempts)} attempt(s)",
        [a.label for a in attempts],
    )
