"""An event that costs nothing until someone waits on it."""

from __future__ import annotations

import trio


class LazyEvent:
    """A `trio.Event` made only when someone waits: most actors are never waited on,
    and ten thousand idle actors should not carry ten thousand parking lots."""

    __slots__ = ("_event", "_set")

    def __init__(self) -> None:
        self._set = False
        self._event: trio.Event | None = None

    def set(self) -> None:
        self._set = True
        if self._event is not None:
            self._event.set()
            self._event = None  # its waiters are already woken; let it go

    def is_set(self) -> bool:
        return self._set

    async def wait(self) -> None:
        if self._set:
            await trio.lowlevel.checkpoint()
            return
        if self._event is None:
            self._event = trio.Event()
        await self._event.wait()
