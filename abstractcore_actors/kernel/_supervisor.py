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
that opened it), cancelling all of its children. Crash reasons are kept in
`crashes`.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, final

import attrs
import trio

from ._behaviour import BehaviourFactory
from ._cell import Cell
from ._errors import ActorCrashed, SupervisorGaveUp, ValidationError
from ._hibernation import DEFAULT_HIBERNATE_AFTER, Sweeper
from ._lazy_event import LazyEvent

if TYPE_CHECKING:
    from ._ref import ActorRef
    from ._system import ActorSystem

_KEPT_CRASHES = 100


class Strategy(enum.Enum):
    """Which children a supervisor restarts when one crashes."""

    ONE_FOR_ONE = "one_for_one"
    ONE_FOR_ALL = "one_for_all"
    REST_FOR_ONE = "rest_for_one"


@attrs.frozen(kw_only=True)
class ChildExited:
    """Control message: a child's incarnation ended (`reason` None = clean stop)."""

    cell: Cell
    generation: int
    reason: BaseException | None


@attrs.frozen(kw_only=True)
class CrashReport:
    """One crash, as the supervisor recorded it."""

    actor: str
    reason: BaseException
    at: float
    restarts: int


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
        self._recent: deque[float] = deque()
        self._control_send, self._control_recv = trio.open_memory_channel[ChildExited](math.inf)
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
    ) -> ActorRef:
        """Start a child actor and return its ref once its `started` hook ran.

        `factory` makes a fresh `Behaviour` for every (re)start (a class
        works). `mailbox_size` bounds the mailbox (senders wait when full);
        `concurrency` is how many messages it handles at once (1: strictly in
        order; None: no limit). `hibernate_after` is how many seconds an idle
        actor (empty mailbox, no handler or background work running) keeps
        its task before hibernating; None: never. Raises `NameTaken`,
        `ValidationError`, or `ActorCrashed` if the first `started` hook raised.
        """
        cell = self._claim(factory, name, mailbox_size, concurrency, hibernate_after)
        try:
            await self._start_incarnation(cell)
        except BaseException as exc:
            cell.close("the actor failed to start")
            reason = _unwrap(exc)
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
    ) -> Cell:
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
        return self._system.registry.claim(
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

    def spawn_nowait(
        self,
        factory: BehaviourFactory,
        *,
        name: str | None = None,
        mailbox_size: int = 64,
        concurrency: int | None = 1,
        hibernate_after: float | None = DEFAULT_HIBERNATE_AFTER,
    ) -> ActorRef:
        """Like `spawn`, without waiting for the `started` hook: callable from sync code.

        The ref works at once (messages queue in the mailbox until the actor
        runs). A `started` hook that raises counts as a crash, and the
        supervisor restarts the actor by its strategy.
        """
        cell = self._claim(factory, name, mailbox_size, concurrency, hibernate_after)
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
            crash, cancelled = _split_crash(exc)
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
        async for exited in self._control_recv:
            cell = exited.cell
            if cell.closed or exited.generation != cell.generation:
                continue  # stale report from an incarnation already replaced
            if exited.reason is None:
                self._remove(cell, "the actor stopped")
                continue
            self._record_crash(cell, exited.reason)
            await self._restart(cell)

    def _record_crash(self, cell: Cell, reason: BaseException) -> None:
        now = trio.current_time()
        self.crashes.append(
            CrashReport(actor=cell.name, reason=reason, at=now, restarts=cell.restarts)
        )
        self._recent.append(now)
        while self._recent and self._recent[0] <= now - self.within:
            self._recent.popleft()
        if len(self._recent) > self.max_restarts:
            gave_up = SupervisorGaveUp(self.name, cell.name, self.max_restarts, self.within)
            gave_up.crashes = [report.reason for report in self.crashes]
            raise gave_up from reason

    async def _restart(self, crashed: Cell) -> None:
        index = self._children.index(crashed)
        match self.strategy:
            case Strategy.ONE_FOR_ONE:
                group = [crashed]
            case Strategy.ONE_FOR_ALL:
                group = list(self._children)
            case Strategy.REST_FOR_ONE:
                group = self._children[index:]
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
                    self._record_crash(cell, _unwrap(exc))

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


def _split_crash(exc: BaseException) -> tuple[Exception | None, BaseException | None]:
    """(the crash, the rest): the `Exception` part of `exc` as one reason, and
    whatever is not an Exception (a cancel, KeyboardInterrupt), to re-raise."""
    if isinstance(exc, Exception):
        reason = _unwrap(exc)
        return (reason if isinstance(reason, Exception) else exc), None
    if isinstance(exc, BaseExceptionGroup):
        crashes, rest = exc.split(Exception)
        if crashes is not None:
            reason = _unwrap(crashes)
            return (reason if isinstance(reason, Exception) else crashes), rest
    return None, exc


def _unwrap(exc: BaseException) -> BaseException:
    """A lone exception inside (nested) groups is the real reason: show that."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


@asynccontextmanager
async def supervise(
    system: ActorSystem,
    *,
    name: str = "supervisor",
    strategy: Strategy | str = Strategy.ONE_FOR_ONE,
    max_restarts: int = 3,
    within: float = 5.0,
) -> AsyncIterator[Supervisor]:
    """Open a supervisor in the caller's task: its children live inside the block.

    Leaving the block cancels every child and waits for them; requests still
    queued get `ActorCrashed`. If the restart intensity is exceeded, the block
    is cancelled and `SupervisorGaveUp` is raised from it.
    """
    try:
        strategy = Strategy(strategy)
    except ValueError:
        choices = ", ".join(s.value for s in Strategy)
        raise ValidationError(f"unknown strategy {strategy!r}; use one of: {choices}") from None
    if max_restarts < 0:
        raise ValidationError(f"max_restarts must be >= 0 (got {max_restarts})")
    if not within > 0:
        raise ValidationError(f"within must be > 0 seconds (got {within})")
    supervisor: Supervisor | None = None
    try:
        async with trio.open_nursery() as nursery:
            supervisor = Supervisor(
                name=name,
                system=system,
                nursery=nursery,
                strategy=strategy,
                max_restarts=max_restarts,
                within=within,
            )
            nursery.start_soon(supervisor.run)
            nursery.start_soon(supervisor.sweeper.run)
            try:
                yield supervisor
            finally:
                supervisor.shut_down()
    except BaseExceptionGroup as group:
        gave_up, rest = group.split(SupervisorGaveUp)
        if gave_up is not None and rest is None:
            # Only the escalation happened: raise it bare, its cause chained.
            raise _unwrap(gave_up)  # noqa: B904 - the original cause is already chained
        raise
    finally:
        if supervisor is not None:
            supervisor.close_all(f"supervisor {name!r} closed")
