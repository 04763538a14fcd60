"""One structured call at a time: an answer that fits a response model, retried
with feedback. The concurrent mode (`concurrent=True`) races these attempts
(`_race.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._providers import LLM
from .._schema import Problem
from ..errors import ProviderError, ValidationError
from ..types import Message
from ._modes import ModeChoice, answer_text, attempt_request, check_base, feedback, pick_mode
from ._partial import NotJSON, parse_complete
from ._response_model import Invalid, ResponseModel
from ._result import StructuredAttempt, StructuredOutputError, StructuredResult

CUT_OFF: Problem = ("the answer", "was cut off at max_tokens before it ended; raise max_tokens")


def judge(
    model: ResponseModel[Any], text: str, finish_reason: str | None = None
) -> tuple[Any, list[Problem]]:
    """(the instance, []) when `text` fits the model, else (None, what is wrong)."""
    try:
        parsed = parse_complete(text)
    except NotJSON as exc:
        problems = [("the answer", str(exc))]
    else:
        try:
            return model.parse(parsed), []
        except Invalid as exc:
            problems = exc.problems
    if finish_reason == "length":
        problems = [*problems, CUT_OFF]
    return None, problems


def check_attempts(max_attempts: int) -> None:
    if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
        raise ValidationError(f"max_attempts must be a positive integer (got {max_attempts!r})")


def llm_list(llm: LLM | Sequence[LLM]) -> list[LLM]:
    items = [llm] if isinstance(llm, LLM) else list(llm)
    if not items or not all(isinstance(i, LLM) for i in items):
        raise ValidationError("pass an LLM, or for concurrent=True a list of LLMs")
    return items


async def generate_sequential(
    llm: LLM,
    prompt: Any,
    model: ResponseModel[Any],
    *,
    max_attempts: int,
    mode: ModeChoice,
    timeout: float | None,
    options: dict[str, Any],
) -> StructuredResult[Any]:
    """`generate_structured` without `concurrent`: one call at a time; when an
    answer does not fit, the model is shown it and its problems and asked
    again, up to `max_attempts` calls in all (see the public docstring)."""
    one = llm
    chosen = pick_mode(one, mode)
    base = one.request(prompt, **options)
    check_base(base)
    records: list[StructuredAttempt] = []
    history: tuple[Message, ...] = ()
    for index in range(max_attempts):
        request = attempt_request(base, model, chosen, history)
        try:
            response = await one.generate_request(request, timeout=timeout)
        except ProviderError as exc:
            exc.earlier_attempts = tuple(records)  # their usage is not lost
            raise
        raw = answer_text(response, model, chosen)
        value, problems = judge(model, raw, response.finish_reason)
        records.append(
            StructuredAttempt(
                index=index,
                raw=raw,
                problems=tuple(problems),
                usage=response.usage,
                cost=response.cost,
            )
        )
        if not problems:
            return StructuredResult(
                value=value,
                raw=raw,
                attempts=tuple(records),
                mode=chosen,
                response=response,
                max_tokens=base.max_tokens,
            )
        history = (*history, *feedback(raw, problems))
    raise StructuredOutputError(tuple(records), model.name, max_tokens=base.max_tokens)
