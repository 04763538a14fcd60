"""`ensemble`: ask several contenders at once and combine their answers.

Combiners: "vote" (majority of normalised answers), "concat", "judge" (a
judge LLM picks the best), or your own function (sync or async) of the list
of responses. With `min_responses`, the ensemble stops waiting as soon as
that many good answers are in and cancels the rest (a quorum).
"""

from __future__ import annotations

import inspect
import re
import unicodedata
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import trio

from .._call_rules import check_timeout
from .._providers import LLM
from ..errors import QuorumNotReached, ValidationError
from ..types import GenerateResponse, Usage
from ._attempts import (
    Attempt,
    Contender,
    PatternResult,
    Status,
    check_contenders,
    new_attempts,
    settle,
)
from ._race import failures

Combiner = Callable[
    [list[GenerateResponse]], GenerateResponse | str | Awaitable[GenerateResponse | str]
]

_PUNCTUATION = re.compile(r"[^\w\s]")
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """What counts as 'the same answer' for a vote: case, accents, punctuation, spaces."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return _SPACES.sub(" ", _PUNCTUATION.sub(" ", text)).strip()


def _vote(answered: list[Attempt]) -> list[Attempt]:
    """The attempts that gave the most common answer (ties: the earliest to finish)."""
    keys = {id(a): normalise(a.response.content if a.response else "") for a in answered}
    counts = Counter(keys.values())
    best = max(counts.values())
    by_finish = sorted(answered, key=lambda a: a.ended_at or 0.0)
    top = next(keys[id(a)] for a in by_finish if counts[keys[id(a)]] == best)
    return [a for a in by_finish if keys[id(a)] == top]


def _merged(response: GenerateResponse, content: str, used: list[Attempt]) -> GenerateResponse:
    usage = Usage()
    for attempt in used:
        usage = usage + attempt.usage
    return GenerateResponse(
        content=content,
        tool_calls=response.tool_calls,
        finish_reason=response.finish_reason,
        usage=usage,
        model=",".join(a.label for a in used),
        provider="ensemble",
        timings=response.timings,
        request_id=response.request_id,
    )


async def _judge(
    judge: LLM, prompt: Any, answered: list[Attempt], attempts: list[Attempt]
) -> list[Attempt]:
    candidates = "\n\n".join(
        f"[{n}] {a.response.content if a.response else ''}" for n, a in enumerate(answered, 1)
    )
    question = prompt if isinstance(prompt, str) else "(a conversation)"
    verdict = await judge.generate(
        f"Question: {question}\n\nCandidate answers:\n\n{candidates}\n\n"
        f"Which candidate answers the question best? Reply with its number only.",
        max_tokens=8,
        temperature=0,
    )
    attempts.append(
        Attempt(
            label=f"judge:{judge.provider}/{judge.model}",
            index=len(attempts),
            started_at=trio.current_time(),
            status=Status.WON,
            ended_at=trio.current_time(),
            response=verdict,
        )
    )
    match = re.search(r"\d+", verdict.content)
    if match and 1 <= int(match.group()) <= len(answered):
        return [answered[int(match.group()) - 1]]
    return _vote(answered)  # an unparseable verdict falls back to the vote


async def ensemble(
    contenders: Sequence[Contender],
    prompt: Any = None,
    *,
    combine: str | Combiner = "vote",
    judge: LLM | None = None,
    min_responses: int | None = None,
    timeout: float | None = None,
    **options: Any,
) -> PatternResult:
    """Fan out to every contender concurrently and combine the answers.

    Waits for all answers, or until `min_responses` good ones are in (then
    cancels the rest), or until `timeout` (then uses what arrived, if it
    reaches the quorum). Failed attempts are tolerated and reported in
    `result.attempts`. Raises `QuorumNotReached` when fewer than
    `min_responses` (default 1) answers arrived.
    """
    items = check_contenders(contenders, "ensemble")
    limit = check_timeout(timeout)
    quorum = min_responses if min_responses is not None else len(items)
    if not 1 <= quorum <= len(items):
        raise ValidationError(
            f"min_responses must be between 1 and the number of contenders ({len(items)})"
        )
    if combine == "judge" and judge is None:
        raise ValidationError('combine="judge" needs judge=<an LLM>')
    if isinstance(combine, str) and combine not in ("vote", "concat", "judge"):
        raise ValidationError(
            f"unknown combine {combine!r}: use 'vote', 'concat', 'judge' or a function"
        )
    attempts = new_attempts(items)
    answered: list[Attempt] = []

    async def attempt_one(contender: Contender, attempt: Attempt, nursery: trio.Nursery) -> None:
        if await settle(contender, attempt, prompt, options) is None:
            return
        attempt.end(Status.FINISHED)
        answered.append(attempt)
        if len(answered) >= quorum:
            nursery.cancel_scope.cancel()  # quorum reached: stop waiting for the rest

    with trio.move_on_after(limit):
        async with trio.open_nursery() as nursery:
            for contender, attempt in zip(items, attempts, strict=True):
                nursery.start_soon(attempt_one, contender, attempt, nursery)
    needed = min_responses or 1
    if len(answered) < needed:
        raise QuorumNotReached("ensemble", failures(attempts))
    # Contender order, not arrival order: a judge numbers the candidates and a
    # custom combiner gets a list, and both must not depend on network timing.
    answered.sort(key=lambda a: a.index)

    if callable(combine):
        combined = combine([a.response for a in answered if a.response is not None])
        if inspect.isawaitable(combined):
            combined = await combined
        used = answered
        base = answered[0].response
        assert base is not None
        content = combined if isinstance(combined, str) else combined.content
        response = combined if isinstance(combined, GenerateResponse) else None
    else:
        if combine == "concat":
            used = answered
            content = "\n\n".join(
                f"[{a.label}]\n{a.response.content if a.response else ''}" for a in used
            )
        elif combine == "judge":
            assert judge is not None
            used = await _judge(judge, prompt, answered, attempts)
            content = used[0].response.content if used[0].response else ""
        else:
            used = _vote(answered)
            content = used[0].response.content if used[0].response else ""
        base = used[0].response
        assert base is not None
        response = None
    for attempt in used:
        attempt.status = Status.WON
    final = response or _merged(base, content, used)
    return PatternResult(response=final, attempts=tuple(attempts), pattern="ensemble")
