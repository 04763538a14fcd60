"""The cell: an actor's persistent mailbox and the loop that runs one incarnation.

The mailbox outlives restarts, so an `ActorRef` stays valid while the
supervisor restarts the behaviour behind it; only when the actor stops for
good is the mailbox closed, its name freed and every message still queued
answered with `ActorCrashed`, so no asker waits forever.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import attrs
import outcome
import trio

from ._behaviour import ActorContext, Behaviour, BehaviourFactory
from ._errors import ActorCrashed, ConsumerGone, UnhandledMessage
from ._protocol import Ask, Call, Envelope, Stream, StreamSink, Tell

if TYPE_CHECKING:
    from ._ref import ActorRef
    from ._system import ActorSystem

# How long a finishing incarnation may spend in `Behaviour.stopped`.
_STOPPED_HOOK_GRACE = 5.0


@attrs.define(eq=False)
class Cell:
    """One actor: name, mailbox, behaviour factory and lifecycle state."""

    name: str
    factory: BehaviourFactory
    system: ActorSystem
    concurrency: int | None
    mailbox_size: int
    send: trio.MemorySendChannel[Envelope]
    recv: trio.MemoryReceiveChannel[Envelope]
    ref: ActorRef = attrs.field(init=False)
    restarts: int = 0
    generation: int = 0
    running: bool = False
    closed: bool = False
    scope: trio.CancelScope | None = None
    # Set when the current incarnation has ended (the supervisor restarts after it).
    incarnation_done: LazyEvent = attrs.field(factory=lambda: LazyEvent())
    # Set once the actor has stopped for good and its name is free.
    ended: LazyEvent = attrs.field(factory=lambda: LazyEvent())

    @classmethod
    def create(
        cls,
        *,
        name: str,
        factory: BehaviourFactory,
        system: ActorSystem,
        mailbox_size: int,
        concurrency: int | None,
    ) -> Cell:
        from ._ref import ActorRef  # the ref and the cell point at each other

        send, recv = trio.open_memory_channel[Envelope](mailbox_size)
        cell = cls(
            name=name,
            factory=factory,
            system=system,
            concurrency=concurrency,
            mailbox_size=mailbox_size,
            send=send,
            recv=recv,
        )
        cell.ref = ActorRef(cell.name, cell)
        return cell

    # -- one incarnation -------------------------------------------------

    async def run_incarnation(self, nursery: trio.Nursery, on_started: Callable[[], None]) -> None:
        """Make a fresh behaviour and feed it the mailbox until it is closed.

        `nursery` is the incarnation's own: background work and concurrent
        handlers live there and die with it. Returns normally only when the
        mailbox was closed and drained (a graceful stop); raises when the
        behaviour crashed.
        """
        behaviour = self.factory()
        ctx = ActorContext(self.ref, self.system, self.restarts, nursery)
        try:
            await behaviour.started(ctx)
            self.running = True
            on_started()
            if self.concurrency == 1:
                # `receive` in a plain loop, not `async for`: one frame less
                # per idle actor.
                while True:
                    try:
                        envelope = await self.recv.receive()
                    except trio.EndOfChannel:
                        break
                    await self._dispatch(behaviour, ctx, envelope)
            else:
                await self._run_concurrently(behaviour, ctx, nursery)
        finally:
            self.running = False
            with trio.CancelScope(shield=True), trio.move_on_after(_STOPPED_HOOK_GRACE):
                await behaviour.stopped(ctx)

    async def _run_concurrently(
        self, behaviour: Behaviour, ctx: ActorContext, nursery: trio.Nursery
    ) -> None:
        # Take the next message only once a slot is free, so a busy actor
        # leaves messages in its bounded mailbox and senders feel backpressure.
        # The slot is taken *before* receiving: a message, once out of the
        # mailbox, is handed to its task with no checkpoint in between, so a
        # cancel can never drop it unanswered.
        limit = trio.CapacityLimiter(self.concurrency or math.inf)
        while True:
            slot = object()
            await limit.acquire_on_behalf_of(slot)
            try:
                envelope = await self.recv.receive()
            except trio.EndOfChannel:
                limit.release_on_behalf_of(slot)
                return  # mailbox closed and drained: a graceful stop
            except BaseException:
                limit.release_on_behalf_of(slot)
                raise
            nursery.start_soon(self._dispatch_released, behaviour, ctx, envelope, limit, slot)

    async def _dispatch_released(
        self,
        behaviour: Behaviour,
        ctx: ActorContext,
        envelope: Envelope,
        limit: trio.CapacityLimiter,
        slot: object,
    ) -> None:
        try:
            await self._dispatch(behaviour, ctx, envelope)
        finally:
            limit.release_on_behalf_of(slot)

    async def _dispatch(self, behaviour: Behaviour, ctx: ActorContext, envelope: Envelope) -> None:
        match envelope:
            case Tell(message=message):
                await behaviour.receive(message, ctx)
            case Ask(call=call, message=message):
                await self._run_call(
                    behaviour, call, partial(behaviour.receive, message, ctx), "before replying"
                )
            case Stream(call=call, message=message, sink=sink):
                try:
                    work = partial(self._stream_into, behaviour, ctx, message, call, sink)
                    await self._run_call(behaviour, call, work, "while streaming")
                finally:
                    # Closing the sink after the call is resolved is the end
                    # marker: the reader finds the outcome ready when its
                    # channel ends.
                    sink.close()
            case _:  # pragma: no cover - ActorRef only builds the three envelopes
                raise UnhandledMessage(self.name, envelope)

    async def _run_call(
        self,
        behaviour: Behaviour,
        call: Call,
        work: Callable[[], Awaitable[Any]],
        when: str,
    ) -> None:
        """Run one ask or stream under its call's cancel scope, and always answer.

        Reply errors go back to the asker; anything else is answered with
        `ActorCrashed` and re-raised, crashing the actor.
        """
        try:
            if call.abandoned and call.cancel_on_abandon:
                return  # the asker left before we started: skip the work
            with trio.CancelScope() as scope:
                call.bind_scope(scope)
                try:
                    value = await work()
                except _reply_errors(behaviour) as exc:
                    call.resolve(outcome.Error(exc))
                except Exception as exc:
                    call.resolve(outcome.Error(_crashed(self.name, exc)))
                    raise
                else:
                    call.resolve(outcome.Value(value))
        finally:
            call.fail_if_pending(f"the actor stopped or restarted {when}")

    async def _stream_into(
        self,
        behaviour: Behaviour,
        ctx: ActorContext,
        message: object,
        call: Call,
        sink: trio.MemorySendChannel[Any],
    ) -> None:
        try:
            await behaviour.stream_into(message, ctx, StreamSink(sink, self.name))
        except ConsumerGone:
            call.abandon()  # the reader left: the producer stopped, all is well

    # -- end of life -----------------------------------------------------

    def close(self, reason: str) -> None:
        """Stop for good: close the mailbox and answer everything still queued."""
        if self.closed:
            return
        self.closed = True
        self.send.close()
        while True:
            try:
                envelope = self.recv.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
                break
            if isinstance(envelope, Ask | Stream):
                envelope.call.fail_if_pending(reason)
                if isinstance(envelope, Stream):
                    envelope.sink.close()
        self.recv.close()
        self.system.registry.release(self)
        self.ended.set()


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


def _reply_errors(behaviour: Behaviour) -> tuple[type[BaseException], ...]:
    """Errors that are answers to the asker rather than crashes of the actor."""
    return (UnhandledMessage, *behaviour.reply_errors)


def _crashed(name: str, exc: BaseException) -> ActorCrashed:
    crash = ActorCrashed(name, exc)
    crash.__cause__ = exc
    return crash
