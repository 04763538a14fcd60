"""give_up="back_off": a child crashing past its intensity is parked, not escalated.

Its callers are answered at once with `ActorUnavailable` (saying when it is
back), its siblings and the program around it go on, and after a delay that
doubles each time it starts afresh.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

from abstractcore_actors import (
    ActorContext,
    ActorCrashed,
    ActorUnavailable,
    Behaviour,
    GiveUp,
    Runtime,
    ValidationError,
    open_runtime,
)
from tests.leaks import our_tasks


class Flaky(Behaviour):
    """Crashes on "crash"; otherwise answers with how often it was restarted."""

    async def receive(self, message: object, ctx: ActorContext) -> Any:
        if message == "crash":
            raise RuntimeError("upstream sent garbage")
        return ctx.restarts


async def _crash_times(ref: Any, n: int) -> None:
    for _ in range(n):
        with pytest.raises(ActorCrashed):
            await ref.ask("crash")
        await trio.testing.wait_all_tasks_blocked()


async def test_a_child_past_its_intensity_is_parked_and_answers_unavailable(
    rt: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    async with rt.supervise(name="sup", max_restarts=2, within=10.0) as sup:
        flaky = await sup.spawn(Flaky, name="flaky", give_up=GiveUp.BACK_OFF)
        sibling = await sup.spawn(Flaky, name="sibling")
        await _crash_times(flaky, 3)  # the third is one too many
        parked = flaky.unavailable
        assert parked is not None
        assert parked.times == 1
        assert "garbage" in str(parked.reason)
        assert "parked" in repr(flaky)
        with pytest.raises(ActorUnavailable) as caught:
            await flaky.ask("hello")
        assert caught.value.name == "flaky"
        assert 0 < caught.value.retry_in <= 1.0
        assert "retry" in str(caught.value)
        with pytest.raises(ActorUnavailable):
            async with flaky.stream(3) as items:
                async for _ in items:
                    pass
        # The sibling and the supervisor are untouched.
        assert await sibling.ask("hi") == 0


async def test_a_parked_child_restarts_after_its_delay(
    rt: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    async with rt.supervise(name="sup", max_restarts=1, within=100.0) as sup:
        flaky = await sup.spawn(Flaky, name="flaky", give_up="back_off")
        await _crash_times(flaky, 2)
        assert flaky.unavailable is not None
        start = trio.current_time()
        await trio.sleep(1.01)
        assert flaky.unavailable is None
        assert trio.current_time() - start >= 1.0
        assert await flaky.ask("hello") >= 2  # a fresh incarnation answers


async def test_each_park_soon_after_the_last_doubles_the_delay(
    rt: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    async with rt.supervise(name="sup", max_restarts=0, within=1000.0) as sup:
        flaky = await sup.spawn(Flaky, name="flaky", give_up=GiveUp.BACK_OFF)
        delays = []
        for _ in range(4):
            await _crash_times(flaky, 1)
            parked = flaky.unavailable
            assert parked is not None
            delays.append(parked.until - parked.since)
            await trio.sleep(parked.retry_in + 0.001)
            assert flaky.unavailable is None
        assert delays == [1.0, 2.0, 4.0, 8.0]


async def test_a_child_that_ran_well_for_a_whole_window_starts_the_doubling_again(
    rt: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    async with rt.supervise(name="sup", max_restarts=0, within=10.0) as sup:
        flaky = await sup.spawn(Flaky, name="flaky", give_up=GiveUp.BACK_OFF)
        await _crash_times(flaky, 1)
        await trio.sleep(1.01)
        await _crash_times(flaky, 1)
        parked = flaky.unavailable
        assert parked is not None and parked.times == 2
        await trio.sleep(parked.retry_in + 11.0)  # then a quiet window
        await _crash_times(flaky, 1)
        parked = flaky.unavailable
        assert parked is not None and parked.times == 1


async def test_stopping_a_parked_child_ends_it_for_good(
    rt: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    async with rt.supervise(name="sup", max_restarts=0, within=10.0) as sup:
        flaky = await sup.spawn(Flaky, name="flaky", give_up=GiveUp.BACK_OFF)
        await _crash_times(flaky, 1)
        assert flaky.unavailable is not None
        await flaky.stop()
        await trio.testing.wait_all_tasks_blocked()
        assert sup.children == []
        assert "flaky" not in rt.names()
        await trio.sleep(5)  # its delay passes: it does not come back
        assert "flaky" not in rt.names()


async def test_leaving_the_runtime_while_a_child_is_parked_is_clean(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_runtime() as rt:
        flaky = await rt.spawn(Flaky, name="flaky", give_up=GiveUp.BACK_OFF)
        await _crash_times(flaky, 11)  # the root supervisor's intensity is 10 in 60 s
        assert flaky.unavailable is not None
    assert our_tasks() == []
    assert rt.names() == []


async def test_an_escalating_child_still_makes_the_supervisor_give_up(
    rt: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    from abstractcore_actors import SupervisorGaveUp

    with pytest.raises(SupervisorGaveUp):
        async with rt.supervise(name="sup", max_restarts=1, within=10.0) as sup:
            backing_off = await sup.spawn(Flaky, name="b", give_up=GiveUp.BACK_OFF)
            escalating = await sup.spawn(Flaky, name="e")
            # The back-off child's crashes do not count in the shared window.
            await _crash_times(backing_off, 2)
            assert backing_off.unavailable is not None
            await _crash_times(escalating, 1)
            assert await escalating.ask("hi") == 1
            await _crash_times(escalating, 1)
            await trio.sleep_forever()


async def test_back_off_needs_a_one_for_one_supervisor(rt: Runtime) -> None:
    async with rt.supervise(name="group", strategy="one_for_all") as sup:
        with pytest.raises(ValidationError, match="one_for_one"):
            await sup.spawn(Flaky, name="x", give_up="back_off")


async def test_an_unknown_give_up_is_refused_with_the_choices(rt: Runtime) -> None:
    with pytest.raises(ValidationError, match="'escalate', 'back_off'"):
        await rt.spawn(Flaky, name="x", give_up="retry_forever")
    assert rt.names() == []
