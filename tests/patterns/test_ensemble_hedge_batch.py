"""ensemble (combiners, quorum), hedge (timing, fallback), batch (order, limits)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import trio
import trio.lowlevel
import trio.testing

from abstractcore_actors import (
    LLM,
    AllAttemptsFailed,
    BadRequest,
    GenerateResponse,
    QuorumNotReached,
    ValidationError,
    batch,
    ensemble,
    hedge,
    race,
)
from abstractcore_actors.patterns import PatternResult, Status
from abstractcore_actors.testing import FakeOpenAIServer, Reply

from .conftest import Routes, answer, failing


async def test_vote_takes_the_normalised_majority(
    llm: Callable[[str], LLM], routes: Routes, autojump_clock: trio.testing.MockClock
) -> None:
    routes.steps = {
        "a": Reply(text="Paris", ttft=0.3),
        "b": Reply(text="  paris. ", ttft=0.2),
        "c": Reply(text="Lyon", ttft=0.1),
    }
    result = await ensemble([llm("a"), llm("b"), llm("c")], "Capital?", combine="vote")
    assert result.content.strip().lower().startswith("paris")
    assert sorted(a.label for a in result.winners) == ["a", "b"]
    assert result.response.usage == result.winners[0].usage + result.winners[1].usage
    assert result.wasted_usage == next(a for a in result.attempts if a.label == "c").usage


async def test_quorum_stops_early_and_cancels_the_rest(
    llm: Callable[[str], LLM],
    server: FakeOpenAIServer,
    routes: Routes,
    autojump_clock: trio.testing.MockClock,
) -> None:
    routes.steps = {"a": answer("x", 1), "b": answer("y", 2), "c": answer("z", 10)}
    start = trio.current_time()
    result = await ensemble([llm("a"), llm("b"), llm("c")], "Hi", combine="concat", min_responses=2)
    assert trio.current_time() - start == pytest.approx(2.05, abs=0.1)
    # c's socket is closed; a's and b's, read to their end, are kept alive
    assert server.active_requests == 0
    assert (server.total_connections, server.open_connections) == (3, 2)
    assert {a.label: a.status for a in result.attempts}["c"] is Status.CANCELLED
    assert "[a]" in result.content and "[b]" in result.content


async def test_partial_failure_is_tolerated_and_reported(
    llm: Callable[[str], LLM], routes: Routes, autojump_clock: trio.testing.MockClock
) -> None:
    routes.steps = {"a": Reply(text="4"), "b": failing(500), "c": Reply(text="4")}
    result = await ensemble([llm("a"), llm("b"), llm("c")], "2+2?")
    assert result.content == "4"
    failed = [a for a in result.attempts if a.status is Status.FAILED]
    assert [a.label for a in failed] == ["b"]
    assert failed[0].error is not None


async def test_too_few_answers_is_quorum_not_reached(
    llm: Callable[[str], LLM], routes: Routes, autojump_clock: trio.testing.MockClock
) -> None:
    routes.steps = {"a": Reply(text="4"), "b": failing(500), "c": failing(503)}
    with pytest.raises(QuorumNotReached) as info:
        await ensemble([llm("a"), llm("b"), llm("c")], "2+2?", min_responses=2)
    assert len(info.value.errors) == 2


async def test_judge_picks_by_number(
    llm: Callable[[str], LLM], routes: Routes, autojump_clock: trio.testing.MockClock
) -> None:
    # "b" answers first: the judge must still number candidates in contender order.
    routes.steps = {
        "a": Reply(text="a haiku", ttft=1.0),
        "b": Reply(text="a better haiku"),
        "judge": Reply(text="2"),
    }
    result = await ensemble(
        [llm("a"), llm("b")], "Write a haiku", combine="judge", judge=llm("judge")
    )
    assert result.content == "a better haiku"
    assert any(a.label.startswith("judge:") for a in result.attempts)


@pytest.mark.parametrize("is_async", [False, True])
async def test_custom_combiners(
    llm: Callable[[str], LLM],
    routes: Routes,
    autojump_clock: trio.testing.MockClock,
    is_async: bool,
) -> None:
    routes.steps = {"a": Reply(text="short"), "b": Reply(text="much longer")}

    def longest(responses: list[GenerateResponse]) -> str:
        return max((r.content for r in responses), key=len)

    async def longest_async(responses: list[GenerateResponse]) -> str:
        await trio.lowlevel.checkpoint()
        return longest(responses)

    combine = longest_async if is_async else longest
    result = await ensemble([llm("a"), llm("b")], "Hi", combine=combine)
    assert result.content == "much longer"


async def test_ensemble_rejects_bad_arguments(llm: Callable[[str], LLM]) -> None:
    a = llm("a")
    with pytest.raises(ValidationError, match="judge"):
        await ensemble([a], "Hi", combine="judge")
    with pytest.raises(ValidationError, match="min_responses"):
        await ensemble([a], "Hi", min_responses=3)
    with pytest.raises(ValidationError, match="unknown combine"):
        await ensemble([a], "Hi", combine="average")


async def test_hedge_starts_the_second_attempt_after_the_delay(
    llm: Callable[[str], LLM],
    server: FakeOpenAIServer,
    routes: Routes,
    autojump_clock: trio.testing.MockClock,
) -> None:
    routes.steps = {"m": [answer("slow", 10), answer("quick", 0.2)]}
    start = trio.current_time()
    result = await hedge(llm("m"), "Hi", after=1.5)
    assert [round(t - start, 2) for _, t in routes.arrivals] == [0.0, 1.5]
    assert result.content.startswith("quick")
    assert trio.current_time() - start == pytest.approx(1.73, abs=0.05)
    assert [a.status for a in result.attempts] == [Status.CANCELLED, Status.WON]
    # the slow attempt's socket is closed; the winner's is kept alive
    assert (server.total_connections, server.open_connections) == (2, 1)
    assert server.active_requests == 0


async def test_hedge_does_not_start_another_when_the_first_is_quick(
    llm: Callable[[str], LLM], routes: Routes, autojump_clock: trio.testing.MockClock
) -> None:
    routes.steps = {"m": answer("quick", 0.2)}
    result = await hedge(llm("m"), "Hi", after=1.0)
    assert len(routes.arrivals) == 1
    assert len(result.attempts) == 1


async def test_hedged_fallback_chain_moves_on_at_once_after_a_failure(
    llm: Callable[[str], LLM], routes: Routes, autojump_clock: trio.testing.MockClock
) -> None:
    routes.steps = {"primary": failing(503, ttft=0.1), "backup": answer("backup", 0.1)}
    start = trio.current_time()
    result = await hedge([llm("primary"), llm("backup")], "Hi", after=5)
    assert result.content.startswith("backup")
    assert [(m, round(t - start, 2)) for m, t in routes.arrivals] == [
        ("primary", 0.0),
        ("backup", 0.1),
    ]


async def test_hedge_all_fail(
    llm: Callable[[str], LLM], routes: Routes, autojump_clock: trio.testing.MockClock
) -> None:
    routes.steps = {"a": failing(500), "b": failing(500)}
    with pytest.raises(AllAttemptsFailed):
        await hedge([llm("a"), llm("b")], "Hi", after=1)


async def test_batch_keeps_order_and_bounds_concurrency(
    llm: Callable[[str], LLM],
    server: FakeOpenAIServer,
    routes: Routes,
    autojump_clock: trio.testing.MockClock,
) -> None:
    progress: list[tuple[int, int]] = []
    peak = 0

    async def watch() -> None:
        nonlocal peak
        while True:
            peak = max(peak, server.open_connections)
            await trio.sleep(0.01)

    routes.steps = {"m": Reply(text="x", ttft=1)}
    async with trio.open_nursery() as nursery:
        nursery.start_soon(watch)
        out = await batch(
            llm("m"),
            [f"q{i}" for i in range(10)],
            concurrency=3,
            on_progress=lambda done, total: progress.append((done, total)),
        )
        nursery.cancel_scope.cancel()
    assert [r.content for r in out.responses] == ["x"] * 10
    assert peak <= 3
    assert progress[-1] == (10, 10)


async def test_batch_collects_errors_in_place_or_fails_fast(
    llm: Callable[[str], LLM], routes: Routes, autojump_clock: trio.testing.MockClock
) -> None:
    routes.steps = {"prompt:b": failing(400)}
    m = llm("m")
    out = await batch(m, ["a", "b", "c"], concurrency=1)
    assert [type(r).__name__ for r in out.results] == [
        "GenerateResponse",
        "BadRequest",
        "GenerateResponse",
    ]
    assert [i for i, _ in out.errors] == [1]
    with pytest.raises(BadRequest, match="HTTP 400"):
        await batch(m, ["a", "b", "c"], concurrency=1, fail_fast=True)


async def test_patterns_compose(
    llm: Callable[[str], LLM],
    server: FakeOpenAIServer,
    routes: Routes,
    autojump_clock: trio.testing.MockClock,
) -> None:
    routes.steps = {
        "v1": Reply(text="yes", ttft=0.5),
        "v2": Reply(text="yes", ttft=0.6),
        "h": answer("hedged", 3),
    }

    async def voted() -> PatternResult:
        return await ensemble([llm("v1"), llm("v2")], "Q", combine="vote")

    async def hedged() -> PatternResult:
        return await hedge(llm("h"), "Q", after=10)

    result = await race([voted, hedged], None)
    assert result.content == "yes"
    assert result.winners[0].label == "voted"
    assert result.winners[0].nested is not None
    assert result.usage.total_tokens >= result.winners[0].nested.usage.total_tokens
    # the hedged loser's socket is closed; the two finished calls' are kept alive
    assert server.active_requests == 0
    assert (server.total_connections, server.open_connections) == (3, 2)
