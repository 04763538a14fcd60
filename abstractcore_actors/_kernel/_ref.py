"""`ActorRef`: the only way to talk to an actor (tell, ask, stream)."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, final

import trio

from ._errors import AskTimeout, MailboxClosed, ValidationError
from ._protocol import Ask, Call, Envelope, Stream, Tell

if TYPE_CHECKING:
    from ._backoff import Parked
    from ._cell import Cell


def _check_timeout(timeout: float | None) -> None:
    if timeout is None:
        return
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise ValidationError(f"timeout must be a number of seconds or None, not {timeout!r}")
    if not timeout > 0 or math.isnan(timeout):
        raise ValidationError(
            f"timeout must be > 0 seconds (got {timeout!r}); pass None to wait without limit"
        )


@final
class ActorRef:
    """A handle on a live actor. Valid across restarts; dead once the actor stops.

    Do not construct it: `spawn` returns one and `lookup` finds one.
    """

    __slots__ = ("_cell", "name")

    def __init__(self, name: str, cell: Cell) -> None:
        self.name = name
        self._cell = cell

    def __repr__(self) -> str:
        state = "stopped" if self._cell.closed else "parked" if self.unavailable else "alive"
        return f"<ActorRef {self.name!r} {state}>"

    @property
    def alive(self) -> bool:
        """False once the actor has stopped for good (its mailbox is closed)."""
        return not self._cell.closed

    @property
    def hibernating(self) -> bool:
        """True while the actor is idle with no task of its own; the next message wakes it."""
        return self._cell.hibernating

    @property
    def unavailable(self) -> Parked | None:
        """While the actor is parked after crashing too often (`give_up="back_off"`):
        when it comes back and why; None when it is in service."""
        back_off = self._cell.back_off
        return None if back_off is None else back_off.parked

    @property
    def restarts(self) -> int:
        """How many times the supervisor has restarted this actor."""
        return self._cell.restarts

    async def _post(self, envelope: Envelope) -> None:
        cell = self._cell
        if cell.hibernating:
            cell.wake()  # before enqueueing: with no room, the send waits for the loop
        try:
            try:
                # Room in the mailbox: no task switch (send() always yields
                # once, a scheduler pass per message in a burst of calls).
                cell.send.send_nowait(envelope)
            except trio.WouldBlock:
                await cell.send.send(envelope)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            raise MailboxClosed(self.name) from None

    async def tell(self, message: object) -> None:
        """Send `message` without waiting for a reply.

        Waits while the mailbox is full (backpressure). Raises `MailboxClosed`
        when the actor has stopped. Cancelling it before the message is queued
        means the message was not sent.
        """
        await trio.lowlevel.checkpoint_if_cancelled()  # (cheap: yields only if cancelled)
        await self._post(Tell(message=message))

    def tell_nowait(self, message: object) -> None:
        """Like `tell`, but raises `trio.WouldBlock` instead of waiting when full.

        (With `mailbox_size=0` it succeeds only when the actor waits for a
        message right now: not while it is busy, nor while it hibernates.)
        """
        cell = self._cell
        if cell.hibernating:
            cell.wake()
        try:
            cell.send.send_nowait(Tell(message=message))
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            raise MailboxClosed(self.name) from None

    async def ask(
        self,
        message: object,
        *,
        timeout: float | None = None,
        cancel_on_abandon: bool = True,
    ) -> Any:
        """Send `message` and return the actor's reply.

        Raises `AskTimeout` after `timeout` seconds, `ActorCrashed` if the
        handler crashed (the cause is chained), `MailboxClosed` if the actor
        has stopped, and the behaviour's `reply_errors` as themselves.

        On cancel or timeout, the work is cancelled too (unless
        `cancel_on_abandon=False`) and this call returns only once the actor
        has stopped working on it, or after the system's `cancel_grace`.
        """
        _check_timeout(timeout)
        call = Call(self._cell.system.call_ids.next(), self.name, cancel_on_abandon)
        try:
            if timeout is None:  # no cancel scope to open and close: one less per call
                await self._post(Ask(call=call, message=message))
                return await call.wait()
            with trio.fail_after(timeout):
                await self._post(Ask(call=call, message=message))
                return await call.wait()
        except trio.TooSlowError:
            raise AskTimeout(self.name, timeout or 0.0) from None
        finally:
            if not call.done:
                await self._abandon(call)

    @asynccontextmanager
    async def stream(
        self, message: object, *, buffer: int = 0, cancel_on_abandon: bool = True
    ) -> AsyncIterator[AsyncIterator[Any]]:
        """Ask for many replies: `async with ref.stream(msg) as items: async for x in items`.

        The producer runs at the consumer's pace (a channel of `buffer`
        slots). The stream ends when the actor's generator ends; if it raised,
        the error is raised from the `async for`. Leaving the block early
        cancels the producer and waits (up to `cancel_grace`) for it to stop.
        """
        if buffer < 0:
            raise ValidationError(f"buffer must be >= 0 (got {buffer})")
        call = Call(self._cell.system.call_ids.next(), self.name, cancel_on_abandon)
        send, recv = trio.open_memory_channel[Any](buffer)
        try:
            try:
                await self._post(Stream(call=call, message=message, sink=send))
            except BaseException:
                send.close()
                raise
            yield _StreamReader(recv, call)
        finally:
            recv.close()
            if not call.done:
                await self._abandon(call)

    async def _abandon(self, call: Call) -> None:
        call.abandon()
        if not call.cancel_on_abandon or not call.started:
            # Not started yet: the actor sees the call abandoned and skips it.
            return
        # Wait, shielded and bounded, for the actor to confirm the work has
        # stopped: when this returns, its sockets are closed.
        grace = self._cell.system.cancel_grace
        with trio.CancelScope(shield=True), trio.move_on_after(grace):
            await call.wait_finished()

    async def stop(self) -> None:
        """Stop the actor gracefully: it handles what is queued, then ends.

        Returns once it has stopped; its name is then free. Idempotent.
        """
        cell = self._cell
        if not cell.closed:
            cell.send.close()
            cell.wake()  # a hibernating actor wakes to find its mailbox closed, and ends
        await cell.ended.wait()


@final
class _StreamReader:
    """Async iterator over a stream's replies; raises the producer's error at the end."""

    __slots__ = ("_call", "_recv")

    def __init__(self, recv: trio.MemoryReceiveChannel[Any], call: Call) -> None:
        self._recv = recv
        self._call = call

    def __aiter__(self) -> _StreamReader:
        return self

    def receive_nowait(self) -> Any:
        """The next reply if one is already waiting; `trio.WouldBlock` otherwise.

        Also `trio.WouldBlock` once the replies have ended: the end (and the
        producer's error, if any) takes an await to learn, so the next
        `__anext__` reports it. A reader that drains with this, then awaits
        `__anext__`, sees every reply once and in order.
        """
        try:
            return self._recv.receive_nowait()
        except trio.EndOfChannel:
            raise trio.WouldBlock from None

    async def __anext__(self) -> Any:
        try:
            return await self._recv.receive()
        except trio.EndOfChannel:
            # The channel ended: the end marker. Raise the producer's error, if any.
            await self._call.wait()
            raise StopAsyncIteration from None
