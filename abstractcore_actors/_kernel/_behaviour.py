"""What an actor does: the `Behaviour` base class and the `ActorContext` it receives."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import trio

from ._errors import UnhandledMessage
from ._protocol import StreamSink

if TYPE_CHECKING:
    from ._ref import ActorRef
    from ._system import ActorSystem


@attrs.define(eq=False)
class ActorContext:
    """Handed to every handler: who the actor is and where it may start work.

    `start_soon` runs background work in the actor's own nursery, so the work
    is cancelled when the actor stops or restarts (it never outlives it).
    The same context serves the whole incarnation, across hibernation.
    """

    ref: ActorRef
    system: ActorSystem
    restarts: int
    # The running activation's nursery; None while the actor hibernates or
    # once the incarnation has ended.
    _nursery: trio.Nursery | None

    @property
    def name(self) -> str:
        return self.ref.name

    def start_soon(self, fn: Callable[..., Awaitable[object]], *args: object) -> None:
        """Run `fn(*args)` in the actor's nursery; a raise crashes the actor.

        Call it from `started` or a handler: an actor with background work
        running does not hibernate, and the work is cancelled with it.
        """
        if self._nursery is None:
            raise RuntimeError(
                f"actor {self.name!r} is not running (hibernating or stopped): call "
                "ctx.start_soon from `started` or from a handler"
            )
        self._nursery.start_soon(fn, *args)

    def _attach(self, nursery: trio.Nursery | None) -> None:
        """Kernel side: the nursery of the activation now running, or None."""
        self._nursery = nursery


class Behaviour:
    """Subclass this to define an actor. A fresh instance is made on every (re)start.

    The instance lives as long as the incarnation, including while the actor
    hibernates (see docs/kernel.md): hibernating and waking are not restarts.

    - `receive(message, ctx)` handles `tell` and `ask`; its return value is
      the reply to an `ask`.
    - `stream(message, ctx)` (an async generator) handles `ActorRef.stream`;
      each yielded item is one reply, sent with backpressure. (Or override
      `stream_into(message, ctx, sink)` and push the replies yourself.)
    - `started` / `stopped` run when an incarnation begins and ends (once
      each, not on hibernating or waking).

    Exceptions listed in `reply_errors` are protocol errors: they are raised
    at the asker and the actor keeps running. Any other exception crashes the
    actor; the asker gets `ActorCrashed` and the supervisor decides what next.
    """

    reply_errors: ClassVar[tuple[type[BaseException], ...]] = ()

    async def started(self, ctx: ActorContext) -> None:
        """Called before the first message of each incarnation."""

    async def stopped(self, ctx: ActorContext) -> None:
        """Called when an incarnation ends (shielded, briefly): release resources."""

    async def receive(self, message: object, ctx: ActorContext) -> Any:
        raise UnhandledMessage(ctx.name, message)

    def stream(self, message: object, ctx: ActorContext) -> AsyncIterator[Any]:
        raise UnhandledMessage(ctx.name, message, how="stream")

    async def stream_into(self, message: object, ctx: ActorContext, sink: StreamSink) -> None:
        """Push-style stream handling: `await sink.send(item)` per reply.

        The kernel calls this for every stream request; by default it drives
        `stream`. Override it instead of `stream` when the producer is a loop
        that must hold a cancel scope or a lock across replies (an async
        generator must not yield inside those).
        """
        async with aclosing(self.stream(message, ctx)) as items:  # type: ignore[type-var]
            async for item in items:
                await sink.send(item)


BehaviourFactory = Callable[[], Behaviour]
