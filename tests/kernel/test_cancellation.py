"""The cancellation contract: an asker who leaves takes its work with it."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

from abstractcore_actors import ActorContext, ActorCrashed, Behaviour, Runtime, open_runtime
from tests.leaks import our_tasks


class Worker(Behaviour):
    """Sleeps `message` seconds, recording how each job ended."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def receive(self, message: object, ctx: ActorContext) -> Any:
        assert isinstance(message, int | float)
        try:
            await trio.sleep(message)
        except trio.Cancelled:
            self.log.append(f"cancelled {message}")
            raise
        self.log.append(f"done {message}")
        return message

    async def stream(self, message: object, ctx: ActorContext) -> Any:
        try:
            for i in range(1000):
                await trio.sleep(1)
                yield i
        finally:
            self.log.append("stream closed")


async def test_cancelling_the_asker_cancels_the_work_before_returning(
    rt: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    log: list[str] = []
    ref = await rt.spawn(lambda: Worker(log))
    with trio.move_on_after(1):
        await ref.ask(10)
    # By the time the cancelled ask returned, the work had stopped.
    assert log == ["cancelled 10"]
    assert await ref.ask(1) == 1


async def test_cancel_on_abandon_false_lets_the_work_finish_and_drops_the_reply(
    rt: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    log: list[str] = []
    ref = await rt.spawn(lambda: Worker(log))
    with trio.move_on_after(1):
        await ref.ask(5, cancel_on_abandon=False)
    assert log == []
    # The actor finishes the job; its reply to the departed asker is dropped.
    assert await ref.ask(1) == 1
    assert log == ["done 5", "done 1"]
    assert ref.restarts == 0


async def test_leaving_a_stream_early_closes_the_producer(
    rt: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    log: list[str] = []
    ref = await rt.spawn(lambda: Worker(log), concurrency=None)
    async with ref.stream(None) as items:
        async for item in items:
            if item == 2:
                break
    assert log == ["stream closed"]


async def test_cancelling_a_stream_consumer_closes_the_producer(
    rt: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    log: list[str] = []
    ref = await rt.spawn(lambda: Worker(log), concurrency=None)
    with trio.move_on_after(3.5):
        async with ref.stream(None) as items:
            async for _ in items:
                pass
    assert log == ["stream closed"]


async def test_abandoned_call_still_queued_is_skipped(
    rt: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    log: list[str] = []
    ref = await rt.spawn(lambda: Worker(log))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(ref.ask, 2)
        await trio.testing.wait_all_tasks_blocked()
        with trio.move_on_after(1):
            await ref.ask(7)  # queued behind the first; abandoned before it starts
    assert log == ["done 2"]
    assert await ref.ask(0) == 0
    assert log == ["done 2", "done 0"]


async def test_leaving_the_runtime_cancels_everything_and_answers_queued_asks(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    errors: list[BaseException] = []

    async def ask_and_record(ref: Any, seconds: int) -> None:
        try:
            await ref.ask(seconds)
        except ActorCrashed as exc:
            errors.append(exc)

    async with trio.open_nursery() as outer:
        async with open_runtime() as rt:
            ref = await rt.spawn(lambda: Worker(log), name="w")
            for s in (100, 200, 300):
                outer.start_soon(ask_and_record, ref, s)
            await trio.sleep(1)
        # the runtime is closed: the running job was cancelled, the queued
        # ones answered, and no actor task survives
        assert our_tasks() == []
        assert not ref.alive
    # trio starts the askers in no set order: whichever job ran was cancelled
    assert len(log) == 1
    assert log[0].startswith("cancelled")
    assert len(errors) == 3
    assert all("stopped" in str(e) or "closed" in str(e) for e in errors)


async def test_runtime_embeds_in_a_user_nursery_and_user_cancel_reaches_actors(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []

    async def app(task_status: trio.TaskStatus[None]) -> None:
        async with open_runtime() as rt:
            ref = await rt.spawn(lambda: Worker(log))
            task_status.started()
            await ref.ask(1000)

    async with trio.open_nursery() as nursery:
        await nursery.start(app)
        await trio.sleep(5)
        nursery.cancel_scope.cancel()
    assert log == ["cancelled 1000"]
    assert our_tasks() == []


@pytest.mark.parametrize("grace", [0, -1])
async def test_runtime_rejects_bad_cancel_grace(grace: float) -> None:
    from abstractcore_actors import ValidationError

    with pytest.raises(ValidationError, match="cancel_grace"):
        async with open_runtime(cancel_grace=grace):
            pass
