"""The strategies' orders, as properties: every fitting deployment appears
once; weighted picks follow the weights; least busy and lowest latency sort
by what the router saw; cooling deployments come last. No network: plans
are pure functions of the router's state."""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abstractcore_actors import LLM, open_runtime
from abstractcore_actors._routing._deployment import DeploymentState
from abstractcore_actors._routing._needs import Needs
from abstractcore_actors._routing._strategy import RoutingStrategy, plan
from abstractcore_actors.routing import Deployment
from tests.leaks import our_tasks


@pytest.fixture
async def llms() -> AsyncIterator[list[LLM]]:
    # LLMs are only labels here: nothing is called, so no server is needed.
    prices = {f"m{i}": {"input": i + 1, "output": i + 1} for i in range(5)}
    async with open_runtime(env={}, prices=prices) as rt:
        yield [
            rt.create_llm("openai-compatible", f"m{i}", base_url="http://127.0.0.1:9/v1")
            for i in range(5)
        ]
    assert our_tasks() == []


def states(llms: list[LLM], weights: list[float] | None = None) -> list[DeploymentState]:
    weights = weights or [1.0] * len(llms)
    return [
        DeploymentState(Deployment(llm=llm, weight=w), i)
        for i, (llm, w) in enumerate(zip(llms, weights, strict=False))
    ]


# the LLMs are only read, never changed, so sharing them between examples is safe
@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    strategy=st.sampled_from(list(RoutingStrategy)),
    busy=st.lists(st.integers(0, 9), min_size=5, max_size=5),
    ttft=st.lists(st.none() | st.floats(0.01, 5), min_size=5, max_size=5),
    cooling=st.lists(st.booleans(), min_size=5, max_size=5),
    seed=st.integers(0, 2**32),
)
async def test_every_plan_orders_each_deployment_once_and_cooling_ones_last(
    llms: list[LLM],
    strategy: RoutingStrategy,
    busy: list[int],
    ttft: list[float | None],
    cooling: list[bool],
    seed: int,
) -> None:
    found = states(llms)
    for state, n, t, c in zip(found, busy, ttft, cooling, strict=True):
        state.in_flight, state.ewma_ttft = n, t
        state.cooling_until = 100.0 if c else -math.inf
    order = plan(strategy, found, Needs(), now=0.0, rng=random.Random(seed)).order
    assert sorted(c.state.index for c in order) == [0, 1, 2, 3, 4]
    hot = [c.state.cooling(0.0) for c in order]
    assert hot == sorted(hot)  # every cooling one after every ready one
    ready = [c.state for c in order if not c.state.cooling(0.0)]
    if strategy is RoutingStrategy.LEAST_BUSY:
        assert [s.in_flight for s in ready] == sorted(s.in_flight for s in ready)
    if strategy is RoutingStrategy.LOWEST_LATENCY:
        measured = [s.ewma_ttft for s in ready if s.ewma_ttft is not None]
        assert measured == sorted(measured)
        assert all(s.ewma_ttft is None for s in ready[: len(ready) - len(measured)])
    if strategy is RoutingStrategy.CHEAPEST:
        assert [s.index for s in ready] == sorted(s.index for s in ready)  # m0 is cheapest
    assert all(c.reason for c in order)


async def test_weighted_first_picks_follow_the_weights(llms: list[LLM]) -> None:
    found = states(llms[:3], [6.0, 3.0, 1.0])
    rng = random.Random(7)
    firsts = Counter(
        plan(RoutingStrategy.WEIGHTED, found, Needs(), now=0.0, rng=rng).order[0].state.index
        for _ in range(5000)
    )
    for index, share in ((0, 0.6), (1, 0.3), (2, 0.1)):
        assert firsts[index] / 5000 == pytest.approx(share, abs=0.03)


async def test_the_moving_average_follows_new_latencies(llms: list[LLM]) -> None:
    state = states(llms[:1])[0]
    state.answered(1.0)
    assert state.ewma_ttft == 1.0
    for _ in range(20):
        state.answered(0.1)
    assert state.ewma_ttft == pytest.approx(0.1, abs=0.01)
    state.failed(now=10.0, cooldown=5.0)
    assert state.cooling(14.9) and not state.cooling(15.0)
    state.answered(None)
    assert not state.cooling(11.0)  # an answer ends a cooldown early


async def test_a_weight_must_be_positive(llms: list[LLM]) -> None:
    from abstractcore_actors.errors import ValidationError

    with pytest.raises(ValidationError, match="weight must be > 0"):
        Deployment(llm=llms[0], weight=0)
    with pytest.raises(ValidationError, match="tags must be a list"):
        Deployment(llm=llms[0], tags="tools")  # type: ignore[arg-type]
