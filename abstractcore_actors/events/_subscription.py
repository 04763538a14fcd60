"""One subscriber's buffer: bounded, drop-oldest by default, or lossless.

A trio memory channel cannot drop its oldest item, so this is a small
receive channel of its own: a deque and two parking lots. Publishing to a
lossy subscription never waits (a slow UI never stalls generation); a full
buffer drops its oldest event and the next event the subscriber receives
carries the count in `dropped`. A lossless subscription makes publishers
wait for room instead (backpressure), in the order they arrived.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import final

import attrs
import trio

from ._types import Event

EventFilter = Callable[[Event], bool]


@final
class Subscription(trio.abc.ReceiveChannel[Event]):
    """Events for one subscriber: `async for event in sub`, or `await sub.receive()`.

    Made by `EventBus.subscribe`; closed when its `async with` block ends.
    `dropped` counts every event this subscriber lost to overflow.
    """

    def __init__(self, accepts: EventFilter, *, buffer: int, lossless: bool) -> None:
        self._accepts = accepts
        self._buffer = buffer
        self.lossless = lossless
        self._queue: deque[Event] = deque()
        self._readers = trio.lowlevel.ParkingLot()
        self._room = trio.lowlevel.ParkingLot()
        # Lossless publishers queue here (trio.Lock is FIFO), so two requests
        # waiting for room are delivered in the order they published.
        self._publish_lock = trio.Lock() if lossless else None
        self._pending_drops = 0
        self.dropped = 0
        self.closed = False
        self.ended = False  # the bus shut down: EndOfChannel once drained

    def __repr__(self) -> str:
        mode = "lossless" if self.lossless else "lossy"
        return f"<Subscription {mode} queued={len(self._queue)} dropped={self.dropped}>"

    def accepts(self, event: Event) -> bool:
        return not (self.closed or self.ended) and self._accepts(event)

    # -- publishing side (the bus) --------------------------------------

    def put_nowait(self, event: Event) -> None:
        """Queue without waiting: drop the oldest when full (lossless: go over by one)."""
        if len(self._queue) >= self._buffer and not self.lossless:
            self._queue.popleft()
            self._pending_drops += 1
            self.dropped += 1
        self._queue.append(event)
        self._readers.unpark()

    async def put(self, event: Event) -> None:
        """Queue, waiting for room when lossless and full."""
        assert self._publish_lock is not None
        async with self._publish_lock:
            while len(self._queue) >= self._buffer and not (self.closed or self.ended):
                await self._room.park()
            if not self.closed:
                self._queue.append(event)
                self._readers.unpark()

    def must_wait(self) -> bool:
        """A lossless publisher must queue: no room, or others already waiting."""
        assert self._publish_lock is not None
        return len(self._queue) >= self._buffer or self._publish_lock.locked()

    # -- receiving side (the subscriber) ---------------------------------

    def receive_nowait(self) -> Event:
        if self.closed:
            raise trio.ClosedResourceError("this subscription is closed")
        if not self._queue:
            raise trio.EndOfChannel if self.ended else trio.WouldBlock
        event = self._queue.popleft()
        self._room.unpark()
        if self._pending_drops:
            event = attrs.evolve(event, dropped=self._pending_drops)
            self._pending_drops = 0
        return event

    async def receive(self) -> Event:
        await trio.lowlevel.checkpoint_if_cancelled()
        while True:
            try:
                event = self.receive_nowait()
            except trio.WouldBlock:
                await self._readers.park()
                continue
            await trio.lowlevel.cancel_shielded_checkpoint()
            return event

    def end(self) -> None:
        """No more events will come: the reader gets the rest, then EndOfChannel."""
        self.ended = True
        self._readers.unpark_all()
        self._room.unpark_all()

    async def aclose(self) -> None:
        self.close()
        await trio.lowlevel.checkpoint()

    def close(self) -> None:
        self.closed = True
        self._queue.clear()
        self._readers.unpark_all()
        self._room.unpark_all()
