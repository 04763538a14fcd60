"""hedge_stream: the first attempt streams; every `after` seconds without a
first token (or at once after a failure) the next starts; the first token
wins and the rest are cancelled, their sockets closed, none started late."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import trio
import trio.testing

from abstractcore_actors import (
    LLM,
    AllAttemptsFailed,
    PatternTimeout,
    ValidationError,
    hedge_stream,
)
from abstractcore_actors.patterns import Status
from abstractcore_actors.testing import FakeOpenAIServer

from .conftest import Routes, answer, failing


async def test_a_slow_first_token_starts_the_next_attempt_which_wins(
    llm: Callable[[str], LLM],
    server: FakeOpenAIServer,
    routes: Routes,
    autojump_clock: trio.testing.MockClock,
) -> None:
    routes.steps = {"slow": answer("slow", 5, chunks=30), "fast": answer("fast", 0.1, chunks=5)}
    start = trio.current_time()
    async with hedge_stream([llm("slow"), llm("fast")], "Hi", after=0.5) as stream:
        first_token_at = trio.current_time() - start
        assert stream.winner.label == "fast"
        text = "".join([chunk.text async for chunk in stream])
    assert text.startswith("fast")
    assert first_token_at == pytest.approx(0.6, abs=0.05)  # after + the second's ttft
    assert server.active_requests == 0  # the slow one is gone
    result = stream.result()
    assert result.pattern == "hedge"
    assert [(a.label, a.status) for a in result.attempts] == [
        ("slow", Status.CANCELLED),
        ("fast", Status.WON),
    ]
    assert result.attempts[1].started_at - result.attempts[0].started_at == pytest.approx(0.5)


async def test_a_quick_first_token_starts_no_second_attempt(
    llm: Callable[[str], LLM],
    server: FakeOpenAIServer,
    routes: Routes,
    autojump_clock: trio.testing.MockClock,
) -> None:
    routes.steps = {"quick": answer("quick", 0.1, chunks=20), "spare": answer("spare", 0.1)}
    async with hedge_stream([llm("quick"), llm("spare")], "Hi", after=0.5) as stream:
        # the answer streams for 0.2 s more, past `after`: still no second attempt
        text = "".join([chunk.text async for chunk in stream])
    assert text.startswith("quick")
    assert [r.json["model"] for r in server.requests] == ["quick"]  # type: ignore[index]
    assert [a.label for a in stream.attempts] == ["quick"]


async def test_a_failure_starts_the_next_attempt_at_once(
    llm: Callable[[str], LLM],
    server: FakeOpenAIServer,
    routes: Routes,
    autojump_clock: trio.testing.MockClock,
) -> None:
    routes.steps = {"down": failing(503), "up": answer("up", 0.1)}
    start = trio.current_time()
    async with hedge_stream([llm("down"), llm("up")], "Hi", after=10) as stream:
        waited = trio.current_time() - start
        assert "".join([chunk.text async for chunk in stream]).startswith("up")
    assert waited < 1  # not the 10 s `after`
    assert [a.status for a in stream.attempts] == [Status.FAILED, Status.WON]


async def test_one_model_is_hedged_against_itself(
    llm: Callable[[str], LLM],
    server: FakeOpenAIServer,
    routes: Routes,
    autojump_clock: trio.testing.MockClock,
) -> None:
    routes.steps = {"m": [answer("stuck", 5, chunks=30), answer("second", 0.1)]}
    async with hedge_stream(llm("m"), "Hi", after=0.3, max_attempts=2) as stream:
        text = "".join([chunk.text async for chunk in stream])
    assert text.startswith("second")
    assert [a.index for a in stream.attempts] == [0, 1]
    assert server.active_requests == 0


async def test_all_fail_or_none_in_time(
    llm: Callable[[str], LLM], routes: Routes, autojump_clock: trio.testing.MockClock
) -> None:
    routes.steps = {"a": failing(500), "b": failing(503), "slow": answer("x", 10)}
    with pytest.raises(AllAttemptsFailed):
        async with hedge_stream([llm("a"), llm("b")], "Hi", after=1):
            pass
    with pytest.raises(PatternTimeout):
        async with hedge_stream([llm("slow")], "Hi", after=0.5, timeout=2):
            pass


@pytest.mark.parametrize(
    "kwargs, words",
    [({"after": -1}, "after must be >= 0"), ({"after": 1, "max_attempts": 0}, "max_attempts")],
)
async def test_bad_arguments_are_refused(
    llm: Callable[[str], LLM], kwargs: dict[str, float], words: str
) -> None:
    with pytest.raises(ValidationError, match=words):
        async with hedge_stream([llm("a")], "Hi", **kwargs):  # type: ignore[arg-type]
            pass
