"""Intervention while a turn runs: inject, cancel, revise, new tools and prompt —
against the fake OpenAI server over loopback HTTP, timed with MockClock."""

from __future__ import annotations

from typing import Any

import trio
import trio.testing

from abstractcore_actors import LLM, Runtime
from abstractcore_actors.testing import FakeOpenAIServer, FakeToolCall, Reply
from abstractcore_actors.tools import tool

from .conftest import Model

STORY = "one two three four five six seven eight"


def _roles(s: Any) -> list[tuple[str, str]]:
    return [(e.message.role, e.status) for e in s.entries]


async def _inject_after(s: Any, seconds: float, text: str) -> None:
    await trio.sleep(seconds)
    await s.inject(text)


async def test_inject_mid_stream_keeps_partial_and_continues(
    rt: Runtime, llm: LLM, model: Model, autojump_clock: trio.testing.MockClock
) -> None:
    model.token_latency = 1.0
    s = rt.session(llm)
    async with trio.open_nursery() as nursery, s.stream(STORY) as turn:
        nursery.start_soon(_inject_after, s, 2.5, "it is raining")
        chunks = [c.text async for c in turn]
    assert _roles(s) == [
        ("user", "complete"),
        ("assistant", "interrupted"),
        ("user", "injected"),
        ("assistant", "complete"),
    ]
    partial = s.history[1].content
    assert partial and STORY.startswith(partial.removeprefix("echo: ")[:3])
    assert s.history[2].content == "it is raining"
    assert turn.response().content == "echo: it is raining"
    assert "".join(chunks) == partial + "echo: it is raining"
    last_request = model.seen[-1]
    assert [m["content"] for m in last_request].count("it is raining") == 1
    assert last_request[-2]["content"] == partial  # the model sees what it had said


async def test_inject_before_first_token_restarts_without_partial(
    rt: Runtime, llm: LLM, model: Model, autojump_clock: trio.testing.MockClock
) -> None:
    model.ttft = 10.0
    s = rt.session(llm)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_inject_after, s, 1.0, "context")
        reply = await s.generate("question")
    assert _roles(s) == [("user", "complete"), ("user", "injected"), ("assistant", "complete")]
    assert reply.content == "echo: context"
    assert len(model.seen) == 2


async def test_inject_during_tools_joins_before_the_next_model_call(
    rt: Runtime, llm: LLM, model: Model, autojump_clock: trio.testing.MockClock
) -> None:
    @tool
    async def slow_lookup(key: str) -> str:
        """Look up a key, slowly."""
        await trio.sleep(5)
        return f"value of {key}"

    def plan(messages: list[dict[str, Any]]) -> Reply:
        if messages[-1]["role"] == "user" and messages[-1]["content"] == "q":
            return Reply(tool_calls=[FakeToolCall(name="slow_lookup", arguments={"key": "k"})])
        return Reply(text="final")

    model.plan = plan
    s = rt.session(llm, tools=[slow_lookup])
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_inject_after, s, 1.0, "by the way")
        reply = await s.generate("q")
    assert reply.content == "final"
    assert _roles(s) == [
        ("user", "complete"),
        ("assistant", "complete"),
        ("tool", "complete"),
        ("user", "injected"),
        ("assistant", "complete"),
    ]
    assert s.history[2].content == "value of k"  # the tool was not cut short
    assert [m["role"] for m in model.seen[-1]] == ["user", "assistant", "tool", "user"]


async def test_injection_between_turns_joins_the_next_turn_once(
    rt: Runtime, llm: LLM, model: Model
) -> None:
    s = rt.session(llm)
    await s.generate("first")
    await s.inject("note A")
    await s.inject("note B")
    assert [m.content for m in s.pending] == ["note A", "note B"]
    await s.generate("second")
    assert s.pending == ()
    contents = [m["content"] for m in model.seen[-1]]
    assert contents[2:5] == ["note A", "note B", "second"]
    await s.generate("third")
    assert [m["content"] for m in model.seen[-1]].count("note A") == 1


async def test_cancel_mid_stream_keeps_partial_marked_cancelled(
    rt: Runtime,
    llm: LLM,
    model: Model,
    server: FakeOpenAIServer,
    autojump_clock: trio.testing.MockClock,
) -> None:
    model.token_latency = 1.0
    s = rt.session(llm)

    async def stop_soon() -> None:
        await trio.sleep(3.5)
        assert await s.cancel() is True

    async with trio.open_nursery() as nursery, s.stream(STORY) as turn:
        nursery.start_soon(stop_soon)
        text = "".join([c.text async for c in turn])
    assert turn.cancelled and turn.response().finish_reason == "cancelled"
    assert _roles(s) == [("user", "complete"), ("assistant", "cancelled")]
    assert s.history[1].content == text == turn.response().content
    assert 0 < len(text) < len("echo: " + STORY)
    assert await s.cancel() is False  # nothing runs now
    with trio.fail_after(5):
        await server.wait_for_connections(0)  # the cut-off stream's socket is closed
    reply = await s.generate("next")
    assert reply.content == "echo: next"
    assert model.seen[-1][1]["content"] == text  # the next call sees the partial answer


