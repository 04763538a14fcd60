"""What a structured call returns, and the error when no attempt fitted."""

from __future__ import annotations

from typing import Generic, TypeVar

import attrs

from ..errors import AbstractCoreActorsError
from ..types import GenerateResponse, Usage
from ._jsonschema import Problem, format_problems

T = TypeVar("T")


@attrs.frozen(kw_only=True)
class StructuredAttempt:
    """One try: the raw text the model sent, what was wrong with it (empty: it
    fitted), its usage, and — for a stream stopped at the first invalid field —
    after how many chunks it was stopped."""

    index: int
    raw: str
    problems: tuple[Problem, ...] = ()
    usage: Usage = attrs.field(factory=Usage)
    aborted_after_chunks: int | None = None
    error: BaseException | None = None  # the provider failed
    cancelled: bool = False  # stopped because another concurrent attempt won

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

    @property
    def usage(self) -> Usage:
        total = Usage()
        for attempt in self.attempts:
            total = total + attempt.usage
        return total

    @property
    def aborted_early(self) -> int:
        """How many attempts were stopped at their first invalid field."""
        return sum(1 for a in self.attempts if a.aborted_early)


class StructuredOutputError(AbstractCoreActorsError):
    """No attempt produced output that fits the response model; `.attempts` has each."""

    def __init__(self, attempts: tuple[StructuredAttempt, ...], model_name: str) -> None:
        self.attempts = attempts
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
    def usage(self) -> Usage:
        total = Usage()
        for attempt in self.attempts:
            total = total + attempt.usage
        return total
