"""race and race_stream: the fastest valid answer wins; losers are gone before return."""

from __future__ import annotations

import functools
from collections.abc import Callable

import hypothesis.strategies as st
import pytest
import trio
import trio.lowlevel
import trio.testing
from hypothesis import given, settings

from abstractcore_actors import (
    LLM,
    AllAttemptsFailed,
    PatternTimeout,
    open_runtime,
    race,
    race_stream,
)
from abstractcore_actors.patterns import Status
from abstractcore_actors.testing import FakeOpenAIServer, Fault, Reply, open_fake_openai_server

from .conftest import Routes, answer, failing


async def test_the_fastest_wins_and_losers_sockets_are_closed_before_return(
    llm: Callable[[str], LLM],
    server: FakeOpenAIServer,
    routes: Routes,
    autojump_clock: trio.testing.MockClock,
) -> None:
    routes.steps = {
        "slow": answer("slow", 0.5, chunks=50),
        "fast": answer("fast", 0.1),
        "mid": answer("mid", 0.3, chunks=50),
    }
    start = trio.current_time()
    result = await race([llm("slow"), llm("fast"), llm("mid")], "Hi")
    elapsed = trio.current_time() - start
    # no waiting: the losers' sockets closed before race returned; the
    # winner's, read to its end, is kept alive for the next call
    assert (server.total_connections, server.open_connections) == (3, 1)
    assert server.active_requests == 0
    assert result.content.startswith("fast")
    assert [a.label for a in result.winners] == ["fast"]
    assert {a.label: a.status for a in result.attempts} == {
        "slow": Status.CANCELLED,
        "fast": Status.WON,
        "mid": Status.CANCELLED,
    }
    assert elapsed == pytest.approx(0.13, abs=0.05)
    assert result.usage.completion_tokens >= result.response.usage.completion_tokens


async def test_accept_skips_an_unacceptable_answer(
    llm: Callable[[str], LLM], routes: Routes, autojump_clock: trio.testing.MockClock
) -> None:
    routes.steps = {"fast": answer("nope", 0.1), "slow": answer("42", 0.5)}
    result = await race(
        [llm("fast"), llm("slow")], "Hi", accept=lambda r: any(c.isdigit() for c in r.content)
    )
    assert result.content.startswith("42")
    assert {a.label: a.status for a in result.attempts}["fast"] is Status.REJECTED


async def test_an_async_accept_works_too(
    llm: Callable[[str], LLM], routes: Routes, autojump_clock: trio.testing.MockClock
) -> None:
    routes.steps = {"a": answer("bad", 0.1), "b": answer("good", 0.2)}

    async def accept(response: object) -> bool:
        await trio.lowlevel.checkpoint()
        return "good" in getattr(response, "content", "")

    result = await race([llm("a"), llm("b")], "Hi", accept=accept)
    assert result.content.startswith("good")


async def test_when_all_fail_one_error_carries_every_cause(
    llm: Callable[[str], LLM], routes: Routes, autojump_clock: trio.testing.MockClock
) -> None:
    routes.steps = {"a": failing(500), "b": failing(401), "c": failing(400)}
    with pytest.raises(AllAttemptsFailed, match="all 3 attempt") as info:
        await race([llm("a"), llm("b"), llm("c")], "Hi")
    kinds = {type(e).__name__ for e in info.value.errors}
    assert kinds == {"ProviderUnavailable", "AuthenticationError", "BadRequest"}
    assert sorted(info.value.labels) == ["a", "b", "c"]


async def test_a_failure_does_not_stop_the_others(
    llm: Callable[[str], LLM], routes: Routes, autojump_clock: trio.testing.MockClock
) -> None:
    routes.steps = {"broken": failing(500, ttft=0.01), "ok": answer("fine", 0.5)}
    result = await race([llm("broken"), llm("ok")], "Hi")
    assert result.content.startswith("fine")
    assert {a.label: a.status for a in result.attempts}["broken"] is Status.FAILED


