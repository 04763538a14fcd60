"""The cell: an actor's persistent mailbox and the loop that runs one incarnation.

The mailbox outlives restarts, so an `ActorRef` stays valid while the
supervisor restarts the behaviour behind it; only when the actor stops for
good is the mailbox closed, its name freed and every message still queued
answered with `ActorCrashed`, so no asker waits forever.

An incarnation (one behaviour object, from `started` to `stopped`) runs as
one or more *activations*: a trio task with a nursery, reading the mailbox.
An idle activation may end without ending the incarnation: the actor
*hibernates* (no task, no nursery; the behaviour, its context and the mailbox
stay) and the next message starts a new activation. The invariants:

- at most one activation per cell runs its loop at any time: only a
  hibernating cell is woken, and `hibernating` is set only by the task whose
  loop has already ended;
- a cell hibernates only when, at that very moment (synchronously), its
  mailbox is empty, nobody waits to send, it is not closed, and nothing
  ordered it to end; every enqueue wakes a hibernating cell first. So no
  message is ever left in a mailbox with no loop to read it.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs
import trio

from ._backoff import BackOff
from ._behaviour import ActorContext, Behaviour, BehaviourFactory
from ._dispatch import dispatch
from ._lazy_event import LazyEvent
from ._protocol import Ask, Envelope, Stream

if TYPE_CHECKING:
    from ._ref import ActorRef
    from ._supervisor import Supervisor
    from ._system import ActorSystem

# How long a finishing incarnation may spend in `Behaviour.stopped`.
_STOPPED_HOOK_GRACE = 5.0


@attrs.define(eq=False)
class Cell:
    """One actor: name, mailbox, behaviour factory and lifecycle state."""

    name: str
    factory: BehaviourFactory
    system: ActorSystem
    supervisor: Supervisor
    concurrency: int | None
    mailbox_size: int
    hibernate_after: float | None
    send: trio.MemorySendChannel[Envelope]
    recv: trio.MemoryReceiveChannel[Envelope]
    ref: ActorRef = attrs.field(init=False)
    restarts: int = 0
    generation: int = 0
    # The current incarnation's behaviour and context: they outlive hibernation.
    behaviour: Behaviour | None = None
    ctx: ActorContext | None = None
    # The running activation's nursery; None while hibernating or between incarnations.
    nursery: trio.Nursery | None = None
    running: bool = False
    closed: bool = False
    hibernating: bool = False
    # The supervisor ordered the current incarnation to end (a sibling's restart).
    stopping: bool = False
    # The sweeper cancelled the running activation so that the actor hibernates.
    hibernate_ordered: bool = False
    # Messages handled so far, and the count the sweeper saw when it last looked:
    # the message path pays one increment for idleness detection, no timer.
    handled: int = 0
    seen: int = 0
    # Handlers running in their own tasks (concurrency != 1), and where a
    # graceful stop waits for them before it cancels the background work.
    in_flight: int = 0
    all_handled: trio.lowlevel.ParkingLot = attrs.field(factory=trio.lowlevel.ParkingLot)
    swept: bool = False  # the sweeper has this cell on its schedule
    # A hibernating actor's task context, restored on wake (not the waker's).
    context: contextvars.Context | None = None
    # Crash window and park state of a `give_up="back_off"` child; None: escalate.
    back_off: BackOff | None = None
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
        supervisor: Supervisor,
        mailbox_size: int,
        concurrency: int | None,
        hibernate_after: float | None,
    ) -> Cell:
        from ._ref import ActorRef  # the ref and the cell point at each other

        send, recv = trio.open_memory_channel[Envelope](mailbox_size)
        cell = cls(
            name=name,
            factory=factory,
            system=system,
            supervisor=supervisor,
            concurrency=concurrency,
            mailbox_size=mailbox_size,
            hibernate_after=hibernate_after,
            send=send,
            recv=recv,
        )
        cell.ref = ActorRef(cell.name, cell)
        return cell

    # -- lifecycle, as the supervisor and senders drive it -----------------

    def begin_incarnation(self) -> None:
        """Before the task of a fresh incarnation is started (so a stop order
        given before that task runs is not forgotten)."""
        self.generation += 1
        self.incarnation_done = LazyEvent()
        self.stopping = False
        self.behaviour = None
        self.ctx = None

    def wake(self) -> None:
        """Start a new activation of a hibernating actor. Synchronous: every
        sender calls it before enqueueing, so the loop is on its way first."""
        if not self.hibernating:
            return
        self.hibernating = False
        context, self.context = self.context, None
        assert context is not None
        # The new task copies the *current* context: run the start inside the
        # actor's own saved one, so the waker's context variables do not leak in.
        context.run(self.supervisor.resume, self)

    def stop_incarnation(self) -> None:
        """Order the current incarnation to end (its `stopped` hook runs)."""
        self.stopping = True
        if self.hibernating:
            self.wake()  # the new activation sees `stopping` and ends at once
        elif self.nursery is not None:
            self.nursery.cancel_scope.cancel()

    def end_hibernating_incarnation(self) -> bool:
        """At shutdown: end a hibernating incarnation with no `stopped` hook to
        run, without waking it (no task for nothing). False if it must wake.

        It is then like an actor whose cancelled task has ended: anything
        still sent to it waits in the mailbox for `close`, which answers it.
        """
        behaviour = self.behaviour
        if not self.hibernating or behaviour is None:
            return False
        if type(behaviour).stopped is not Behaviour.stopped:
            return False
        self.hibernating = False
        self.context = None
        self.behaviour = self.ctx = None
        self.incarnation_done.set()
        return True

    def idle(self) -> bool:
        """The loop waits on an empty mailbox with no handler or background work:
        cancelling the activation now interrupts nothing but that wait."""
        nursery = self.nursery
        return (
            nursery is not None
            and self.running
            and not self.stopping
            and not nursery.child_tasks
            # Parked in `receive`. A receiver already handed a message is no
            # longer counted here, so a cancel can never cost it that message.
            and self.recv.statistics().tasks_waiting_receive > 0
        )

    def order_hibernation(self) -> None:
        """Sweeper side: end the idle activation; `settle` decides after it ended."""
        assert self.nursery is not None
        self.hibernate_ordered = True
        self.nursery.cancel_scope.cancel()

    def settle(self) -> bool:
        """After an activation ended to hibernate: hibernate unless something
        happened meanwhile (then the caller runs another activation at once).

        Synchronous, so no message can slip in between this check and the
        flag that makes every later sender wake the actor.
        """
        stats = self.recv.statistics()
        if (
            self.stopping
            or self.supervisor.closing
            or self.closed
            or stats.current_buffer_used
            or stats.tasks_waiting_send
            or not stats.open_send_channels  # stop() closed it: drain and end
        ):
            return False
        assert self.ctx is not None
        self.hibernating = True
        self.ctx._attach(None)  # let the dead nursery (and its task) go
        self.context = contextvars.copy_context()
        return True

    # -- one activation ----------------------------------------------------

    async def activate(self, on_started: Callable[[], None]) -> bool:
        """Run one activation: feed the behaviour the mailbox until it is closed.

        Makes the behaviour (and runs `started`) only if this incarnation has
        none yet; a woken actor goes on with the one it had. The nursery is
        the activation's own: background work and concurrent handlers live
        there and die with it. Returns True if it ended to hibernate, False on
        a graceful stop (mailbox closed and drained, or the supervisor's
        order); raises when the behaviour crashed or was cancelled.
        """
        self.hibernate_ordered = False
        hibernating = False
        # The activation's nursery doubles as its cancel scope: one nursery
        # per awake actor, nothing more.
        async with trio.open_nursery() as nursery:
            self.nursery = nursery
            if self.stopping:
                nursery.cancel_scope.cancel()
            try:
                behaviour, ctx = self.behaviour, self.ctx
                if behaviour is None or ctx is None:
                    behaviour = self.behaviour = self.factory()
                    ctx = self.ctx = ActorContext(self.ref, self.system, self.restarts, nursery)
                    await behaviour.started(ctx)
                else:
                    ctx._attach(nursery)
                self.running = True
                on_started()
                self.supervisor.sweeper.watch(self)
                if self.concurrency == 1:
                    # `receive` in a plain loop, not `async for`: one frame
                    # less per awake actor.
                    while True:
                        try:
                            envelope = await self.recv.receive()
                        except trio.EndOfChannel:
                            break
                        await dispatch(self.name, behaviour, ctx, envelope)
                        # Counted once handled: idleness starts after the work.
                        self.handled += 1
                else:
                    await self._run_concurrently(behaviour, ctx, nursery)
                    while self.in_flight:
                        await self.all_handled.park()
                # A graceful stop: every message is answered; background work
                # (ctx.start_soon) ends with the activation, as it would on a cancel.
                nursery.cancel_scope.cancel()
            except trio.Cancelled:
                # Only the sweeper's cancel, with nothing else ending the
                # incarnation, is a hibernation; anything else ends it.
                hibernating = (
                    self.hibernate_ordered and not self.stopping and not self.supervisor.closing
                )
                raise
            finally:
                self.running = False
                if not hibernating:
                    await self._run_stopped_hook()
        self.nursery = None
        return hibernating

    async def end_incarnation(self) -> None:
        """The incarnation is over: make sure `stopped` ran, and mark it done.

        `stopped` normally ran at the end of the last activation; it runs
        here only when a hibernating activation was overtaken by a cancel.
        """
        self.nursery = None
        try:
            if self.ctx is not None:
                self.ctx._attach(None)
            await self._run_stopped_hook()
        finally:
            self.incarnation_done.set()

    async def _run_stopped_hook(self) -> None:
        """Run `stopped` (shielded, briefly), once per incarnation."""
        behaviour, ctx = self.behaviour, self.ctx
        if behaviour is None or ctx is None:
            return
        self.behaviour = self.ctx = None
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
        if not self.concurrency:
            await self._run_unlimited(behaviour, ctx, nursery)
            return
        limit = trio.CapacityLimiter(self.concurrency)
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
            self.in_flight += 1
            nursery.start_soon(self._dispatch_released, behaviour, ctx, envelope, limit, slot)

    async def _run_unlimited(
        self, behaviour: Behaviour, ctx: ActorContext, nursery: trio.Nursery
    ) -> None:
        # No slots to count. Every message already queued is handed to its
        # task at once (receive_nowait: no checkpoint between taking it and
        # starting its task, so a cancel cannot drop it); receive() — one
        # task switch per message — only when the mailbox is empty.
        recv = self.recv
        while True:
            try:
                envelope = recv.receive_nowait()
            except trio.WouldBlock:
                try:
                    envelope = await recv.receive()
                except trio.EndOfChannel:
                    return  # mailbox closed and drained: a graceful stop
            except trio.EndOfChannel:
                return
            self.in_flight += 1
            nursery.start_soon(self._dispatch_released, behaviour, ctx, envelope)

    async def _dispatch_released(
        self,
        behaviour: Behaviour,
        ctx: ActorContext,
        envelope: Envelope,
        limit: trio.CapacityLimiter | None = None,
        slot: object = None,
    ) -> None:
        """Handle one envelope in its own task; then free its slot, if counted.
        (`in_flight` was counted by the spawner: a task not yet started counts.)"""
        try:
            await dispatch(self.name, behaviour, ctx, envelope)
        finally:
            if limit is not None:
                limit.release_on_behalf_of(slot)
            self.handled += 1
            self.in_flight -= 1
            if not self.in_flight:
                self.all_handled.unpark_all()

    # -- end of life -----------------------------------------------------

    def close(self, reason: str) -> None:
        """Stop for good: close the mailbox and answer everything still queued."""
        if self.closed:
            return
        self.closed = True
        self.hibernating = False
        self.context = None
        self.behaviour = self.ctx = None
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
