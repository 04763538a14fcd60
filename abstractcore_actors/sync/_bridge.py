"""What every blocking call shares: the in-event-loop guard and stream pumping."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Generator
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

import trio

from ..errors import SyncCalledFromAsync

if TYPE_CHECKING:
    from . import SyncRuntime


def refuse_inside_event_loop(call: str, instead: str) -> None:
    if trio.lowlevel.in_trio_run():
        raise SyncCalledFromAsync(call, instead)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise SyncCalledFromAsync(call, instead)


def iterate(
    runtime: SyncRuntime, open_stream: Callable[[], AbstractAsyncContextManager[AsyncIterator[Any]]]
) -> Generator[Any, None, None]:
    recv, scope, errors = runtime.run(runtime._open_stream, open_stream)
    finished = False
    try:
        while True:
            try:
                chunk = runtime.run(recv.receive)
            except trio.EndOfChannel:
                break
            yield chunk
        finished = True
    finally:
        if not finished:
            trio.from_thread.run_sync(scope.cancel, trio_token=runtime._token)
        runtime.run(recv.aclose)
    if errors:
        raise errors[0]