async def test_race_timeout(
    llm: Callable[[str], LLM],
    server: FakeOpenAIServer,
    routes: Routes,
    autojump_clock: trio.testing.MockClock,
) -> None:
    routes.steps = {"a": answer("a", 10), "b": answer("b", 20)}
    with pytest.raises(PatternTimeout, match="within 1s"):
        await race([llm("a"), llm("b")], "Hi", timeout=1)
    assert server.open_connections == 0


async def test_race_stream_first_token_wins(
    llm: Callable[[str], LLM],
    server: FakeOpenAIServer,
    routes: Routes,
    autojump_clock: trio.testing.MockClock,
) -> None:
    routes.steps = {"slow": answer("slow", 0.5, chunks=30), "fast": answer("fast", 0.1, 5)}
    async with race_stream([llm("slow"), llm("fast")], "Hi") as stream:
        assert stream.winner.label == "fast"
        text = "".join([chunk.text async for chunk in stream])
        assert server.open_connections <= 1  # the loser is already gone
    assert text.startswith("fast")
    assert (server.open_connections, server.active_requests) == (1, 0)  # the winner's, idle
    statuses = {a.label: a.status for a in stream.attempts}
    assert statuses == {"slow": Status.CANCELLED, "fast": Status.WON}


async def test_race_stream_all_fail(
    llm: Callable[[str], LLM], routes: Routes, autojump_clock: trio.testing.MockClock
) -> None:
    routes.steps = {"a": failing(500), "b": failing(503)}
    with pytest.raises(AllAttemptsFailed):
        async with race_stream([llm("a"), llm("b")], "Hi"):
            pass


async def test_the_caller_cancelling_cancels_every_attempt(
    llm: Callable[[str], LLM],
    server: FakeOpenAIServer,
    routes: Routes,
    autojump_clock: trio.testing.MockClock,
) -> None:
    routes.steps = {"a": answer("a", 10), "b": answer("b", 10)}
    with trio.move_on_after(1):
        await race([llm("a"), llm("b")], "Hi")
    assert server.open_connections == 0


@settings(max_examples=25, deadline=None)
@given(
    pauses=st.lists(st.sampled_from([0.0, 0.005, 0.05]), min_size=1, max_size=12),
    fault_after=st.one_of(st.none(), st.integers(min_value=1, max_value=12)),
)
async def test_race_stream_receive_nowait_sees_every_chunk_once_in_order(
    pauses: list[float], fault_after: int | None
) -> None:
    """A reader that takes bursts with receive_nowait between awaits (as the
    gateway does) gets the winner's chunks exactly once, in order, then the
    end or the error — wherever its pauses fall."""
    pieces = [f"p{i} " for i in range(len(pauses) + 3)]
    reply = Reply(chunks=pieces, token_latency=0.001)
    step = reply if fault_after is None else Fault.reset(fault_after, reply=reply)
    async with open_fake_openai_server(Routes({"win": step})) as fake, open_runtime(env={}) as rt:
        make = functools.partial(
            rt.create_llm, "openai-compatible", base_url=fake.base_url, max_retries=0
        )
        got: list[str] = []
        failed: Exception | None = None
        with trio.fail_after(10):
            try:
                async with race_stream([make("win")], "Hi") as stream:
                    turn = 0
                    async for chunk in stream:
                        got.append(chunk.text)
                        await trio.sleep(pauses[turn % len(pauses)])  # chunks pile up
                        turn += 1
                        while True:
                            try:
                                got.append(stream.receive_nowait().text)
                            except trio.WouldBlock:
                                break
            except Exception as exc:
                failed = exc
    text = "".join(got)
    if fault_after is None:
        assert text == "".join(pieces) and failed is None
    else:
        # a prefix, in order, nothing twice (a reset may take unread bytes with
        # it, so not always all that was sent); a reset past the end still fails
        assert "".join(pieces[:fault_after]).startswith(text)
        assert failed is not None
