"""Structured output, concurrently: rounds of a race whose `accept` is validation.

Each round races `count` attempts (the LLMs given, in turn); the first
answer that fits the response model wins and the others are cancelled,
their connections closed, before the round returns. An answer that does not
fit only drops out of its round. When a round ends with no valid answer,
the next round's attempts are shown the best invalid answer of that round
(the fewest problems; the earliest on a tie) and its problems, as the
sequential mode does, up to `max_attempts` rounds. The core this builds on
(`structured_core`) sits below sessions; this module is why the concurrent
mode lives here, above them.
"""

from __future__ import annotations

from typing import Any

import attrs

from .._providers import LLM
from .._schema import Problem
from ..errors import AllAttemptsFailed
from ..patterns import Attempt, Status, race
from ..types import Cost, GenerateResponse, Message, Request, Usage
from ._modes import Mode, ModeChoice, answer_text, attempt_request, check_base, feedback, pick_mode
from ._response_model import ResponseModel
from ._result import StructuredAttempt, StructuredOutputError, StructuredResult
from ._sequential import judge


@attrs.frozen(kw_only=True)
class _Plan:
    llm: LLM
    mode: Mode
    base: Request


@attrs.frozen(kw_only=True)
class _Judged:
    """An answer of this round, as judged: `order` is when it was judged."""

    order: int
    raw: str
    value: Any
    problems: tuple[Problem, ...]
    response: GenerateResponse


@attrs.frozen(kw_only=True)
class _Round:
    records: tuple[StructuredAttempt, ...]
    winner: tuple[_Judged, GenerateResponse, Mode] | None
    best_invalid: _Judged | None
    failure: AllAttemptsFailed | None


async def race_structured(
    llms: list[LLM],
    prompt: Any,
    model: ResponseModel[Any],
    *,
    mode: ModeChoice,
    count: int,
    max_attempts: int,
    timeout: float | None,
    options: dict[str, Any],
) -> StructuredResult[Any]:
    """`generate_structured(..., concurrent=True)`: see the module docstring.

    Raises StructuredOutputError when `max_attempts` rounds passed with no
    valid answer, or as soon as a round ends with no answer at all (every
    attempt failed: there is nothing to give as feedback, and the providers
    already retried); every attempt of every round is in `.attempts`.
    """
    plans = []
    for i in range(count):
        one = llms[i % len(llms)]
        base = one.request(prompt, **options)
        check_base(base)  # every plan is checked before any call starts
        plans.append(_Plan(llm=one, mode=pick_mode(one, mode), base=base))
    max_tokens = plans[0].base.max_tokens
    records: list[StructuredAttempt] = []
    history: tuple[Message, ...] = ()
    for round_no in range(max_attempts):
        outcome = await _run_round(plans, model, history, round_no, len(records), timeout)
        records.extend(outcome.records)
        if outcome.winner is not None:
            won, response, won_mode = outcome.winner
            return StructuredResult(
                value=won.value,
                raw=won.raw,
                attempts=tuple(records),
                mode=won_mode,
                response=response,
                max_tokens=max_tokens,
            )
        if outcome.best_invalid is None:
            error = StructuredOutputError(tuple(records), model.name, max_tokens=max_tokens)
            raise error from outcome.failure
        best = outcome.best_invalid
        history = (*history, *feedback(best.raw, list(best.problems)))
    raise StructuredOutputError(tuple(records), model.name, max_tokens=max_tokens)


async def _run_round(
    plans: list[_Plan],
    model: ResponseModel[Any],
    history: tuple[Message, ...],
    round_no: int,
    first_index: int,
    timeout: float | None,
) -> _Round:
    judged: dict[int, _Judged] = {}  # contender index -> its judged answer
    requests = [attempt_request(p.base, model, p.mode, history) for p in plans]

    def contender(index: int) -> Any:
        plan = plans[index]

        async def attempt() -> GenerateResponse:
            response = await plan.llm.generate_request(requests[index], timeout=timeout)
            raw = answer_text(response, model, plan.mode)
            value, problems = judge(model, raw, response.finish_reason)
            judged[index] = _Judged(
                order=len(judged),
                raw=raw,
                value=value,
                problems=tuple(problems),
                response=response,
            )
            return response

        attempt.__name__ = f"{plan.llm.provider}/{plan.llm.model}#{index}"
        return attempt

    def accept(response: GenerateResponse) -> bool:
        return not next(j for j in judged.values() if j.response is response).problems

    try:
        result = await race([contender(i) for i in range(len(plans))], accept=accept)
    except AllAttemptsFailed as exc:
        errors = _errors_by_index(exc)
        records = tuple(
            _record(i, judged.get(i), errors.get(i), None, round_no, first_index)
            for i in range(len(plans))
        )
        invalid = [j for j in judged.values() if j.problems]
        best = min(invalid, key=lambda j: (len(j.problems), j.order)) if invalid else None
        return _Round(records=records, winner=None, best_invalid=best, failure=exc)
    records = tuple(
        _record(a.index, judged.get(a.index), a.error, a, round_no, first_index)
        for a in result.attempts
    )
    won = next(a for a in result.attempts if a.status is Status.WON)
    return _Round(
        records=records,
        winner=(judged[won.index], result.response, plans[won.index].mode),
        best_invalid=None,
        failure=None,
    )


def _errors_by_index(exc: AllAttemptsFailed) -> dict[int, BaseException]:
    """Contender index -> its error, from the race's labels (`...#index`)."""
    return {
        int(label.rsplit("#", 1)[1]): e for label, e in zip(exc.labels, exc.errors, strict=True)
    }


def _record(
    index: int,
    answer: _Judged | None,
    error: BaseException | None,
    race_attempt: Attempt | None,
    round_no: int,
    first_index: int,
) -> StructuredAttempt:
    """One attempt's record. An answer that did not fit has its problems and no
    error (the race calls it "rejected by accept"; the problems say it better)."""
    cost: Cost | None = None
    if answer is not None:
        usage, cost = answer.response.usage, answer.response.cost
    elif race_attempt is not None:
        usage = race_attempt.usage  # a cancelled attempt: the tokens seen so far
        cost = race_attempt.cost
    else:
        usage = Usage()
    return StructuredAttempt(
        index=first_index + index,
        raw=answer.raw if answer else "",
        problems=answer.problems if answer else (),
        usage=usage,
        error=None if answer else error,
        cancelled=race_attempt is not None and race_attempt.status is Status.CANCELLED,
        round=round_no,
        cost=cost,
    )
