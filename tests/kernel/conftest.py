from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio

from abstractcore_actors import ActorContext, ActorRef, Behaviour, Runtime, open_runtime
from tests.leaks import live_tasks, our_tasks


class Echo(Behaviour):
    """Replies with what it got; streams range(n); crashes on 'boom'."""

    async def receive(self, message: object, ctx: ActorContext) -> Any:
        if message == "boom":
            raise ValueError("boom")
        return message

    async def stream(self, message: object, ctx: ActorContext) -> AsyncIterator[Any]:
        assert isinstance(message, int)
        for i in range(message):
            yield i


@pytest.fixture
async def rt() -> AsyncIterator[Runtime]:
    async with open_runtime() as runtime:
        yield runtime
    # Leaving the runtime left no task of ours behind.
    assert our_tasks() == []
    assert runtime.names() == []


@pytest.fixture
def clock(autojump_clock: trio.testing.MockClock) -> trio.testing.MockClock:
    return autojump_clock


def actor_tasks(ref: ActorRef) -> list[trio.lowlevel.Task]:
    """Live tasks running `ref`'s loop (the supervisor's `_run_child` for its cell)."""
    found = []
    for task in live_tasks():
        frame = getattr(task.coro, "cr_frame", None)
        if (
            frame is not None
            and frame.f_code.co_name == "_run_child"
            and frame.f_locals.get("cell") is ref._cell
        ):
            found.append(task)
    return found
