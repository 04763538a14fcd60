"""Supervisors: restart crashed children by strategy, within a restart intensity.

A supervisor is one nursery. Each child actor runs in it as a task; when a
child's incarnation ends, the task reports a `ChildExited` message to the
supervisor's control channel, and the supervisor's loop (the only place that
restarts anything) applies the strategy:

- one_for_one:  restart only the crashed child;
- one_for_all:  stop every other child, then restart all, in start order;
- rest_for_one: stop the children started after it, then restart those and it.

Idle children hibernate (see `_hibernation`): their task returns, and the
next message sent to them starts a new one here (`resume`) with the same
behaviour. Hibernating and waking are not restarts and are not reported.

More than `max_restarts` crashes within `within` seconds and the supervisor
gives up: it raises `SupervisorGaveUp` into its parent (the `async with`
that opened it), cancelling all of its children — unless the child was
spawned with `give_up="back_off"`: then only that child is parked and
restarted later (see `_backoff`). Crash reasons are kept in `crashes`.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING, final

import attrs
import trio

from ._backoff import GiveUp, Parked, answer_unavailable, back_off_for
from ._behaviour import BehaviourFactory
from ._cell import Cell
from ._errors import ActorCrashed, SupervisorGaveUp, ValidationError
from ._hibernation import DEFAULT_HIBERNATE_AFTER, Sweeper
from ._lazy_event import LazyEvent
from ._reasons import split_crash, unwrap
from ._restart_policy import CrashReport, RestartIntensity, Strategy

if TYPE_CHECKING:
    from ._ref import ActorRef
    from ._system import ActorSystem

_KEPT_CRASHES = 100


@attrs.frozen(kw_only=True)
class ChildExited:
    """Control message: a child's incarnation ended (`reason` None = clean stop)."""

    cell: Cell
    generation: int
    reason: BaseException | None


@attrs.frozen(kw_only=True)
class _Unpark:
    """Control message: a parked child's back-off delay is over."""

    cell: Cell
    parked: Parked


