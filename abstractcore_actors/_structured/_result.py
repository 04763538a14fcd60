"""What a structured call returns, and the error when no attempt fitted."""

from __future__ import annotations

from typing import Generic, TypeVar

import attrs

from .._schema import Problem, format_problems
from ..errors import AbstractCoreActorsError
from ..types import Cost, GenerateResponse, Usage

T = TypeVar("T")


@attrs.frozen(kw_only=True)
class StructuredUsage(Usage):
    """Usage summed over every attempt, plus `tokens_saved`: an estimate of the
    completion tokens that stopping invalid streams early did not spend.

    For each attempt stopped at its first invalid field: the completion tokens
    a whole answer costs (those of the valid answer this call ended with; with
    no valid answer, `max_tokens` when it was set, else nothing is claimed)
    minus the tokens the stopped attempt did spend (counted as chunks read,
    since providers report usage only on their last chunk), never below 0.
    It is an estimate: the rest of a stopped answer was never generated."""

    tokens_saved: int = 0


def attempts_cost(attempts: tuple[StructuredAttempt, ...]) -> Cost:
    total = Cost()
    for attempt in attempts:
        total += (
            attempt.cost if attempt.cost is not None else Cost.unknown(f"attempt {attempt.index}")
        )
    return total


def tokens_saved(attempts: tuple[StructuredAttempt, ...], max_tokens: int | None) -> int:
    """See `StructuredUsage`."""
    valid = [a.usage.completion_tokens for a in attempts if a.ok]
    reference = valid[-1] if valid else (max_tokens or 0)
    return sum(max(0, reference - a.usage.completion_tokens) for a in attempts if a.aborted_early)


def _sum(attempts: tuple[StructuredAttempt, ...], max_tokens: int | None) -> StructuredUsage:
    total = Usage()
    for attempt in attempts:
        total = total + attempt.usage
    return StructuredUsage(
        prompt_tokens=total.prompt_tokens,
        completion_tokens=total.completion_tokens,
        tokens_saved=tokens_saved(attempts, max_tokens),
    )


@attrs.frozen(kw_only=True)
class StructuredAttempt:
    """One try: the raw text the model sent, what was wrong with it (empty: it
    fitted), its usage, and — for a stream stopped at the first invalid field —
    after how many chunks it was stopped. In concurrent mode, `round` is the
    race it ran in (0 first; a round after a round with no valid answer)."""

    index: int
    raw: str
    problems: tuple[Problem, ...] = ()
    usage: Usage = attrs.field(factory=Usage)
    aborted_after_chunks: int | None = None
    error: BaseException | None = None  # the provider failed
    cancelled: bool = False  # stopped because another concurrent attempt won
    round: int = 0  # concurrent mode: which round of the race it ran in
    cost: Cost | None = None  # what it cost (None: not priced)

    @property
    def ok(self) -> bool:
        return not self.problems and self.error is None and not self.cancelled

    @property
    def aborted_early(self) -> bool:
        return self.aborted_after_chunks is not None


@attrs.frozen(kw_only=True)
class StructuredResult(Generic[T]):
    """A validated answer: `value` (an instance of the response model), the raw
    JSON text, and every attempt behind it (`usage` sums them all)."""

    value: T
    raw: str
    attempts: tuple[StructuredAttempt, ...]
    mode: str
    response: GenerateResponse | None = None
    max_tokens: int | None = None  # of the request: bounds `usage.tokens_saved`

    @property
    def usage(self) -> StructuredUsage:
        """Every attempt's tokens summed, and what early stops saved (`tokens_saved`)."""
        return _sum(self.attempts, self.max_tokens)

    @property
    def cost(self) -> Cost:
        """What every attempt cost (unknown, `usd` None, if any was not priced)."""
        return attempts_cost(self.attempts)

    @property
    def aborted_early(self) -> int:
        """How many attempts were stopped at their first invalid field."""
        return sum(1 for a in self.attempts if a.aborted_early)


class StructuredOutputError(AbstractCoreActorsError):
    """No attempt produced output that fits the response model; `.attempts` has each."""

    def __init__(
        self,
        attempts: tuple[StructuredAttempt, ...],
        model_name: str,
        *,
        max_tokens: int | None = None,
    ) -> None:
        self.attempts = attempts
        self.max_tokens = max_tokens
        last = attempts[-1] if attempts else None
        if last is None:
            why = "no attempt ran"
        elif last.error is not None:
            why = f"{type(last.error).__name__}: {last.error}"
        else:
            why = "\n" + format_problems(list(last.problems))
        super().__init__(
            f"no valid {model_name} after {len(attempts)} attempt(s); the last: {why}\n"
            "Every attempt's raw text and problems are in `.attempts`. Raise max_attempts, "
            "simplify the response model, describe the fields in the prompt, or use a "
            "model with a native structured mode"
        )

    @property
    def usage(self) -> StructuredUsage:
        """Every attempt's tokens summed (see `StructuredUsage`)."""
        return _sum(self.attempts, self.max_tokens)
