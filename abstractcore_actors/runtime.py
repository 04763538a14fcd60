"""`open_runtime()`: the runtime a user opens inside their own trio nursery.

This module is the composition root: it ties the layers together behind
one object, so it sits above them all (like `__init__`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import final

from .kernel import ActorRef, ActorSystem, Strategy, Supervisor, open_actor_system
from .kernel._behaviour import BehaviourFactory


@final
class Runtime:
    """Everything a program needs, hanging off one object. Made by `open_runtime()`."""

    def __init__(self, actors: ActorSystem) -> None:
        self.actors = actors

    def __repr__(self) -> str:
        return f"<Runtime actors={len(self.actors.registry)}>"

    async def spawn(
        self,
        factory: BehaviourFactory,
        *,
        name: str | None = None,
        mailbox_size: int = 64,
        concurrency: int | None = 1,
    ) -> ActorRef:
        """Spawn an actor under the runtime's root supervisor (one_for_one)."""
        return await self.actors.spawn(
            factory, name=name, mailbox_size=mailbox_size, concurrency=concurrency
        )

    def supervise(
        self,
        *,
        name: str = "supervisor",
        strategy: Strategy | str = Strategy.ONE_FOR_ONE,
        max_restarts: int = 3,
        within: float = 5.0,
    ) -> AbstractAsyncContextManager[Supervisor]:
        """Open a supervisor whose children live inside the `async with` block."""
        return self.actors.supervise(
            name=name, strategy=strategy, max_restarts=max_restarts, within=within
        )

    def lookup(self, name: str) -> ActorRef:
        """The live actor called `name`; raises `ActorNotFound`."""
        return self.actors.lookup(name)

    def names(self) -> list[str]:
        """Names of every live actor."""
        return self.actors.names()


@asynccontextmanager
async def open_runtime(*, cancel_grace: float = 5.0) -> AsyncIterator[Runtime]:
    """Open the runtime in the caller's task; it lives as long as the block.

    Embeds in any trio program: `async with open_runtime() as rt:`. Leaving
    the block cancels every actor it started and waits for them, so nothing
    outlives it (no task, socket or thread). There is no global state: two
    runtimes in one process are independent.
    """
    async with open_actor_system(cancel_grace=cancel_grace) as actors:
        yield Runtime(actors)
