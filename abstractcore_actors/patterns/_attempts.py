"""Attempts: one contender's try inside a pattern, and what it cost.

A contender is an `LLM` (called with the pattern's prompt and options) or a
zero-argument async callable returning a `GenerateResponse` or a
`PatternResult` — the latter is how patterns compose (a race of ensembles,
an ensemble of hedged calls).

LLM contenders are run as streams even when the pattern returns whole
answers: that costs the provider nothing extra and lets us count the tokens
a cancelled loser had already produced, so `wasted` usage is honest.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import attrs
import trio

from .._pricing import ModelFacts
from .._providers import LLM
from .._wire.openai_chat import estimate_prompt_tokens
from ..errors import ValidationError
from ..types import Cost, GenerateResponse, Usage


class Status(enum.StrEnum):
    """An attempt's state; compares equal to its string (`attempt.status == "won"`)."""

    RUNNING = "running"
    WON = "won"  # its answer is (part of) the result
    FINISHED = "finished"  # answered, but was not needed (after a quorum, a later hedge)
    REJECTED = "rejected"  # answered, but `accept` said no
    FAILED = "failed"  # raised
    CANCELLED = "cancelled"  # stopped because another attempt won


@attrs.define(eq=False)
class Attempt:
    """One contender's try: its status, answer or error, and usage."""

    label: str
    index: int
    started_at: float
    status: Status = Status.RUNNING
    ended_at: float | None = None
    response: GenerateResponse | None = None
    error: BaseException | None = None
    # Tokens seen so far; for a cancelled attempt this is the honest lower
    # bound of what it cost (prompt tokens unknown, completion counted).
    partial_completion_tokens: int = 0
    nested: PatternResult | None = None
    # An LLM contender's price, and its prompt's estimated size: what a
    # cancelled attempt cost is then estimated, never taken as free.
    facts: ModelFacts | None = None
    prompt_estimate: int = 0

    @property
    def usage(self) -> Usage:
        if self.nested is not None:
            return self.nested.usage
        if self.response is not None:
            return self.response.usage
        return Usage(
            prompt_tokens=self.prompt_estimate,
            completion_tokens=self.partial_completion_tokens,
            estimated=True,
        )

    @property
    def cost(self) -> Cost:
        """What this attempt cost (estimated for one that did not finish);
        unknown (`usd` None) when its model has no price."""
        if self.nested is not None:
            return self.nested.cost
        if self.response is not None and self.response.cost is not None:
            return self.response.cost
        if self.facts is None:
            return Cost.unknown(self.label)
        return self.facts.cost(self.usage, self.label)

    @property
    def usage_is_estimate(self) -> bool:
        return self.response is None and self.nested is None

    def end(self, status: Status) -> None:
        if self.status is Status.RUNNING or status is Status.WON:
            self.status = status
        if self.ended_at is None:
            self.ended_at = trio.current_time()


@attrs.frozen(kw_only=True)
class PatternResult:
    """What a pattern returns: the answer, and every attempt behind it."""

    response: GenerateResponse
    attempts: tuple[Attempt, ...]
    pattern: str

    @property
    def content(self) -> str:
        return self.response.content

    @property
    def text(self) -> str:
        return self.response.content

    @property
    def winners(self) -> tuple[Attempt, ...]:
        return tuple(a for a in self.attempts if a.status is Status.WON)

    @property
    def usage(self) -> Usage:
        """Usage of every attempt, winners and wasted ones together."""
        total = Usage()
        for attempt in self.attempts:
            total = total + attempt.usage
        return total

    @property
    def cost(self) -> Cost:
        """What every attempt cost, winners and wasted ones together."""
        return sum((a.cost for a in self.attempts), Cost())

    @property
    def wasted_cost(self) -> Cost:
        """What the attempts whose answers were not used cost."""
        return sum((a.cost for a in self.attempts if a.status is not Status.WON), Cost())

    @property
    def wasted_usage(self) -> Usage:
        """Usage of the attempts whose answers were not used."""
        total = Usage()
        for attempt in self.attempts:
            if attempt.status is not Status.WON:
                total = total + attempt.usage
        return total


Contender = LLM | Callable[[], Awaitable[GenerateResponse | PatternResult]]


def label_of(contender: Contender, index: int) -> str:
    if isinstance(contender, LLM):
        name = contender.actor.name
        # a name the user chose says more than the provider/model it runs
        return f"{contender.provider}/{contender.model}" if name.startswith("llm:") else name
    return getattr(contender, "__name__", None) or f"call-{index}"


def check_contenders(contenders: Sequence[Contender], pattern: str) -> list[Contender]:
    items = list(contenders)
    if not items:
        raise ValidationError(f"{pattern} needs at least one LLM or async callable")
    for item in items:
        if not (isinstance(item, LLM) or callable(item)):
            raise ValidationError(
                f"{pattern} takes LLMs or zero-argument async callables, not {item!r}"
            )
    return items


def contender_options(options: Mapping[str, Any], index: int) -> Mapping[str, Any]:
    """The options for contender `index`: a pattern called with `request_id=X`
    gives its contenders the ids `X/0`, `X/1`, … so their events can be told
    apart and still followed as one call (a prefix match on `X/`)."""
    parent = options.get("request_id")
    if parent is None:
        return options
    return {**options, "request_id": f"{parent}/{index}"}


async def run_contender(
    contender: Contender,
    attempt: Attempt,
    prompt: Any,
    options: Mapping[str, Any],
) -> GenerateResponse:
    """Run one contender to its answer, keeping `attempt` up to date."""
    if isinstance(contender, LLM):
        own = dict(contender_options(options, attempt.index))
        timeout = own.pop("timeout", None)
        request = contender.request(prompt, **own)
        attempt.facts = contender.facts
        attempt.prompt_estimate = estimate_prompt_tokens(request)
        async with contender.stream_request(request, timeout=timeout) as stream:
            async for chunk in stream:
                if chunk.text or chunk.tool_calls:
                    if not attempt.partial_completion_tokens:
                        # a router said which deployment answers: price by it
                        attempt.facts = stream.facts
                    attempt.partial_completion_tokens += 1
            response = stream.response()
    else:
        result = await contender()
        if isinstance(result, PatternResult):
            attempt.nested = result
            response = result.response
        elif isinstance(result, GenerateResponse):
            response = result
        else:
            raise ValidationError(
                f"a contender returned {type(result).__name__}; it must return a "
                "GenerateResponse or a PatternResult"
            )
    attempt.response = response
    return response


async def settle(
    contender: Contender,
    attempt: Attempt,
    prompt: Any,
    options: Mapping[str, Any],
    accept: Callable[[GenerateResponse], Awaitable[bool]] | None = None,
) -> GenerateResponse | None:
    """The one attempt loop of race, hedge and ensemble: run `contender` and
    return its answer, or None when it failed (its error kept in `attempt`) or
    `accept` turned it down; a cancel marks the attempt cancelled and goes on.
    What a good answer means for the pattern (a win, a vote) is the caller's."""
    try:
        response = await run_contender(contender, attempt, prompt, options)
        ok = True if accept is None else await accept(response)
    except trio.Cancelled:
        attempt.end(Status.CANCELLED)
        raise
    except Exception as exc:
        attempt.error = exc
        attempt.end(Status.FAILED)
        return None
    if not ok:
        attempt.end(Status.REJECTED)
        return None
    return response


def new_attempts(contenders: Sequence[Contender]) -> list[Attempt]:
    now = trio.current_time()
    return [
        Attempt(label=label_of(c, i), index=i, started_at=now) for i, c in enumerate(contenders)
    ]
