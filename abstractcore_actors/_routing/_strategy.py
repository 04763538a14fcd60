"""How a router orders its deployments for one call: the strategies.

Each strategy ranks the deployments that fit the request (see `_needs.py`);
the first is asked, the rest are the fallbacks, in that order. Deployments
that are cooling down (their breaker is open, or their actor paused) come
after every other, as a last resort: their breakers answer at once while
still open, so trying them costs nothing, and one may have half-opened.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Sequence
from decimal import Decimal

import attrs

from ..errors import ValidationError
from ._deployment import DeploymentState
from ._needs import Needs


class RoutingStrategy(enum.StrEnum):
    """How a router picks a deployment (`strategy=` of `rt.router`)."""

    FALLBACK = "fallback"  # in the order listed; the next on failure
    WEIGHTED = "weighted"  # at random, in proportion to `weight`
    LEAST_BUSY = "least_busy"  # the fewest calls in flight
    LOWEST_LATENCY = "lowest_latency"  # the lowest moving average of time to first token
    CHEAPEST = "cheapest"  # the lowest estimated cost for this request, at min_tier or above
    SEMANTIC = "semantic"  # the route whose examples the request is most like (_semantic.py)

    @classmethod
    def parse(cls, value: str | RoutingStrategy) -> RoutingStrategy:
        try:
            return cls(value)
        except ValueError:
            names = ", ".join(s.value for s in cls)
            raise ValidationError(
                f"unknown routing strategy {value!r}; use one of {names}"
            ) from None


@attrs.frozen
class Choice:
    state: DeploymentState
    reason: str


@attrs.frozen
class Plan:
    """The order to try deployments in, and those left out (with why)."""

    order: tuple[Choice, ...]
    skipped: tuple[Choice, ...]


def estimate_usd(state: DeploymentState, needs: Needs, answer_room: int) -> Decimal | None:
    """What this request would cost on the deployment, by its price; None: unknown."""
    price = state.deployment.llm.facts.price
    if price is None:
        return None
    prompt = max(needs.tokens - answer_room, 0)
    input_rate, _, output_rate = price.rates(prompt)
    return (prompt * input_rate + answer_room * output_rate) / Decimal(1_000_000)


def plan(
    strategy: RoutingStrategy,
    states: Sequence[DeploymentState],
    needs: Needs,
    *,
    now: float,
    rng: random.Random,
    min_tier: int = 0,
    answer_room: int = 256,
) -> Plan:
    declared = frozenset().union(*(s.deployment.tags for s in states))
    fitting: list[DeploymentState] = []
    skipped: list[Choice] = []
    for state in states:
        why = needs.misfit(state.deployment, declared)
        if (
            why is None
            and strategy is RoutingStrategy.CHEAPEST
            and state.deployment.tier < min_tier
        ):
            why = f"its tier {state.deployment.tier} is below min_tier {min_tier}"
        if why is None:
            fitting.append(state)
        else:
            skipped.append(Choice(state, why))
    ready = [s for s in fitting if not s.cooling(now)]
    cooling = [s for s in fitting if s.cooling(now)]
    ranked = _rank(strategy, ready, needs, rng, answer_room)
    ranked += [
        Choice(s, f"cooling down for {s.cooling_until - now:.1f}s more: tried last")
        for s in cooling
    ]
    return Plan(order=tuple(ranked), skipped=tuple(skipped))


def _rank(
    strategy: RoutingStrategy,
    states: list[DeploymentState],
    needs: Needs,
    rng: random.Random,
    answer_room: int,
) -> list[Choice]:
    match strategy:
        case RoutingStrategy.FALLBACK:
            return [
                Choice(s, "first in order" if i == 0 else f"next in order (#{s.index + 1})")
                for i, s in enumerate(states)
            ]
        case RoutingStrategy.WEIGHTED:
            return _weighted(states, rng)
        case RoutingStrategy.LEAST_BUSY:
            ordered = sorted(states, key=lambda s: (s.in_flight, s.index))
            return [Choice(s, f"least busy ({s.in_flight} in flight)") for s in ordered]
        case RoutingStrategy.LOWEST_LATENCY:
            # Unmeasured ones first: a deployment never tried would never be measured.
            ordered = sorted(
                states, key=lambda s: (s.ewma_ttft is not None, s.ewma_ttft or 0.0, s.index)
            )
            return [
                Choice(
                    s,
                    "not measured yet"
                    if s.ewma_ttft is None
                    else f"lowest latency (ttft ~{s.ewma_ttft * 1000:.0f} ms)",
                )
                for s in ordered
            ]
        case RoutingStrategy.SEMANTIC:  # planned by SemanticRoutes, by meaning
            return [Choice(s, "in order") for s in states]
        case RoutingStrategy.CHEAPEST:
            priced = [(estimate_usd(s, needs, answer_room), s) for s in states]
            known = sorted(
                ((usd, s) for usd, s in priced if usd is not None), key=lambda p: (p[0], p[1].index)
            )
            unknown = [s for usd, s in priced if usd is None]
            return [
                Choice(s, f"cheapest that fits (~${usd:.6f} for this request)") for usd, s in known
            ] + [Choice(s, "price unknown: after every priced one") for s in unknown]


def _weighted(states: list[DeploymentState], rng: random.Random) -> list[Choice]:
    """A weighted random order (without replacement): the first pick has the
    chance weight/total; each fallback is drawn the same way from the rest."""
    left = list(states)
    total = sum(s.deployment.weight for s in left)
    out: list[Choice] = []
    while left:
        weights = [s.deployment.weight for s in left]
        (picked,) = rng.choices(left, weights=weights)
        share = picked.deployment.weight / sum(weights)
        out.append(Choice(picked, f"weighted choice ({share:.0%} of the weight left of {total:g})"))
        left.remove(picked)
    return out
