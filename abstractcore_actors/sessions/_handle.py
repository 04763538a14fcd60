"""`Session`: the handle a user holds on a session actor (and its tool registry)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from os import PathLike
from typing import Any, final, overload

import trio

from .._kernel import ActorRef
from .._providers import LLM
from .._structured import ModeChoice, StructuredResult, check_attempts, pick_mode
from .._structured import response_model as describe
from .._tools import AddTools, GetTools, RemoveTools, SetTools, ToolSet
from ..errors import ValidationError
from ..events import ToolsChanged
from ..types import Chunk, GenerateResponse, Message
from ._actor import SessionCore
from ._protocol import (
    CancelTurn,
    Clear,
    Inject,
    Restore,
    Revise,
    RunTurn,
    SetSystemPrompt,
    TurnEnded,
)
from ._state import Entry, SessionState
from ._structured_turn import StructuredTurn

_TURN_BUFFER = 8

Prompt = str | Sequence[Message | Mapping[str, Any]]


def _as_messages(value: Prompt | None, what: str) -> tuple[Message, ...]:
    if isinstance(value, str):
        if not value:
            raise ValidationError(f"{what} is empty: pass some text or messages")
        return (Message.user(value),)
    if value is None:
        raise ValidationError(f"{what} is missing: pass some text or messages")
    messages = tuple(Message.coerce(m) for m in value)
    if not messages:
        raise ValidationError(f"{what} is empty: pass some text or messages")
    return messages


@final
class TurnStream:
    """A turn's chunks as they arrive (across every model call of the turn).

    After the end, `response()` is the turn's answer: the final content,
    usage summed over all its model calls, `finish_reason` ("stop",
    "length", "max_iterations", or "cancelled").
    """

    def __init__(self, items: AsyncIterator[Any], turn_id: str) -> None:
        self._items = items
        self.turn_id = turn_id
        self._parts: list[str] = []
        self._end: GenerateResponse | None = None
        self._structured: StructuredResult[Any] | None = None

    def __aiter__(self) -> TurnStream:
        return self

    async def __anext__(self) -> Chunk:
        item = await self._items.__anext__()
        if isinstance(item, TurnEnded):
            self._end = item.response
            self._structured = item.structured
            raise StopAsyncIteration
        if item.text:
            self._parts.append(item.text)
        chunk: Chunk = item
        return chunk

    @property
    def text(self) -> str:
        """Every piece of text streamed in this turn so far."""
        return "".join(self._parts)

    @property
    def cancelled(self) -> bool:
        return self._end is not None and self._end.finish_reason == "cancelled"

    def response(self) -> GenerateResponse:
        """The turn's answer; raises until the stream has ended."""
        if self._end is None:
            raise ValidationError(
                "the turn has not ended: read the stream to its end before response()"
            )
        return self._end

    def structured(self) -> StructuredResult[Any]:
        """A structured turn's validated result (`stream(..., response_model=M)`);
        raises until the stream has ended, or when the turn was not structured
        (or was cancelled before a valid answer)."""
        self.response()
        if self._structured is None:
            raise ValidationError(
                "this turn has no structured result: pass response_model= to stream(), "
                "and read the stream to its end (a cancelled turn has none)"
            )
        return self._structured


