"""The session actor: owns a conversation's state and runs its turns, one at a time.

Its handlers run concurrently (the actor's concurrency is unlimited) so
that intervention — inject, cancel, revise, new tools — is handled while a
turn streams; turns themselves queue on a FIFO lock.
"""

from __future__ import annotations

from typing import Any

import trio

from .._kernel import ActorContext, Behaviour, StreamSink
from .._structured import StructuredOutputError
from ..errors import ProviderError, UnhandledMessage, ValidationError
from ..events import ContextInjected, Emitter, SessionCleared
from ._protocol import CancelTurn, Clear, Inject, Restore, Revise, RunTurn, SetSystemPrompt
from ._state import SessionState
from ._structured_turn import StructuredProgress
from ._turn import TurnContext, TurnRun, run_turn


class SessionCore:
    """What outlives a session actor's restarts: its state, its session-level
    event emitter and the turn lock."""

    def __init__(self, turn_context: TurnContext, events: Emitter) -> None:
        self.turn = turn_context
        self.events = events
        self.current: TurnRun | None = None
        self.turn_lock = trio.Lock()

    @property
    def state(self) -> SessionState:
        return self.turn.state


class SessionActor(Behaviour):
    """Serves one session's messages (see `_protocol`)."""

    reply_errors = (ProviderError, ValidationError, StructuredOutputError)

    def __init__(self, core: SessionCore) -> None:
        self.core = core

    async def stream_into(self, message: object, ctx: ActorContext, sink: StreamSink) -> None:
        match message:
            case RunTurn():
                await self._run_turn(message, sink)
            case _:
                raise UnhandledMessage(ctx.name, message, how="stream")

    async def receive(self, message: object, ctx: ActorContext) -> Any:
        core = self.core
        match message:
            case Inject(messages=messages):
                core.state.pending.extend(messages)
                for injected in messages:
                    core.events.emit_nowait(ContextInjected, text=injected.content, applied=False)
                if core.current is not None:
                    core.current.interrupt_for_context()
                return None
            case CancelTurn():
                return self._cancel_running()
            case Revise(messages=messages):
                if core.current is None:
                    return False
                core.current.revise(messages)
                return True
            case Clear():
                self._cancel_running()
                async with core.turn_lock:
                    core.state.entries.clear()
                    core.state.pending.clear()
                core.events.emit_nowait(SessionCleared)
                return None
            case Restore(state=state):
                self._cancel_running()
                async with core.turn_lock:
                    current = core.state
                    current.system_prompt = state.system_prompt
                    current.entries[:] = state.entries
                    current.pending[:] = state.pending
                return None
            case SetSystemPrompt(prompt=prompt):
                core.state.system_prompt = prompt
                return None
            case _:
                raise UnhandledMessage(ctx.name, message)

    def _cancel_running(self) -> bool:
        if self.core.current is None:
            return False
        self.core.current.scope.cancel()
        return True

    async def _run_turn(self, call: RunTurn, sink: StreamSink) -> None:
        core = self.core
        async with core.turn_lock:
            events = core.events
            spec = call.structured
            run = TurnRun(
                turn_id=call.turn_id,
                events=events.for_request(call.turn_id),
                start=len(core.state.entries),
                structured=StructuredProgress(spec=spec) if spec is not None else None,
            )
            core.current = run
            try:
                await run_turn(core.turn, call, run, sink)
            finally:
                core.current = None
