"""`supervise()`: open a supervisor in the caller's task, its children inside the block."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import trio

from ._errors import SupervisorGaveUp, ValidationError
from ._reasons import unwrap
from ._restart_policy import Strategy
from ._supervisor import Supervisor

if TYPE_CHECKING:
    from ._system import ActorSystem


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
            raise unwrap(gave_up)  # noqa: B904 - the original cause is already chained
        raise
    finally:
        if supervisor is not None:
            supervisor.close_all(f"supervisor {name!r} closed")
