"""Properties of run_tool_calls over random turns, chosen by hypothesis.

Whatever the calls do (finish in any order, fail, time out, name unknown
tools, carry broken JSON), there is exactly one result per call, in call
order, with the call's id; the virtual time taken is the slowest call's,
not the sum; a cancel at any moment leaves no task behind.
"""

from __future__ import annotations

import json
from typing import Any

import attrs
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from abstractcore_actors.tools import run_tool_calls, tool
from abstractcore_actors.types import ToolCall
from tests.leaks import our_tasks

TIMEOUT = 5.0


@tool
async def work(seconds: float, fail: bool = False) -> str:
    await trio.sleep(seconds)
    if fail:
        raise ValueError("asked to fail")
    return f"slept {seconds}"


TOOLS = {"work": work}


@attrs.frozen
class Plan:
    """One call and what its result must be."""

    call: ToolCall
    seconds: float
    expect: str  # "ok", "fail", "timeout", "unknown", "json"


@st.composite
def plans(draw: st.DrawFn, index: int) -> Plan:
    kind = draw(st.sampled_from(["ok", "fail", "unknown", "json"]))
    seconds = draw(st.floats(min_value=0, max_value=8, allow_nan=False))
    call_id = f"call-{index}"
    if kind == "unknown":
        call = ToolCall(id=call_id, name=draw(st.sampled_from(["wrok", "", "Work"])))
        return Plan(call=call, seconds=0, expect="unknown")
    if kind == "json":
        raw = draw(st.sampled_from(["{", '{"seconds": ', "[]", "nope"]))
        return Plan(
            call=ToolCall.from_raw(id=call_id, name="work", raw_arguments=raw),
            seconds=0,
            expect="json",
        )
    arguments = json.dumps({"seconds": seconds, "fail": kind == "fail"})
    call = ToolCall.from_raw(id=call_id, name="work", raw_arguments=arguments)
    expect = "timeout" if seconds >= TIMEOUT else kind
    return Plan(call=call, seconds=min(seconds, TIMEOUT), expect=expect)


@st.composite
def turns(draw: st.DrawFn) -> list[Plan]:
    size = draw(st.integers(min_value=0, max_value=12))
    return [draw(plans(i)) for i in range(size)]


def check(plan: Plan, result: Any) -> None:
    assert result.call_id == plan.call.id and result.name == plan.call.name
    match plan.expect:
        case "ok":
            assert result.ok and result.content.startswith("slept")
        case "fail":
            assert result.error == "tool work failed: ValueError: asked to fail"
        case "timeout":
            assert result.error.startswith("tool work timed out")
        case "unknown":
            assert result.error.startswith(f"unknown tool {plan.call.name!r}")
        case "json":
            assert "not a valid JSON object" in result.error


@settings(max_examples=150, deadline=None)
@given(turn=turns())
def test_one_result_per_call_in_call_order(turn: list[Plan]) -> None:
    async def main() -> None:
        start = trio.current_time()
        results = await run_tool_calls([p.call for p in turn], TOOLS, timeout=TIMEOUT)
        elapsed = trio.current_time() - start
        assert len(results) == len(turn)
        for plan, result in zip(turn, results, strict=True):
            check(plan, result)
        slowest = max((p.seconds for p in turn), default=0.0)
        assert abs(elapsed - slowest) < 1e-6  # concurrent: the slowest, not the sum

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


@settings(max_examples=100, deadline=None)
@given(turn=turns(), cancel_at=st.floats(min_value=0, max_value=6))
def test_cancel_at_any_moment_leaves_nothing(turn: list[Plan], cancel_at: float) -> None:
    async def main() -> None:
        finished = None
        with trio.move_on_after(cancel_at) as scope:
            finished = await run_tool_calls([p.call for p in turn], TOOLS, timeout=TIMEOUT)
        slowest = max((p.seconds for p in turn), default=0.0)
        if scope.cancelled_caught:
            assert finished is None
        else:
            assert finished is not None and len(finished) == len(turn)
            assert cancel_at >= slowest
        assert our_tasks() == []

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
