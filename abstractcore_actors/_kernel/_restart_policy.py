"""What a supervisor restarts, and when it has restarted too often.

The strategy picks the group of children a crash restarts; the intensity
(`max_restarts` crashes within `within` seconds) says when to give up.
Kept apart from the supervisor's control loop, which only applies them.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Sequence
from typing import TypeVar

import attrs

T = TypeVar("T")


class Strategy(enum.Enum):
    """Which children a supervisor restarts when one crashes."""

    ONE_FOR_ONE = "one_for_one"
    ONE_FOR_ALL = "one_for_all"
    REST_FOR_ONE = "rest_for_one"

    def group(self, children: Sequence[T], crashed: T) -> list[T]:
        """The children to restart, in start order: the crashed one alone,
        all of them, or it and those started after it."""
        match self:
            case Strategy.ONE_FOR_ONE:
                return [crashed]
            case Strategy.ONE_FOR_ALL:
                return list(children)
            case Strategy.REST_FOR_ONE:
                return list(children[children.index(crashed) :])


@attrs.frozen(kw_only=True)
class CrashReport:
    """One crash, as the supervisor recorded it."""

    actor: str
    reason: BaseException
    at: float
    restarts: int


@attrs.define
class RestartIntensity:
    """A sliding window of crash times: more than `max_restarts` within
    `within` seconds is one too many."""

    max_restarts: int
    within: float
    _recent: deque[float] = attrs.field(factory=deque)

    def exceeded(self, now: float) -> bool:
        """Count a crash at `now`; True when it is past the limit."""
        self._recent.append(now)
        while self._recent and self._recent[0] <= now - self.within:
            self._recent.popleft()
        return len(self._recent) > self.max_restarts
