"""Back-off: what a supervisor does with a child that crashes past its intensity.

By default (`give_up="escalate"`, Erlang's rule) too many crashes make the
supervisor give up and raise into its parent. A child spawned with
`give_up="back_off"` is *parked* instead: its mailbox stays open, every call
sent to it meanwhile is answered at once with `ActorUnavailable` (saying when
it comes back), and after a delay — doubling each time it is parked again,
up to a ceiling — it starts afresh. So one actor that keeps failing costs its
own callers, never its siblings or the program around them.

A back-off child's crashes count in its own window (the supervisor's
`max_restarts` within `within`), not in the shared one.
"""

from __future__ import annotations

import enum
from collections import deque
from typing import TYPE_CHECKING

import attrs
import outcome
import trio

from ._errors import ActorUnavailable, ValidationError
from ._protocol import Ask, Envelope, Stream

if TYPE_CHECKING:
    from ._restart_policy import Strategy

# The first park lasts this long; each park that follows soon after doubles it.
BACK_OFF_INITIAL = 1.0
BACK_OFF_MAX = 60.0


class GiveUp(enum.Enum):
    """What a supervisor does when one child crashes more than its intensity allows."""

    ESCALATE = "escalate"  # give up: raise SupervisorGaveUp into the parent
    BACK_OFF = "back_off"  # park the child, answer its callers, restart it later


@attrs.frozen(kw_only=True)
class Parked:
    """A back-off child out of service until `until` (trio time)."""

    since: float
    until: float
    reason: BaseException
    times: int  # parks in a row (each one within `within` of the previous)

    @property
    def retry_in(self) -> float:
        """Seconds until it restarts (0 once due)."""
        return max(0.0, self.until - trio.current_time())


@attrs.define(eq=False)
class BackOff:
    """One back-off child's crash window and park history."""

    max_restarts: int
    within: float
    recent: deque[float] = attrs.field(factory=deque)
    parked: Parked | None = None
    times: int = 0
    last_unparked: float = -float("inf")

    def over_intensity(self, now: float) -> bool:
        """Count a crash at `now`; True when it is one too many for the window."""
        self.recent.append(now)
        while self.recent and self.recent[0] <= now - self.within:
            self.recent.popleft()
        return len(self.recent) > self.max_restarts

    def park(self, now: float, reason: BaseException) -> Parked:
        # A child that ran well for a whole window since its last park starts
        # the doubling again.
        self.times = self.times + 1 if now - self.last_unparked <= self.within else 1
        delay = min(BACK_OFF_INITIAL * 2 ** (self.times - 1), BACK_OFF_MAX)
        self.parked = Parked(since=now, until=now + delay, reason=reason, times=self.times)
        return self.parked

    def unpark(self, now: float) -> None:
        self.parked = None
        self.last_unparked = now
        self.recent.clear()


def back_off_for(
    give_up: GiveUp | str, strategy: Strategy, supervisor: str, max_restarts: int, within: float
) -> BackOff | None:
    """The back-off state a new child needs (None: it escalates); checks `give_up`."""
    try:
        give_up = GiveUp(give_up)
    except ValueError:
        choices = ", ".join(repr(g.value) for g in GiveUp)
        raise ValidationError(f"unknown give_up {give_up!r}; use one of: {choices}") from None
    if give_up is GiveUp.ESCALATE:
        return None
    if strategy.value != "one_for_one":
        # Parking one child of a group restarted together would leave its
        # siblings running against an actor that is not there.
        raise ValidationError(
            f'give_up="back_off" needs a one_for_one supervisor; {supervisor!r} is '
            f"{strategy.value}: spawn it under a one_for_one one"
        )
    return BackOff(max_restarts=max_restarts, within=within)


def answer_unavailable(name: str, parked: Parked, envelope: Envelope) -> None:
    """Answer one message sent to a parked actor: calls fail now; tells are dropped
    (as a crashed actor's would be)."""
    if not isinstance(envelope, Ask | Stream):
        return
    error = ActorUnavailable(name, parked.retry_in, parked.reason)
    envelope.call.resolve(outcome.Error(error))
    if isinstance(envelope, Stream):
        envelope.sink.close()  # the end marker: the reader finds the error