@final
class Session:
    """A conversation served by a supervised session actor. Made by `Runtime.session`.

    Turns run one at a time, in order. Every intervention method may be
    called from any task while a turn streams; see docs/sessions.md.
    """

    def __init__(self, ref: ActorRef, tools: ActorRef, core: SessionCore, llm: LLM) -> None:
        self._ref = ref
        self._tools = tools
        self._core = core
        self.llm = llm

    def __repr__(self) -> str:
        return f"<Session {self.id} {self.llm.provider}/{self.llm.model} turns={self.turns}>"

    @property
    def id(self) -> str:
        return self._core.state.session_id

    @property
    def actor(self) -> ActorRef:
        return self._ref

    @property
    def history(self) -> tuple[Message, ...]:
        """The conversation so far (without the system prompt)."""
        return tuple(entry.message for entry in self._core.state.entries)

    @property
    def entries(self) -> tuple[Entry, ...]:
        """The history with each message's status (complete, injected, interrupted, cancelled)."""
        return tuple(self._core.state.entries)

    @property
    def pending(self) -> tuple[Message, ...]:
        """Injected context not yet part of a turn."""
        return tuple(self._core.state.pending)

    @property
    def system_prompt(self) -> str | None:
        return self._core.state.system_prompt

    @property
    def turns(self) -> int:
        return sum(
            1
            for e in self._core.state.entries
            if e.message.role == "user" and e.status != "injected"
        )

    @property
    def running(self) -> bool:
        """Whether a turn is running now."""
        return self._core.current is not None

    # -- turns ------------------------------------------------------------

    @overload
    async def generate(
        self,
        prompt: Prompt,
        *,
        timeout: float | None = None,
        response_model: None = None,
        **options: Any,
    ) -> GenerateResponse: ...

    @overload
    async def generate(
        self,
        prompt: Prompt,
        *,
        timeout: float | None = None,
        response_model: Any,
        max_attempts: int = 3,
        mode: ModeChoice = "auto",
        **options: Any,
    ) -> StructuredResult[Any]: ...

    async def generate(
        self,
        prompt: Prompt,
        *,
        timeout: float | None = None,
        response_model: Any = None,
        **options: Any,
    ) -> GenerateResponse | StructuredResult[Any]:
        """Run one turn and return its answer (see `stream` for the details).

        With `response_model=M` (an attrs class, dataclass, pydantic model or
        JSON schema dict; see docs/structured.md) the turn's final answer must
        fit M: it returns the `StructuredResult` (`.value` the instance) and
        the history keeps the answer as JSON text. An answer that does not fit
        is retried inside the turn with the problems as feedback, up to
        `max_attempts` (default 3) answers; failed answers never enter the
        history. Raises StructuredOutputError when none fits (the turn is
        rolled back), ValidationError for a model with no JSON schema.
        """
        async with self.stream(
            prompt, timeout=timeout, response_model=response_model, **options
        ) as turn:
            async for _ in turn:
                pass
        if response_model is not None:
            return turn.structured()
        return turn.response()

    @asynccontextmanager
    async def stream(
        self,
        prompt: Prompt,
        *,
        timeout: float | None = None,
        response_model: Any = None,
        max_attempts: int = 3,
        mode: ModeChoice = "auto",
        **options: Any,
    ) -> AsyncIterator[TurnStream]:
        """Run one turn, streaming: `async with s.stream("Hi") as turn: async for c in turn:`.

        The model's tool calls run in parallel and the loop goes on until an
        answer without tool calls (or `max_iterations` tool rounds).
        `timeout` bounds each model call; `options` (temperature,
        max_tokens, …) apply to this turn's model calls. Leaving the block
        early cancels the turn (its partial answer is kept, marked
        cancelled). A provider error is raised and leaves the history as it
        was before the turn.

        `response_model=M` makes it a structured turn (see `generate`); the
        chunks are the raw answers as they stream (a retried answer streams
        again), and `turn.structured()` is the validated result at the end.
        """
        messages = _as_messages(prompt, "the prompt")
        turn_id = f"turn_{uuid.uuid4().hex[:16]}"
        structured = None
        if response_model is not None:
            check_attempts(max_attempts)
            structured = StructuredTurn(
                model=describe(response_model),
                mode=pick_mode(self.llm, mode),
                max_attempts=max_attempts,
            )
        call = RunTurn(
            turn_id=turn_id,
            messages=messages,
            options=options,
            timeout=timeout,
            structured=structured,
        )
        async with self._ref.stream(call, buffer=_TURN_BUFFER) as items:
            yield TurnStream(items, turn_id)

    # -- intervention -------------------------------------------------------

    async def inject(self, context: Prompt) -> None:
        """Add context to the running turn at its next safe point, else to the next turn.

        A streaming answer is stopped (what it said so far stays in the
        history) and the turn continues with the context; during tool calls
        it joins before the next model call. Returns once queued. Each
        injection is applied exactly once, in the order of the calls.
        """
        await self._ref.ask(Inject(messages=_as_messages(context, "the injected context")))

    async def revise(self, prompt: Prompt) -> bool:
        """Replace the running turn's prompt and restart it, as one operation.

        The turn's partial answer and tool results are dropped (context
        injected into it is kept); the stream you are reading continues with
        the new answer. Returns False, changing nothing, when no turn runs.
        """
        revised: bool = await self._ref.ask(Revise(messages=_as_messages(prompt, "the prompt")))
        return revised

    async def cancel(self) -> bool:
        """End the running turn now; returns whether one was running.

        Its stream ends normally with `finish_reason == "cancelled"`; the
        partial answer stays in the history, marked cancelled.
        """
        cancelled: bool = await self._ref.ask(CancelTurn())
        return cancelled

    async def set_system_prompt(self, prompt: str | None) -> None:
        """Use a new system prompt from the next model call on (also mid-turn)."""
        await self._ref.ask(SetSystemPrompt(prompt=prompt))

    # -- tools --------------------------------------------------------------

    async def tools(self) -> ToolSet:
        """The tools the model is offered now."""
        toolset: ToolSet = await self._tools.ask(GetTools())
        return toolset

    async def set_tools(self, tools: Iterable[object]) -> None:
        """Offer exactly `tools` from the next model call on (also mid-turn)."""
        await self._change_tools(SetTools(tools=list(tools)))

    async def add_tool(self, *tools: object, replace: bool = False) -> None:
        """Offer more tools from the next model call on; a taken name is an error
        unless `replace`."""
        await self._change_tools(AddTools(tools=list(tools), replace=replace))

    async def remove_tool(self, *names: str) -> None:
        """Stop offering the tools called `names` from the next model call on.

        All or nothing: an unknown name raises ValidationError and removes none."""
        await self._change_tools(RemoveTools(names=names))

    async def _change_tools(self, change: object) -> None:
        toolset: ToolSet = await self._tools.ask(change)  # the registry answers the new set
        self._core.events.emit_nowait(ToolsChanged, tools=toolset.names)

    # -- state ----------------------------------------------------------------

    async def clear(self) -> None:
        """Forget the history and queued context (a running turn is cancelled first)."""
        await self._ref.ask(Clear())

    async def save(self, path: str | PathLike[str]) -> None:
        """Write the session (system prompt, history with statuses, queued
        context) to `path` as versioned JSON. Tools are code: pass them again
        when loading."""
        await trio.Path(path).write_text(self._core.state.to_json(), encoding="utf-8")

    async def load(self, path: str | PathLike[str]) -> None:
        """Replace this session's state with one saved by `save` (a running turn
        is cancelled first). Raises ValidationError for a file that is not a
        saved session or is of an unknown version."""
        text = await trio.Path(path).read_text(encoding="utf-8")
        state = SessionState.from_json(text, source=str(path))
        await self._ref.ask(Restore(state=state))

    async def close(self) -> None:
        """Stop the session's actors (a running turn is cancelled)."""
        if self._ref.alive:
            await self.cancel()
        await self._ref.stop()
        await self._tools.stop()
