"""run_tool_calls: parallel, in order, every failure a result, cancel leaves nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest
import trio
import trio.testing

from abstractcore_actors.events import (
    CallCancelled,
    ErrorOccurred,
    Event,
    EventBus,
    ToolCompleted,
    ToolProgress,
    ToolStarted,
)
from abstractcore_actors.kernel import open_actor_system
from abstractcore_actors.tools import (
    ToolContext,
    ToolDefinition,
    ToolFailed,
    run_tool_calls,
    tool,
)
from abstractcore_actors.types import ToolCall
from tests.leaks import extra_threads, live_tasks, our_tasks


def call(name: str, id: str | None = None, **arguments: Any) -> ToolCall:
    return ToolCall(id=id or name, name=name, arguments=arguments)


def tools(*definitions: ToolDefinition[..., Any]) -> dict[str, ToolDefinition[..., Any]]:
    return {d.name: d for d in definitions}


@tool
async def sleepy(seconds: float, answer: str) -> str:
    await trio.sleep(seconds)
    return answer


@attrs.frozen
class Forecast:
    city: str
    temps: tuple[int, ...]


@tool
def forecast(city: str) -> Forecast:
    return Forecast(city=city, temps=(20, 22))


@tool
async def boom() -> str:
    raise RuntimeError("the disk is full")


@tool
def returns_set() -> set[int]:
    return {3}


@tool
def circular() -> list[Any]:
    data: list[Any] = []
    data.append(data)
    return data


@tool
def returns_none() -> None:
    return None


async def test_async_tools_run_in_parallel_results_in_call_order(
    clock: trio.testing.MockClock,
) -> None:
    calls = [
        call("sleepy", "a", seconds=3, answer="first"),
        call("sleepy", "b", seconds=2, answer="second"),
        call("sleepy", "c", seconds=1, answer="third"),
    ]
    start = trio.current_time()
    results = await run_tool_calls(calls, tools(sleepy))
    assert trio.current_time() - start == pytest.approx(3)  # not 6: concurrent
    assert [r.call_id for r in results] == ["a", "b", "c"]
    assert [r.content for r in results] == ["first", "second", "third"]
    assert all(r.ok for r in results)


async def test_three_one_second_tools_take_one_second(clock: trio.testing.MockClock) -> None:
    start = trio.current_time()
    results = await run_tool_calls(
        [call("sleepy", str(i), seconds=1, answer=str(i)) for i in range(3)], tools(sleepy)
    )
    assert trio.current_time() - start == pytest.approx(1)
    assert [r.content for r in results] == ["0", "1", "2"]


async def test_sync_tools_run_concurrently_in_threads() -> None:
    # Three tools that each wait for the other two: only possible if all run at once.
    barrier = threading.Barrier(3, timeout=10)
    main_thread = threading.get_ident()

    @tool
    def meet(i: int) -> str:
        barrier.wait()
        return f"{i}:{threading.get_ident() != main_thread}"

    results = await run_tool_calls([call("meet", str(i), i=i) for i in range(3)], tools(meet))
    assert [r.content for r in results] == ["0:True", "1:True", "2:True"]


async def test_results_serialised() -> None:
    results = await run_tool_calls(
        [call("forecast", city="Oslo"), call("returns_set"), call("returns_none")],
        tools(forecast, returns_set, returns_none),
    )
    assert results[0].content == '{"city": "Oslo", "temps": [20, 22]}'
    assert results[1].content == "[3]"
    assert results[2].content == "null"


async def test_a_raising_tool_becomes_an_error_result() -> None:
    [result] = await run_tool_calls([call("boom")], tools(boom))
    assert not result.ok
    assert result.content == ""
    assert result.error == "tool boom failed: RuntimeError: the disk is full"


async def test_a_tool_raising_tool_failed_tells_the_model_exactly_that() -> None:
    @tool
    def quota() -> str:
        """Uses a quota."""
        raise ToolFailed("the daily quota is used up; try again tomorrow")

    [result] = await run_tool_calls([call("quota")], tools(quota))
    assert result.error == "tool quota failed: the daily quota is used up; try again tomorrow"


async def test_unserialisable_result() -> None:
    [result] = await run_tool_calls([call("circular")], tools(circular))
    assert result.error is not None
    assert "tool circular returned a value that cannot be sent as JSON" in result.error


async def test_unknown_tool_lists_the_available_ones() -> None:
    results = await run_tool_calls(
        [call("wether", city="x"), call("forecast", city="Rome")], tools(sleepy, forecast)
    )
    assert results[0].error == (
        "unknown tool 'wether'; the available tools are: sleepy, forecast. "
        "Call one of those by its exact name."
    )
    assert results[1].ok  # one bad call does not spoil the others
    [none] = await run_tool_calls([call("x")], {})
    assert none.error is not None and "the available tools are: none" in none.error


@pytest.mark.parametrize(
    ("raw", "problem"),
    [("{bad", "Expecting property name"), ("[1, 2]", "they are JSON, but not an object")],
)
async def test_malformed_json_arguments(raw: str, problem: str) -> None:
    bad = ToolCall.from_raw(id="1", name="forecast", raw_arguments=raw)
    [result] = await run_tool_calls([bad], tools(forecast))
    assert result.error is not None
    assert result.error.startswith("the arguments for tool forecast are not a valid JSON object")
    assert problem in result.error
    assert repr(raw) in result.error


async def test_schema_violation_is_an_error_result() -> None:
    [result] = await run_tool_calls([call("forecast", city=3)], tools(forecast))
    assert result.error is not None
    assert "forecast" in result.error and "city: expected a string, got 3" in result.error


async def test_runner_timeout(clock: trio.testing.MockClock) -> None:
    start = trio.current_time()
    results = await run_tool_calls(
        [
            call("sleepy", "slow", seconds=60, answer="x"),
            call("sleepy", "ok", seconds=1, answer="y"),
        ],
        tools(sleepy),
        timeout=5,
    )
    assert trio.current_time() - start == pytest.approx(5)
    assert results[0].error is not None
    assert results[0].error.startswith("tool sleepy timed out after 5 s")
    assert results[1].content == "y"


async def test_tool_timeout_overrides_the_runners(clock: trio.testing.MockClock) -> None:
    quick = tool(sleepy.function, name="quick", timeout=0.5)
    patient = tool(sleepy.function, name="patient", timeout=100)
    results = await run_tool_calls(
        [call("quick", seconds=1, answer="q"), call("patient", seconds=50, answer="p")],
        tools(quick, patient),
        timeout=10,
    )
    assert results[0].error is not None and "timed out after 0.5 s" in results[0].error
    assert results[1].content == "p"


async def test_no_timeout() -> None:
    [result] = await run_tool_calls(
        [call("sleepy", seconds=0.01, answer="x")], tools(sleepy), timeout=None
    )
    assert result.content == "x"


async def test_sync_tool_timeout_takes_effect_at_check_cancelled() -> None:
    stopped = threading.Event()

    @tool(timeout=0.05)
    def spin() -> str:
        try:
            while True:
                trio.from_thread.check_cancelled()
                time.sleep(0.005)
        finally:
            stopped.set()

    [result] = await run_tool_calls([call("spin")], tools(spin))
    assert stopped.is_set()  # the thread ended before the runner returned
    assert result.error is not None and "timed out after 0.05 s" in result.error


async def test_sync_tool_finishing_late_still_times_out() -> None:
    @tool(timeout=0.02)
    def stubborn() -> str:
        time.sleep(0.1)  # never checks: the timeout applies when it returns
        return "late"

    [result] = await run_tool_calls([call("stubborn")], tools(stubborn))
    assert result.error is not None and "timed out" in result.error


async def test_sync_tool_returning_a_coroutine() -> None:
    async def later() -> str:
        return "x"

    @tool
    def confused() -> Any:
        return later()

    [result] = await run_tool_calls([call("confused")], tools(confused))
    # trio itself refuses it (and closes the coroutine): the model gets an error.
    assert result.error is not None
    assert result.error.startswith("tool confused failed: TypeError")
    assert "appears to be asynchronous" in result.error


async def test_bad_runner_timeout() -> None:
    from abstractcore_actors.errors import ValidationError

    with pytest.raises(ValidationError, match="timeout"):
        await run_tool_calls([], {}, timeout=-1)
    assert await run_tool_calls([], {}) == []


async def test_caller_cancel_stops_everything() -> None:
    # Real clock: an autojump clock would jump past the timeouts while a thread works.
    threads_before = {t.ident for t in threading.enumerate()}
    tasks_before = len(live_tasks())
    thread_ended = threading.Event()
    thread_started = threading.Event()

    @tool
    def worker() -> str:
        thread_started.set()
        try:
            while True:
                trio.from_thread.check_cancelled()
                time.sleep(0.001)
        finally:
            thread_ended.set()

    finished: list[str] = []

    @tool
    async def waiter() -> str:
        try:
            await trio.sleep_forever()
        finally:
            finished.append("waiter")
        return "never"

    async with trio.open_nursery() as nursery:
        cancel_scope = trio.CancelScope()
        outcome: list[object] = []

        async def caller() -> None:
            with cancel_scope:
                try:
                    outcome.append(
                        await run_tool_calls(
                            [call("worker"), call("waiter")], tools(worker, waiter)
                        )
                    )
                except trio.Cancelled:
                    outcome.append("cancelled")
                    raise

        nursery.start_soon(caller)
        await trio.to_thread.run_sync(thread_started.wait)
        cancel_scope.cancel()

    assert outcome == ["cancelled"]  # a single Cancelled, not a group
    assert cancel_scope.cancelled_caught
    assert thread_ended.is_set() and finished == ["waiter"]
    assert extra_threads(threads_before) == []
    assert len(live_tasks()) == tasks_before
    assert our_tasks() == []


@pytest.fixture
async def bus() -> AsyncIterator[EventBus]:
    async with open_actor_system() as system:
        yield EventBus(system)


async def collect(
    bus: EventBus, calls: list[ToolCall], defs: dict[str, Any], **kw: Any
) -> list[Event]:
    async with bus.subscribe("*") as events:
        await run_tool_calls(calls, defs, emitter=bus.emitter("req-1", session_id="s"), **kw)
        found = []
        while True:
            try:
                found.append(events.receive_nowait())
            except trio.WouldBlock:
                return found


async def test_events_of_a_good_call_with_progress(bus: EventBus) -> None:
    @tool
    async def steps(n: int, ctx: ToolContext) -> str:
        for i in range(n):
            ctx.progress(f"step {i}", fraction=(i + 1) / n)
            await trio.lowlevel.checkpoint()
        return ctx.call_id

    events = await collect(bus, [call("steps", "c1", n=2)], tools(steps))
    assert [type(e) for e in events] == [ToolStarted, ToolProgress, ToolProgress, ToolCompleted]
    assert [e.seq for e in events] == [1, 2, 3, 4]
    assert all(e.request_id == "req-1" and e.session_id == "s" for e in events)
    started, first, second, completed = events
    assert isinstance(started, ToolStarted) and started.arguments == {"n": 2}
    assert isinstance(first, ToolProgress) and (first.message, first.fraction) == ("step 0", 0.5)
    assert isinstance(second, ToolProgress) and second.fraction == 1.0
    assert isinstance(completed, ToolCompleted)
    assert (completed.call_id, completed.tool, completed.ok, completed.error) == (
        "c1",
        "steps",
        True,
        None,
    )


async def test_progress_from_a_sync_tool_thread(bus: EventBus) -> None:
    @tool
    def crunch(ctx: ToolContext) -> str:
        ctx.progress("half", 0.5)
        return "done"

    events = await collect(bus, [call("crunch")], tools(crunch))
    assert [e.type for e in events] == ["tool.started", "tool.progress", "tool.completed"]
    progress = events[1]
    assert isinstance(progress, ToolProgress) and progress.message == "half"


async def test_progress_checks_its_fraction() -> None:
    from abstractcore_actors.errors import ValidationError

    ctx = ToolContext(call_id="t", tool="x")
    ctx.progress("no emitter: ignored")  # usable directly in tests
    with pytest.raises(ValidationError, match=r"\[0, 1\]"):
        ctx.progress("bad", 1.5)


async def test_events_of_a_failed_call(bus: EventBus, clock: trio.testing.MockClock) -> None:
    events = await collect(bus, [call("boom")], tools(boom))
    assert [type(e) for e in events] == [ToolStarted, ErrorOccurred, ToolCompleted]
    error, completed = events[1], events[2]
    assert isinstance(error, ErrorOccurred)
    assert (error.source, error.error_type) == ("tool", "RuntimeError")
    assert isinstance(completed, ToolCompleted)
    assert completed.ok is False and completed.error == error.message


async def test_completed_duration(bus: EventBus, clock: trio.testing.MockClock) -> None:
    events = await collect(bus, [call("sleepy", seconds=2, answer="x")], tools(sleepy))
    completed = events[-1]
    assert isinstance(completed, ToolCompleted) and completed.duration == pytest.approx(2)


async def test_cancel_emits_cancelled_for_unfinished_calls(
    bus: EventBus, clock: trio.testing.MockClock
) -> None:
    async with bus.subscribe("*") as events:
        with trio.move_on_after(5):
            await run_tool_calls(
                [
                    call("sleepy", "fast", seconds=1, answer="x"),
                    call("sleepy", "slow", seconds=9, answer="y"),
                ],
                tools(sleepy),
                emitter=bus.emitter("r"),
            )
        kinds = []
        while True:
            try:
                kinds.append(events.receive_nowait())
            except trio.WouldBlock:
                break
    completed = [e for e in kinds if isinstance(e, ToolCompleted)]
    cancelled = [e for e in kinds if isinstance(e, CallCancelled)]
    assert [e.call_id for e in completed] == ["fast"]
    assert len(cancelled) == 1
    assert cancelled[0].source == "tool" and "call slow" in cancelled[0].reason
    assert [e.seq for e in kinds] == list(range(1, len(kinds) + 1))
