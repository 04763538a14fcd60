"""`generate_structured`: an answer that fits a response model, retried with feedback."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import AllAttemptsFailed, ProviderError, ValidationError
from ..patterns import Status, race
from ..providers import LLM
from ..types import GenerateResponse, Message, Request
from ._jsonschema import Problem
from ._modes import Mode, ModeChoice, answer_text, attempt_request, check_base, feedback, pick_mode
from ._partial import NotJSON, parse_complete
from ._result import StructuredAttempt, StructuredOutputError, StructuredResult
from ._schema import Invalid, ResponseModel
from ._schema import response_model as describe

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


def _llms(llm: LLM | Sequence[LLM]) -> list[LLM]:
    items = [llm] if isinstance(llm, LLM) else list(llm)
    if not items or not all(isinstance(i, LLM) for i in items):
        raise ValidationError("pass an LLM, or for concurrent=True a list of LLMs")
    return items


async def generate_structured(
    llm: LLM | Sequence[LLM],
    prompt: Any = None,
    *,
    response_model: Any,
    max_attempts: int = 3,
    mode: ModeChoice = "auto",
    concurrent: bool = False,
    attempts: int | None = None,
    timeout: float | None = None,
    **options: Any,
) -> StructuredResult[Any]:
    """Ask for an answer that fits `response_model` and return it validated.

    `response_model`: an attrs class, dataclass, pydantic model or JSON schema
    dict (see `abstractcore_actors.structured`). `mode="auto"` uses OpenAI's
    json_schema response format, Anthropic's forced tool call, and a prompt
    (schema in a system message) elsewhere. `options` are `LLM.generate`'s.

    Sequential (default): when an answer does not fit, the model is shown its
    answer and the problems and asked again, up to `max_attempts` calls in
    all. `concurrent=True`: `attempts` calls (default: one per LLM given, or
    `max_attempts` for a single LLM) race; the first valid answer wins and the
    others are cancelled, their connections closed, before this returns.

    Returns a `StructuredResult` (`.value`, `.attempts`, `.usage` summed over
    all attempts). Raises ValidationError for a response model with no JSON
    schema or bad arguments (before any call), StructuredOutputError when no
    attempt fitted (every attempt's raw text and problems attached), and a
    ProviderError when a call fails (after the provider's own retries); its
    `earlier_attempts` hold the attempts before it, with their usage.
    Cancelling the caller cancels the call in flight.
    """
    check_attempts(max_attempts)
    model = describe(response_model)
    llms = _llms(llm)
    if concurrent:
        count = attempts if attempts is not None else (len(llms) if len(llms) > 1 else max_attempts)
        check_attempts(count)
        return await _race(llms, prompt, model, mode, count, timeout, options)
    if len(llms) != 1:
        raise ValidationError("several LLMs are only used with concurrent=True")
    one = llms[0]
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
            StructuredAttempt(index=index, raw=raw, problems=tuple(problems), usage=response.usage)
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


async def _race(
    llms: list[LLM],
    prompt: Any,
    model: ResponseModel[Any],
    mode: ModeChoice,
    count: int,
    timeout: float | None,
    options: dict[str, Any],
) -> StructuredResult[Any]:
    plans: list[tuple[LLM, Mode, Request]] = []
    for i in range(count):
        one = llms[i % len(llms)]
        chosen = pick_mode(one, mode)
        base = one.request(prompt, **options)
        check_base(base)
        plans.append((one, chosen, attempt_request(base, model, chosen, ())))
    # Filled in as attempts answer: id(response) -> (index, raw, value, problems).
    judged: dict[int, tuple[int, str, Any, list[Problem]]] = {}

    def contender(index: int) -> Any:
        one, chosen, request = plans[index]

        async def attempt() -> GenerateResponse:
            response = await one.generate_request(request, timeout=timeout)
            raw = answer_text(response, model, chosen)
            value, problems = judge(model, raw)
            judged[id(response)] = (index, raw, value, problems)
            return response

        attempt.__name__ = f"{one.provider}/{one.model}#{index}"
        return attempt

    def accept(response: GenerateResponse) -> bool:
        return not judged[id(response)][3]

    try:
        result = await race([contender(i) for i in range(count)], accept=accept)
    except AllAttemptsFailed as exc:
        records = _records(judged, count, errors=dict(zip(exc.labels, exc.errors, strict=True)))
        raise StructuredOutputError(records, model.name) from exc
    pattern_attempts = result.attempts
    winner = judged[id(result.response)]
    records = tuple(
        StructuredAttempt(
            index=a.index,
            raw=_raw(judged, a.response),
            problems=tuple(_problems(judged, a.response)),
            usage=a.usage,
            cancelled=a.status is Status.CANCELLED,
        )
        for a in pattern_attempts
    )
    return StructuredResult(
        value=winner[2],
        raw=winner[1],
        attempts=records,
        mode=plans[winner[0]][1],
        response=result.response,
    )


def _raw(judged: dict[int, tuple[int, str, Any, list[Problem]]], r: object) -> str:
    return judged[id(r)][1] if r is not None and id(r) in judged else ""


def _problems(judged: dict[int, tuple[int, str, Any, list[Problem]]], r: object) -> list[Problem]:
    return judged[id(r)][3] if r is not None and id(r) in judged else []


def _records(
    judged: dict[int, tuple[int, str, Any, list[Problem]]],
    count: int,
    errors: dict[str, BaseException],
) -> tuple[StructuredAttempt, ...]:
    by_index = {index: (raw, problems) for index, raw, _, problems in judged.values()}
    out = []
    for i in range(count):
        raw, problems = by_index.get(i, ("", []))
        error = next((e for label, e in errors.items() if label.endswith(f"#{i}")), None)
        if error is not None and isinstance(error, ValidationError) and problems:
            error = None  # "rejected by accept": the problems say it better
        out.append(StructuredAttempt(index=i, raw=raw, problems=tuple(problems), error=error))
    return tuple(out)
