"""A router's deployments: what the user declares, and what the router learns.

`Deployment` is configuration (frozen): the LLM that serves it, its weight,
tags, quality tier and context window. `DeploymentState` is the router
actor's own, mutable record of it — calls in flight, the moving average of
its time to first token, and until when it cools down — touched only by the
router actor's tasks, in one trio thread.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import attrs

from .._providers import LLM
from ..errors import ValidationError

# How much one new time-to-first-token sample moves the average (EWMA).
EWMA_WEIGHT = 0.3


def _tags(value: Iterable[str]) -> frozenset[str]:
    if isinstance(value, str):
        raise ValidationError(f"tags must be a list of strings, e.g. [{value!r}]")
    return frozenset(value)


def _examples(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ValidationError(f"examples must be a list of strings, e.g. [{value!r}]")
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ValidationError(f"every example must be a non-empty string (got {item!r})")
    return tuple(value)


def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise ValidationError(f"a deployment's {attribute.name} must be > 0 (got {value!r})")


@attrs.frozen(kw_only=True)
class Deployment:
    """One way a router can answer: an LLM, and what the router should know of it.

    `weight`: its share under the "weighted" strategy. `tags`: what it can
    do beyond text ("tools", "vision", "long-context"): a request that needs
    a tag goes only to deployments with it, once any deployment declares it.
    `tier`: its quality, higher is better (`min_tier` of a router keeps the
    cheap strategy from choosing below it). `context_window`: tokens it
    takes (default: the price book's figure for its model, else unknown).
    `name`: how routes and events call it (default: provider/model).
    `examples`: requests this deployment should take, for the "semantic"
    strategy (see docs/routing.md, "Semantic routes")."""

    llm: LLM
    name: str = ""
    weight: float = attrs.field(default=1.0, validator=_positive)
    tags: frozenset[str] = attrs.field(default=frozenset(), converter=_tags)
    tier: int = 0
    context_window: int | None = None
    examples: tuple[str, ...] = attrs.field(default=(), converter=_examples)

    @property
    def label(self) -> str:
        return self.name or f"{self.llm.provider}/{self.llm.model}"

    @property
    def window(self) -> int | None:
        return self.context_window or self.llm.facts.context_window


@attrs.define(eq=False)
class DeploymentState:
    """What the router has seen of one deployment."""

    deployment: Deployment
    index: int
    in_flight: int = 0
    ewma_ttft: float | None = None  # seconds; None until a first answer
    cooling_until: float = -math.inf
    failures_in_a_row: int = 0

    @property
    def label(self) -> str:
        return self.deployment.label

    def cooling(self, now: float) -> bool:
        return now < self.cooling_until

    def answered(self, ttft: float | None) -> None:
        self.failures_in_a_row = 0
        self.cooling_until = -math.inf
        if ttft is not None:
            old = self.ewma_ttft
            self.ewma_ttft = ttft if old is None else old + EWMA_WEIGHT * (ttft - old)

    def failed(self, now: float, cooldown: float | None) -> None:
        """A failure that is the deployment's; `cooldown` seconds without it
        (from its breaker or its pause), or none when it may be asked again."""
        self.failures_in_a_row += 1
        if cooldown is not None and cooldown > 0:
            self.cooling_until = max(self.cooling_until, now + cooldown)
