"""Turns and the tool loop: history, parallel tools (MockClock proves it), tool
errors reaching the model, max_iterations, provider errors, bad input."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

from abstractcore_actors import LLM, BadRequest, Runtime, ValidationError
from abstractcore_actors.events import (
    ContextInjected,
    GenerationStarted,
    SessionCreated,
    ToolCompleted,
    ToolStarted,
)
from abstractcore_actors.testing import FakeOpenAIServer, FakeToolCall, Fault, Reply
from abstractcore_actors.tools import tool

from .conftest import Model


def _tools_then_answer(*calls: FakeToolCall) -> Any:
    def plan(messages: list[dict[str, Any]]) -> Reply:
        if messages[-1]["role"] == "tool":
            results = [m["content"] for m in messages if m["role"] == "tool"]
            return Reply(text=" | ".join(results))
        return Reply(tool_calls=list(calls))

    return plan


async def test_stream_a_turn_and_keep_history(rt: Runtime, llm: LLM, model: Model) -> None:
    s = rt.session(llm, system_prompt="be brief", temperature=0.2)
    async with s.stream("hello there") as turn:
        pieces = [chunk.text async for chunk in turn]
    assert "".join(pieces) == "echo: hello there" == turn.text
    response = turn.response()
    assert response.content == "echo: hello there" and response.finish_reason == "stop"
    assert response.usage.completion_tokens > 0 and response.request_id == turn.turn_id
    await s.generate("again", max_tokens=5)
    assert [(m.role, m.content) for m in s.history] == [
        ("user", "hello there"),
        ("assistant", "echo: hello there"),
        ("user", "again"),
        ("assistant", "echo: again"),
    ]
    assert model.seen[-1][0] == {"role": "system", "content": "be brief"}
    assert s.turns == 2 and not s.running


async def test_tools_of_one_turn_run_in_parallel_results_in_call_order(
    rt: Runtime, llm: LLM, model: Model, autojump_clock: trio.testing.MockClock
) -> None:
    @tool
    async def wait(seconds: float, label: str) -> str:
        """Wait, then say the label."""
        await trio.sleep(seconds)
        return label

    model.plan = _tools_then_answer(
        FakeToolCall(name="wait", arguments={"seconds": 3, "label": "slow"}),
        FakeToolCall(name="wait", arguments={"seconds": 1, "label": "fast"}),
        FakeToolCall(name="wait", arguments={"seconds": 2, "label": "mid"}),
    )
    s = rt.session(llm, tools=[wait])
    start = trio.current_time()
    reply = await s.generate("go")
    elapsed = trio.current_time() - start
    assert reply.content == "slow | fast | mid"  # call order, not finishing order
    assert 3 <= elapsed < 4  # 3 s, not 6 s: they ran together


async def test_tool_errors_are_results_the_model_sees(rt: Runtime, llm: LLM, model: Model) -> None:
    # real clock: `divide` is sync and runs in a thread, which a MockClock
    # with autojump would not wait for (it would jump to the tool timeout)
    @tool
    def divide(a: int, b: int) -> float:
        """Divide a by b."""
        return a / b

    model.plan = _tools_then_answer(
        FakeToolCall(name="divide", arguments={"a": 1, "b": 0}),
        FakeToolCall(name="nope", arguments={}),
        FakeToolCall(name="divide", arguments='{"a": 1,'),
        FakeToolCall(name="divide", arguments={"a": "one", "b": 2}),
        FakeToolCall(name="divide", arguments={"a": 6, "b": 3}),
    )
    s = rt.session(llm, tools=[divide])
    reply = await s.generate("compute")
    results = [m.content for m in s.history if m.role == "tool"]
    assert "ZeroDivisionError" in results[0] or "division by zero" in results[0]
    assert "nope" in results[1] and "divide" in results[1]  # unknown, names what exists
    assert "JSON" in results[2] or "json" in results[2]
    assert "a" in results[3] and "divide" in results[3]
    assert results[4] == "2.0"
    assert all(r.startswith("error") for r in results[:4])
    assert reply.content.count("error") >= 4


async def test_max_iterations_bounds_the_tool_loop(rt: Runtime, llm: LLM, model: Model) -> None:
    @tool
    def again() -> str:
        """Always call me again."""
        return "more"

    model.plan = lambda messages: Reply(
        text="thinking", tool_calls=[FakeToolCall(name="again", arguments={})]
    )
    s = rt.session(llm, tools=[again], max_iterations=2)
    reply = await s.generate("loop")
    assert reply.finish_reason == "max_iterations" and reply.content == "thinking"
    assert len(model.seen) == 3  # two tool rounds, then the last answer
    assert s.history[-1].tool_calls == ()  # no unanswered tool call left in history


async def test_provider_error_rolls_the_turn_back(
    rt: Runtime, llm: LLM, model: Model, server: FakeOpenAIServer
) -> None:
    s = rt.session(llm)
    await s.generate("fine")
    model.plan = lambda messages: Fault.status(400, message="bad request")
    with pytest.raises(BadRequest):
        await s.generate("broken")
    assert [m.content for m in s.history] == ["fine", "echo: fine"]
    model.plan = None
    assert (await s.generate("retry")).content == "echo: retry"


async def test_sessions_share_one_provider_actor_and_run_concurrently(
    rt: Runtime, llm: LLM, model: Model, autojump_clock: trio.testing.MockClock
) -> None:
    model.ttft = 2.0
    sessions = [rt.session(llm) for _ in range(5)]
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        for i, s in enumerate(sessions):
            nursery.start_soon(s.generate, f"q{i}")
    assert trio.current_time() - start < 3
    assert [s.history[-1].content for s in sessions] == [f"echo: q{i}" for i in range(5)]


async def test_session_events(rt: Runtime, llm: LLM, model: Model) -> None:
    @tool
    def ping() -> str:
        """Ping."""
        return "pong"

    model.plan = _tools_then_answer(FakeToolCall(name="ping", arguments={}))
    async with rt.events.subscribe() as events:
        s = rt.session(llm, tools=[ping])
        await s.inject("context")
        await s.generate("go")
        got = []
        while True:
            try:
                got.append(events.receive_nowait())
            except trio.WouldBlock:
                break
    mine = [e for e in got if e.session_id == s.id]
    kinds = [type(e) for e in mine]
    assert kinds[0] is SessionCreated
    assert ContextInjected in kinds and ToolStarted in kinds and ToolCompleted in kinds
    assert kinds.count(GenerationStarted) == 2  # both model calls carry the session id
    applied = [e for e in mine if isinstance(e, ContextInjected) and e.applied]
    assert len(applied) == 1
    by_request: dict[str, list[int]] = {}
    for event in mine:
        by_request.setdefault(event.request_id, []).append(event.seq)
    assert all(seqs == sorted(seqs) for seqs in by_request.values())


async def test_bad_input_is_a_clear_validation_error(rt: Runtime, llm: LLM) -> None:
    with pytest.raises(ValidationError, match="needs an LLM"):
        rt.session("openai")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="max_iterations"):
        rt.session(llm, max_iterations=-1)
    with pytest.raises(ValidationError, match="tool_timeout"):
        rt.session(llm, tool_timeout=0)
    with pytest.raises(ValidationError, match="temperature"):
        rt.session(llm, temperature=7)
    with pytest.raises(ValidationError):
        rt.session(llm, tools=[{"type": "function", "function": {"name": "x"}}])
    s = rt.session(llm)
    with pytest.raises(ValidationError, match="empty"):
        await s.generate("")
    with pytest.raises(ValidationError, match="empty"):
        await s.inject([])
    async with s.stream("x") as turn:
        with pytest.raises(ValidationError, match="not ended"):
            turn.response()
        async for _ in turn:
            pass