async def test_outer_cancel_scope_keeps_partial_and_leaves_nothing(
    rt: Runtime, llm: LLM, model: Model, autojump_clock: trio.testing.MockClock
) -> None:
    model.token_latency = 1.0
    s = rt.session(llm)
    with trio.move_on_after(3.5) as scope:
        await s.generate(STORY)
    assert scope.cancelled_caught
    assert _roles(s) == [("user", "complete"), ("assistant", "cancelled")]
    assert s.history[1].content.startswith("echo:")
    assert not s.running


async def test_cancel_during_tools_answers_every_tool_call(
    rt: Runtime, llm: LLM, model: Model, autojump_clock: trio.testing.MockClock
) -> None:
    finished: list[str] = []

    @tool
    async def slow(key: str) -> str:
        """Slow."""
        await trio.sleep(10)
        finished.append(key)
        return key

    model.plan = lambda messages: (
        Reply(text="after")
        if messages[-1]["role"] != "user" or messages[-1]["content"] != "go"
        else Reply(
            tool_calls=[
                FakeToolCall(name="slow", arguments={"key": "a"}),
                FakeToolCall(name="slow", arguments={"key": "b"}),
            ]
        )
    )
    s = rt.session(llm, tools=[slow])

    async def stop_soon() -> None:
        await trio.sleep(2)
        await s.cancel()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(stop_soon)
        reply = await s.generate("go")
    assert reply.finish_reason == "cancelled" and finished == []
    assert _roles(s) == [
        ("user", "complete"),
        ("assistant", "complete"),
        ("tool", "cancelled"),
        ("tool", "cancelled"),
    ]
    assert [m.tool_call_id for m in s.history[2:]] == [c.id for c in s.history[1].tool_calls]
    assert (await s.generate("go on")).content == "after"  # the history is still valid


async def test_revise_mid_stream_restarts_with_the_new_prompt(
    rt: Runtime, llm: LLM, model: Model, autojump_clock: trio.testing.MockClock
) -> None:
    model.token_latency = 1.0
    s = rt.session(llm)
    assert await s.revise("nothing runs") is False

    async def change_mind() -> None:
        await trio.sleep(2.5)
        assert await s.revise("short one") is True

    async with trio.open_nursery() as nursery, s.stream(STORY) as turn:
        nursery.start_soon(change_mind)
        async for _ in turn:
            pass
    assert turn.response().content == "echo: short one"
    assert [(m.role, m.content) for m in s.history] == [
        ("user", "short one"),
        ("assistant", "echo: short one"),
    ]
    assert all(m["content"] != STORY for m in model.seen[-1])


async def test_set_tools_and_system_prompt_apply_at_the_next_model_call(
    rt: Runtime, llm: LLM, model: Model, autojump_clock: trio.testing.MockClock
) -> None:
    @tool
    async def first_tool(x: int) -> int:
        """First."""
        await trio.sleep(3)
        return x

    @tool
    def second_tool(y: str) -> str:
        """Second."""
        return y

    model.plan = lambda messages: (
        Reply(tool_calls=[FakeToolCall(name="first_tool", arguments={"x": 1})])
        if messages[-1]["role"] == "user"
        else Reply(text="ok")
    )
    s = rt.session(llm, system_prompt="old rules", tools=[first_tool])

    async def change() -> None:
        await trio.sleep(1)  # during first_tool
        await s.set_tools([second_tool])
        await s.set_system_prompt("new rules")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(change)
        await s.generate("go")
    first, second = model.seen[-2], model.seen[-1]
    assert first[0] == {"role": "system", "content": "old rules"}
    assert second[0] == {"role": "system", "content": "new rules"}
    assert (await s.tools()).names == ("second_tool",)
    await s.add_tool(first_tool)
    await s.remove_tool("second_tool")
    assert (await s.tools()).names == ("first_tool",)


async def test_leaving_the_stream_block_early_cancels_the_turn(
    rt: Runtime,
    llm: LLM,
    model: Model,
    server: FakeOpenAIServer,
    autojump_clock: trio.testing.MockClock,
) -> None:
    model.token_latency = 1.0
    s = rt.session(llm)
    async with s.stream(STORY) as turn:
        async for _ in turn:
            if "two" in turn.text:
                break
    assert _roles(s) == [("user", "complete"), ("assistant", "cancelled")]
    assert s.history[1].content.startswith(turn.text)
    assert not s.running
    with trio.fail_after(5):
        await server.wait_for_connections(0)
