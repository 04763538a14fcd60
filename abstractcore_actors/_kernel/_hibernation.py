"""Hibernation: a supervisor's idle children give up their task and nursery.

One `Sweeper` per supervisor, one task, one timer, for all its children. The
message path pays a single counter increment (`Cell.handled`), never a timer
or a cancel scope per receive, so ask/reply round trips keep their speed.

The sweeper keeps a heap of (when to look, cell). Looking at a cell:

- it has handled messages since the last look, or is busy (a handler or
  background work running): look again `hibernate_after` from now;
- it has been idle since the last look: cancel its activation (the loop is
  parked in `receive`, so nothing but that wait is interrupted); the task
  then `settle`s into hibernation, unless a message arrived meanwhile.

So an actor hibernates after between `hibernate_after` and twice that of
idleness; each awake cell is looked at about once per `hibernate_after`.
"""

from __future__ import annotations

import heapq
import itertools
import math
from typing import TYPE_CHECKING, final

import trio

if TYPE_CHECKING:
    from ._cell import Cell

# Default seconds of idleness before an actor hibernates.
DEFAULT_HIBERNATE_AFTER = 1.0

# Never look at a cell again sooner than this: `hibernate_after=0` must not
# make the sweeper spin on a busy actor.
_MIN_LOOK = 0.01


@final
class Sweeper:
    """Hibernates the idle children of one supervisor; run `run` in its nursery."""

    def __init__(self) -> None:
        self._due: list[tuple[float, int, Cell]] = []
        self._order = itertools.count()  # ties in time: first scheduled, first looked at
        # The scope the sweeper sleeps in; lowered when an earlier look is due.
        self._sleep = trio.CancelScope()

    def watch(self, cell: Cell) -> None:
        """An activation of `cell` started: schedule a look, if it may hibernate."""
        after = cell.hibernate_after
        if after is None or cell.swept:
            return  # never hibernates, or already scheduled
        cell.swept = True
        cell.seen = cell.handled
        when = trio.current_time() + max(after, _MIN_LOOK)
        heapq.heappush(self._due, (when, next(self._order), cell))
        if when < self._sleep.deadline:
            self._sleep.deadline = when

    async def run(self) -> None:
        while True:
            with trio.CancelScope(deadline=self._due[0][0] if self._due else math.inf) as sleep:
                self._sleep = sleep
                await trio.sleep_forever()
            # No checkpoint from here to the next sleep: nothing changes under us.
            self._sweep(trio.current_time())

    def _sweep(self, now: float) -> None:
        due = self._due
        while due and due[0][0] <= now:
            cell = heapq.heappop(due)[2]
            after = cell.hibernate_after
            if after is None or cell.nursery is None or not cell.running or cell.stopping:
                # Not awake (hibernating, ending, restarting): its next
                # activation schedules a new look.
                cell.swept = False
            elif cell.handled != cell.seen or not cell.idle():
                cell.seen = cell.handled
                heapq.heappush(due, (now + max(after, _MIN_LOOK), next(self._order), cell))
            else:
                cell.swept = False
                cell.order_hibernation()
