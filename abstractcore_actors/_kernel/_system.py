"""The actor system: registry, call ids, and a root supervisor, in the caller's task.

Nothing here is global: two systems in one process share nothing.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, final

from ._backoff import GiveUp
from ._behaviour import BehaviourFactory
from ._errors import ActorNotFound, NameTaken, ValidationError
from ._hibernation import DEFAULT_HIBERNATE_AFTER
from ._protocol import CallIds
from ._restart_policy import Strategy
from ._supervise import supervise
from ._supervisor import Supervisor

if TYPE_CHECKING:
    from ._cell import Cell
    from ._ref import ActorRef


@final
class Registry:
    """Names of live actors. A name is freed when its actor stops for good."""

    def __init__(self) -> None:
        self._cells: dict[str, Cell] = {}
        self._anonymous = itertools.count(1)

    def claim(self, name: str | None, make: Callable[[str], Cell]) -> Cell:
        if name is None:
            name = f"actor-{next(self._anonymous)}"
            while name in self._cells:
                name = f"actor-{next(self._anonymous)}"
        elif not isinstance(name, str) or not name:
            raise ValidationError(f"an actor name must be a non-empty string, not {name!r}")
        if name in self._cells:
            raise NameTaken(name)
        cell = make(name)
        self._cells[name] = cell
        return cell

    def release(self, cell: Cell) -> None:
        if self._cells.get(cell.name) is cell:
            del self._cells[cell.name]

    def lookup(self, name: str) -> ActorRef:
        try:
            return self._cells[name].ref
        except KeyError:
            raise ActorNotFound(name) from None

    def names(self) -> list[str]:
        return sorted(self._cells)

    def __len__(self) -> int:
        return len(self._cells)


@final
class ActorSystem:
    """A tree of supervised actors living in one `async with open_actor_system()` block."""

    def __init__(self, *, cancel_grace: float) -> None:
        self.registry = Registry()
        self.call_ids = CallIds()
        self.cancel_grace = cancel_grace
        self._root: Supervisor | None = None

    @property
    def root(self) -> Supervisor:
        if self._root is None:
            raise RuntimeError("the actor system is not open: use `async with open_actor_system()`")
        return self._root

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
        """Spawn under the root supervisor (one_for_one); see `Supervisor.spawn`."""
        return await self.root.spawn(
            factory,
            name=name,
            mailbox_size=mailbox_size,
            concurrency=concurrency,
            hibernate_after=hibernate_after,
            give_up=give_up,
        )

    def supervise(
        self,
        *,
        name: str = "supervisor",
        strategy: Strategy | str = Strategy.ONE_FOR_ONE,
        max_restarts: int = 3,
        within: float = 5.0,
    ) -> AbstractAsyncContextManager[Supervisor]:
        """Open a child supervisor in the caller's task; see `supervise`."""
        return supervise(
            self, name=name, strategy=strategy, max_restarts=max_restarts, within=within
        )

    def lookup(self, name: str) -> ActorRef:
        """The live actor called `name`; raises `ActorNotFound`."""
        return self.registry.lookup(name)

    def names(self) -> list[str]:
        """Names of every live actor, sorted."""
        return self.registry.names()

    def free_name(self, base: str) -> str:
        """`base`, or `base#2`, `base#3`, ...: the first no live actor has."""
        taken = set(self.names())
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}#{n}"
        return name


@asynccontextmanager
async def open_actor_system(
    *,
    max_restarts: int = 10,
    within: float = 60.0,
    cancel_grace: float = 5.0,
) -> AsyncIterator[ActorSystem]:
    """Run an actor system inside the caller's task (and so its nursery).

    Actors spawned with `system.spawn` live under a root one_for_one
    supervisor with the given restart intensity. Leaving the block cancels
    every actor and waits for it; requests still queued get `ActorCrashed`.
    `cancel_grace` bounds how long an abandoned ask waits for the actor to
    confirm its work stopped.
    """
    if not cancel_grace > 0:
        raise ValidationError(f"cancel_grace must be > 0 seconds (got {cancel_grace})")
    system = ActorSystem(cancel_grace=cancel_grace)
    async with supervise(system, name="root", max_restarts=max_restarts, within=within) as root:
        system._root = root
        try:
            yield system
        finally:
            system._root = None
