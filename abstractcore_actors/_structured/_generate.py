"""`generate_structured`: the one entry point, sequential or concurrent.

It sits above `patterns` because the concurrent mode is a race; the
sequential mode and everything sessions need live below, in
`structured_core`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._providers import LLM
from ..errors import ValidationError
from ._modes import ModeChoice
from ._race import race_structured
from ._response_model import response_model as describe
from ._result import StructuredResult
from ._sequential import check_attempts, generate_sequential, llm_list


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
    all. `concurrent=True`: rounds of `attempts` calls (default: one per LLM
    given, or `max_attempts` for a single LLM) that race; the first valid
    answer wins and the others are cancelled, their connections closed,
    before this returns. When a round has no valid answer, the next round
    (up to `max_attempts` rounds) is shown the round's best invalid answer
    and its problems.

    Returns a `StructuredResult` (`.value`, `.attempts`, `.usage` summed over
    all attempts). Raises ValidationError for a response model with no JSON
    schema or bad arguments (before any call), StructuredOutputError when no
    attempt fitted (every attempt's raw text and problems attached), and,
    sequentially, a ProviderError when a call fails (after the provider's own
    retries); its `earlier_attempts` hold the attempts before it, with their
    usage. Concurrently, a failed call only drops out of its round; a round
    where every call failed ends it with StructuredOutputError (the errors in
    `.attempts`). Cancelling the caller cancels every call in flight.
    """
    check_attempts(max_attempts)
    model = describe(response_model)
    llms = llm_list(llm)
    if concurrent:
        count = attempts if attempts is not None else (len(llms) if len(llms) > 1 else max_attempts)
        check_attempts(count)
        return await race_structured(
            llms,
            prompt,
            model,
            mode=mode,
            count=count,
            max_attempts=max_attempts,
            timeout=timeout,
            options=options,
        )
    if attempts is not None:
        raise ValidationError("attempts= is the size of a concurrent round: pass concurrent=True")
    if len(llms) != 1:
        raise ValidationError("several LLMs are only used with concurrent=True")
    return await generate_sequential(
        llms[0],
        prompt,
        model,
        max_attempts=max_attempts,
        mode=mode,
        timeout=timeout,
        options=options,
    )