@final
class Supervisor:
    """Owns a set of child actors and restarts them. Made by `supervise()`."""

    def __init__(
        self,
        *,
        name: str,
        system: ActorSystem,
        nursery: trio.Nursery,
        strategy: Strategy,
        max_restarts: int,
        within: float,
    ) -> None:
        self.name = name
        self.strategy = strategy
        self.max_restarts = max_restarts
        self.within = within
        self.crashes: deque[CrashReport] = deque(maxlen=_KEPT_CRASHES)
        self._system = system
        self._nursery = nursery
        self._children: list[Cell] = []
        self._intensity = RestartIntensity(max_restarts=max_restarts, within=within)
        self._control_send, self._control_recv = trio.open_memory_channel[ChildExited | _Unpark](
            math.inf
        )
        self.sweeper = Sweeper()
        # Set when the supervisor's block is ending: from then on no child
        # hibernates, so every one of them is there to run its `stopped` hook.
        self.closing = False

    def __repr__(self) -> str:
        return f"<Supervisor {self.name!r} {self.strategy.value} children={len(self._children)}>"

    @property
    def children(self) -> list[ActorRef]:
        """Live children, in start order."""
        return [cell.ref for cell in self._children]

    async def spawn(
        self,
        factory: BehaviourFactory,
        *,
        name: str | None = None,
        mailbox_size: int = 64,
        concurrency: int | None = 1,
        hibernate_after: float | None = DEFAULT_HIBERNATE_AFTER,
        give_up: GiveUp | str = GiveUp.ESCALATE,
    ) -> ActorRef:
        """Start a child actor and return its ref once its `started` hook ran.

        `factory` makes a fresh `Behaviour` for every (re)start (a class
        works). `mailbox_size` bounds the mailbox (senders wait when full);
        `concurrency` is how many messages it handles at once (1: strictly in
        order; None: no limit). `hibernate_after` is how many seconds an idle
        actor (empty mailbox, no handler or background work running) keeps
        its task before hibernating; None: never. `give_up` is what happens
        when it crashes past the restart intensity: "escalate" (the
        supervisor gives up) or "back_off" (this child alone is parked,
        its callers get `ActorUnavailable`, and it restarts after a delay;
        one_for_one supervisors only). Raises `NameTaken`, `ValidationError`,
        or `ActorCrashed` if the first `started` hook raised.
        """
        cell = self._claim(factory, name, mailbox_size, concurrency, hibernate_after, give_up)
        try:
            await self._start_incarnation(cell)
        except BaseException as exc:
            cell.close("the actor failed to start")
            reason = unwrap(exc)
            if isinstance(reason, Exception):
                raise ActorCrashed(cell.name, reason, during="starting") from reason
            raise
        self._children.append(cell)
        return cell.ref

    def _claim(
        self,
        factory: BehaviourFactory,
        name: str | None,
        mailbox_size: int,
        concurrency: int | None,
        hibernate_after: float | None,
        give_up: GiveUp | str,
    ) -> Cell:
        back_off = back_off_for(give_up, self.strategy, self.name, self.max_restarts, self.within)
        if hibernate_after is not None and (
            isinstance(hibernate_after, bool)
            or not isinstance(hibernate_after, int | float)
            or not hibernate_after >= 0  # also rejects NaN
        ):
            raise ValidationError(
                "hibernate_after must be a number of seconds >= 0, or None never to "
                f"hibernate (got {hibernate_after!r})"
            )
        if mailbox_size < 0:
            raise ValidationError(f"mailbox_size must be >= 0 (got {mailbox_size})")
        if concurrency is not None and concurrency < 1:
            raise ValidationError(
                f"concurrency must be >= 1 or None for no limit (got {concurrency})"
            )
        if not callable(factory):
            raise ValidationError(
                f"spawn needs a Behaviour class or a function returning one, not {factory!r}"
            )
        cell = self._system.registry.claim(
            name,
            lambda actor_name: Cell.create(
                name=actor_name,
                factory=factory,
                system=self._system,
                supervisor=self,
                mailbox_size=mailbox_size,
                concurrency=concurrency,
                hibernate_after=hibernate_after,
            ),
        )
        cell.back_off = back_off
        return cell

    def spawn_nowait(
        self,
        factory: BehaviourFactory,
        *,
        name: str | None = None,
        mailbox_size: int = 64,
        concurrency: int | None = 1,
        hibernate_after: float | None = DEFAULT_HIBERNATE_AFTER,
        give_up: GiveUp | str = GiveUp.ESCALATE,
    ) -> ActorRef:
        """Like `spawn`, without waiting for the `started` hook: callable from sync code.

        The ref works at once (messages queue in the mailbox until the actor
        runs). A `started` hook that raises counts as a crash, and the
        supervisor restarts the actor by its strategy.
        """
        cell = self._claim(factory, name, mailbox_size, concurrency, hibernate_after, give_up)
        self._children.append(cell)
        cell.begin_incarnation()
        self._nursery.start_soon(self._run_child, cell, _Handshake(nowait=True))
        return cell.ref

    async def _start_incarnation(self, cell: Cell) -> None:
        """Start the child's next incarnation; return once its `started` hook ran.

        Raises what the `started` hook raised. (A hand-made handshake rather
        than `nursery.start`: `start` leaves a few hundred bytes per task
        behind, which ten thousand idle actors notice.)
        """
        handshake = _Handshake()
        cell.begin_incarnation()
        self._nursery.start_soon(self._run_child, cell, handshake)
        await handshake.done.wait()
        if handshake.error is not None:
            raise handshake.error

    def resume(self, cell: Cell) -> None:
        """Start a new activation of a hibernating child (called by `Cell.wake`)."""
        self._nursery.start_soon(self._run_child, cell, None)

    async def _run_child(self, cell: Cell, handshake: _Handshake | None) -> None:
        """Run a child's activations until it hibernates or its incarnation ends.

        `handshake` is None when waking a hibernating child. When the
        incarnation ends, the `stopped` hook runs and, unless the supervisor
        itself ordered the end, a `ChildExited` report goes to the control loop.
        """
        generation = cell.generation
        on_started = _noop if handshake is None else handshake.mark_started
        try:
            try:
                while await cell.activate(on_started):
                    if cell.settle():
                        return  # hibernating: the incarnation goes on, with no task
                    # A message or an order came while it settled: go on awake.
            finally:
                if not cell.hibernating:
                    await cell.end_incarnation()
        except BaseException as exc:
            # A handler's crash can arrive beside the cancel of a closing
            # supervisor (one group holding both): the crash is reported, the
            # cancel goes on up. Never let the crash itself escape into the
            # supervisor's nursery — the asker already got it as ActorCrashed.
            crash, cancelled = split_crash(exc)
            if crash is None:
                raise
            if handshake is not None and not handshake.started and not handshake.nowait:
                handshake.error = crash  # raised at the spawner
                handshake.done.set()
            elif not self.closing:
                self._control_send.send_nowait(
                    ChildExited(cell=cell, generation=generation, reason=crash)
                )
            if cancelled is not None:
                raise cancelled from None
            return
        if cell.stopping:
            return  # stopped on the supervisor's own order: it knows
        self._control_send.send_nowait(ChildExited(cell=cell, generation=generation, reason=None))

    async def run(self) -> None:
        """The control loop: the only place children are restarted or removed."""
        async for report in self._control_recv:
            cell = report.cell
            if isinstance(report, _Unpark):
                if (
                    cell.closed
                    or cell.back_off is None
                    or cell.back_off.parked is not report.parked
                ):
                    continue
                cell.back_off.unpark(trio.current_time())
                await self._restart(cell)
                continue
            if cell.closed or report.generation != cell.generation:
                continue  # stale report from an incarnation already replaced
            if report.reason is None:
                self._remove(cell, "the actor stopped")
                continue
            if not self._record_crash(cell, report.reason):
                await self._restart(cell)

    def _record_crash(self, cell: Cell, reason: BaseException) -> bool:
        """Record a crash; True if the child was parked (so not to be restarted now).

        Raises `SupervisorGaveUp` when an escalating child is one crash too many.
        """
        now = trio.current_time()
        self.crashes.append(
            CrashReport(actor=cell.name, reason=reason, at=now, restarts=cell.restarts)
        )
        if cell.back_off is not None:
            if not cell.back_off.over_intensity(now):
                return False
            self._park(cell, cell.back_off.park(now, reason))
            return True
        if self._intensity.exceeded(now):
            gave_up = SupervisorGaveUp(self.name, cell.name, self.max_restarts, self.within)
            gave_up.crashes = [report.reason for report in self.crashes]
            raise gave_up from reason
        return False

    def _park(self, cell: Cell, parked: Parked) -> None:
        self._nursery.start_soon(self._serve_parked, cell, parked)

    async def _serve_parked(self, cell: Cell, parked: Parked) -> None:
        """Stand in for a parked child: answer its mailbox until the delay is over."""
        with trio.move_on_at(parked.until):
            async for envelope in cell.recv:
                answer_unavailable(cell.name, parked, envelope)
            # The mailbox was closed (`stop()`): the actor ends here, for good.
            self._control_send.send_nowait(
                ChildExited(cell=cell, generation=cell.generation, reason=None)
            )
            return
        self._control_send.send_nowait(_Unpark(cell=cell, parked=parked))

    async def _restart(self, crashed: Cell) -> None:
        group = self.strategy.group(self._children, crashed)
        for cell in reversed(group):  # stop in reverse start order
            if cell is not crashed:
                cell.stop_incarnation()  # wakes it if it hibernates: `stopped` runs
                await cell.incarnation_done.wait()
        for cell in group:  # restart in start order
            while True:
                cell.restarts += 1
                try:
                    await self._start_incarnation(cell)
                    break
                except Exception as exc:
                    if self._record_crash(cell, unwrap(exc)):
                        break  # parked: it starts again after its back-off

    async def stop_child(self, ref: ActorRef) -> None:
        """Stop one child gracefully (it drains its mailbox) and forget it."""
        await ref.stop()

    def _remove(self, cell: Cell, reason: str) -> None:
        if cell in self._children:
            self._children.remove(cell)
        cell.close(reason)

    def shut_down(self) -> None:
        """The block is ending: no child may hibernate any more, and each
        hibernating one with a `stopped` hook is woken, so that the hook runs
        as it is cancelled; then cancel the nursery (which stays open for the
        woken tasks until they end)."""
        self.closing = True
        for cell in self._children:
            if not cell.end_hibernating_incarnation():
                cell.wake()
        self._nursery.cancel_scope.cancel()

    def close_all(self, reason: str) -> None:
        """After the nursery ended: answer all queued requests, free all names."""
        for cell in self._children:
            cell.close(reason)
        self._children.clear()
        self._control_send.close()


@attrs.define(eq=False)
class _Handshake:
    """Between a spawner and the child task it started: started, or why not."""

    done: LazyEvent = attrs.field(factory=LazyEvent)
    nowait: bool = False  # nobody waits: a failed start is reported as a crash
    started: bool = False
    error: Exception | None = None

    def mark_started(self) -> None:
        self.started = True
        self.done.set()


def _noop() -> None:
    pass
