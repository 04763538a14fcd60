"""The kernel's message protocols: what travels through a mailbox.

One frozen envelope per protocol, each carrying the `Call` it belongs to:

- `Tell`   fire and forget; no reply, no call.
- `Ask`    one reply; the asker waits on `call`.
- `Stream` many replies sent into `sink` (a bounded channel, so the consumer's
           pace is the producer's pace); closing `sink` is the end marker and
           the call's outcome says whether the stream ended well.

A `Call` is the shared handle between the asker and the actor: the actor
stores its cancel scope there so that an asker who gives up (cancel, timeout,
leaving a stream block) can cancel exactly the work it asked for, and waits
on `finished` to know that work has really stopped.
"""

from __future__ import annotations

import itertools
from typing import Any

import attrs
import outcome
import trio

from ._errors import ActorCrashed, ConsumerGone


@attrs.define(eq=False)
class Call:
    """One request in flight between an asker and an actor."""

    call_id: int
    actor: str
    cancel_on_abandon: bool = True
    _result: outcome.Outcome[Any] | None = None
    _scope: trio.CancelScope | None = None
    _abandoned: bool = False
    _finished: trio.Event = attrs.field(factory=trio.Event)

    @property
    def done(self) -> bool:
        """True once the actor has stopped working on this call."""
        return self._finished.is_set()

    @property
    def started(self) -> bool:
        """True once the actor has begun the work (so it can be cancelled)."""
        return self._scope is not None

    @property
    def abandoned(self) -> bool:
        """True when the asker has gone away (cancelled, timed out, closed)."""
        return self._abandoned

    def bind_scope(self, scope: trio.CancelScope) -> None:
        """Actor side: the work for this call runs under `scope`."""
        self._scope = scope
        if self._abandoned and self.cancel_on_abandon:
            scope.cancel()

    def resolve(self, result: outcome.Outcome[Any]) -> None:
        """Actor side: record the outcome once; later outcomes are dropped.

        A reply to an asker that has gone away is simply never read: it is
        dropped here, never raised into the actor.
        """
        if self._result is None:
            self._result = result
        self._finished.set()

    def fail_if_pending(self, reason: BaseException | str) -> None:
        """Actor side: the actor is going away; make sure the asker is told."""
        if not self._finished.is_set():
            self.resolve(outcome.Error(ActorCrashed(self.actor, reason)))

    def abandon(self) -> None:
        """Asker side: stop wanting the reply; cancel the work if the protocol says so."""
        self._abandoned = True
        if self.cancel_on_abandon and self._scope is not None:
            self._scope.cancel()

    async def wait(self) -> Any:
        """Asker side: wait for the outcome and unwrap it (value or raise)."""
        await self._finished.wait()
        assert self._result is not None
        return self._result.unwrap()

    async def wait_finished(self) -> None:
        """Wait until the actor has stopped working on this call."""
        await self._finished.wait()

    def result_nowait(self) -> Any:
        """The outcome, unwrapped; only valid once `done`."""
        assert self._result is not None
        return self._result.unwrap()


@attrs.frozen(kw_only=True, slots=True)
class Tell:
    """Fire-and-forget message; nobody waits for a reply."""

    message: object


@attrs.frozen(kw_only=True, slots=True)
class Ask:
    """Request expecting exactly one reply through `call`."""

    call: Call
    message: object


@attrs.frozen(kw_only=True, slots=True)
class Stream:
    """Request expecting many replies through `sink`, then the end marker (close)."""

    call: Call
    message: object
    sink: trio.MemorySendChannel[Any]


Envelope = Tell | Ask | Stream


class StreamSink:
    """Where a stream handler puts its replies (see `Behaviour.stream_into`).

    Both sends raise `ConsumerGone` once the reader has left: let it
    propagate, and the kernel ends the call quietly.
    """

    __slots__ = ("_actor", "_channel")

    def __init__(self, channel: trio.MemorySendChannel[Any], actor: str) -> None:
        self._channel = channel
        self._actor = actor

    def send_nowait(self, item: object) -> None:
        """Queue `item` if there is room; raise `trio.WouldBlock` if the reader is behind."""
        try:
            self._channel.send_nowait(item)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise ConsumerGone(self._actor) from None

    async def send(self, item: object) -> None:
        """Send `item`, waiting for the reader (backpressure)."""
        try:
            await self._channel.send(item)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise ConsumerGone(self._actor) from None


@attrs.define(eq=False)
class CallIds:
    """Per-system call id counter (no global state)."""

    _counter: itertools.count[int] = attrs.field(factory=lambda: itertools.count(1))

    def next(self) -> int:
        return next(self._counter)
