"""Handling one envelope: run the behaviour's handler and always answer the caller."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import outcome
import trio

from ._behaviour import ActorContext, Behaviour
from ._errors import ActorCrashed, ConsumerGone, UnhandledMessage
from ._protocol import Ask, Call, Envelope, Stream, StreamSink, Tell


async def dispatch(name: str, behaviour: Behaviour, ctx: ActorContext, envelope: Envelope) -> None:
    """Handle one envelope; raises (crashing the actor) only for a crash."""
    match envelope:
        case Tell(message=message):
            await behaviour.receive(message, ctx)
        case Ask(call=call, message=message):
            await _run_call(
                name, behaviour, call, partial(behaviour.receive, message, ctx), "before replying"
            )
        case Stream(call=call, message=message, sink=sink):
            try:
                work = partial(_stream_into, name, behaviour, ctx, message, call, sink)
                await _run_call(name, behaviour, call, work, "while streaming")
            finally:
                # Closing the sink after the call is resolved is the end
                # marker: the reader finds the outcome ready when its
                # channel ends.
                sink.close()
        case _:  # pragma: no cover - ActorRef only builds the three envelopes
            raise UnhandledMessage(name, envelope)


async def _run_call(
    name: str,
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
                call.resolve(outcome.Error(_crashed(name, exc)))
                raise
            else:
                call.resolve(outcome.Value(value))
    finally:
        call.fail_if_pending(f"the actor stopped or restarted {when}")


async def _stream_into(
    name: str,
    behaviour: Behaviour,
    ctx: ActorContext,
    message: object,
    call: Call,
    sink: trio.MemorySendChannel[Any],
) -> None:
    try:
        await behaviour.stream_into(message, ctx, StreamSink(sink, name))
    except ConsumerGone:
        call.abandon()  # the reader left: the producer stopped, all is well


def _reply_errors(behaviour: Behaviour) -> tuple[type[BaseException], ...]:
    """Errors that are answers to the asker rather than crashes of the actor."""
    return (UnhandledMessage, *behaviour.reply_errors)


def _crashed(name: str, exc: BaseException) -> ActorCrashed:
    crash = ActorCrashed(name, exc)
    crash.__cause__ = exc
    return crash
