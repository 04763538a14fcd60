"""One turn of a session: model → tools in parallel → model …, with intervention.

A `TurnRun` is the running turn's state, shared with the session actor's
other handlers (they run in the same trio thread), which intervene by
setting a field and cancelling a scope:

- inject: queued in `SessionState.pending`; applied at the top of the loop
  (before every model call). If a model call is streaming, its step scope
  is cancelled: the partial answer stays in history ("interrupted") and the
  loop continues with the injected context. During tools, it waits for them.
- revise: `revision` set and the current step (model call or tools)
  cancelled; the loop rolls the turn back to its start and reruns it with
  the new prompt (context injected during the turn is kept).
- cancel: the whole turn's scope is cancelled; the partial answer and
  "cancelled" results for unanswered tool calls are kept, so the history
  stays valid for the next call.

Applying queued context is synchronous (no checkpoint), so an injection is
applied exactly once, and in order.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs
import trio

from .._kernel import ActorRef, StreamSink
from .._providers import LLM, ResponseStream
from .._tools import GetTools, ToolSet, run_tool_calls
from ..events import CallCancelled, ContextInjected, Emitter, ErrorOccurred
from ..types import GenerateResponse, Message, Timings, ToolCall, ToolResult, Usage
from ._protocol import RunTurn, TurnEnded
from ._state import Entry, SessionState
from ._structured_turn import StructuredProgress

Phase = Literal["idle", "model", "tools"]


@attrs.define(eq=False)
class TurnRun:
    """The running turn, as the session actor's handlers see it."""

    turn_id: str
    events: Emitter
    start: int  # index of the turn's first entry in the history
    scope: trio.CancelScope = attrs.field(factory=trio.CancelScope)
    phase: Phase = "idle"
    step_scope: trio.CancelScope | None = None
    revision: tuple[Message, ...] | None = None
    live: ResponseStream | None = None  # the model call streaming now
    unanswered: tuple[ToolCall, ...] = ()  # tool calls running now
    usage: Usage = attrs.field(factory=Usage)
    started_at: float = attrs.field(factory=trio.current_time)
    ttft: float | None = None
    content: str = ""
    finish_reason: str | None = None
    structured: StructuredProgress | None = None  # a structured turn's attempts

    def interrupt_for_context(self) -> None:
        """New context arrived: stop a streaming model call (tools run on)."""
        if self.phase == "model" and self.step_scope is not None:
            self.step_scope.cancel()

    def revise(self, messages: tuple[Message, ...]) -> None:
        self.revision = messages
        if self.step_scope is not None:
            self.step_scope.cancel()


@attrs.define(eq=False)
class TurnContext:
    """What a turn needs from its session."""

    state: SessionState
    llm: LLM
    tools: ActorRef
    max_iterations: int
    tool_timeout: float | None
    options: dict[str, Any]


async def run_turn(ctx: TurnContext, call: RunTurn, run: TurnRun, sink: StreamSink) -> None:
    """Run the turn to its end and send `TurnEnded`; see the module docstring.

    A provider error rolls the turn back (the history is as before it, and
    context injected during it is queued again) and is raised to the caller.
    """
    state = ctx.state
    _apply_pending(state, run)  # context queued between turns comes first
    state.entries.extend(Entry(message=m) for m in call.messages)
    try:
        with run.scope:
            await _loop(ctx, call, run, sink)
    except BaseException as exc:
        if _is_cancel(exc):  # the caller left (or the actor is stopping)
            _end_cancelled(state, run, "the caller left")
        else:
            _roll_back_failed(state, run)
            run.events.emit_nowait(
                ErrorOccurred,
                source="session",
                error_type=type(exc).__name__,
                message=f"the turn failed and was rolled back: {exc}",
            )
        raise
    if run.scope.cancelled_caught:
        _end_cancelled(state, run, "Session.cancel()")
        run.finish_reason = "cancelled"
    result = run.structured.result if run.structured is not None else None
    await sink.send(TurnEnded(response=_response(ctx, run), structured=result))


async def _loop(ctx: TurnContext, call: RunTurn, run: TurnRun, sink: StreamSink) -> None:
    state = ctx.state
    tool_rounds = 0
    while True:
        if run.revision is not None:
            _roll_back_for_revision(state, run)
            tool_rounds = 0
            if run.structured is not None:
                run.structured.restart()
        _apply_pending(state, run)
        toolset: ToolSet = await ctx.tools.ask(GetTools())
        if run.revision is not None:
            continue  # revised while we fetched the tools
        _apply_pending(state, run)  # context that came while we fetched them
        if tool_rounds >= ctx.max_iterations:
            toolset = ToolSet()  # tool rounds used up: the model must answer in text
        answer = await _model_step(ctx, call, run, toolset, sink)
        if answer is None:
            continue  # interrupted: for new context or a revision
        wants_tools = bool(answer.tool_calls) and tool_rounds < ctx.max_iterations
        by_tool = run.structured is not None and run.structured.answers_by_tool
        if by_tool:
            wants_tools = False
        if wants_tools:
            state.entries.append(
                Entry(message=Message.assistant(answer.content, answer.tool_calls))
            )
            tool_rounds += 1
            results = await _tools_step(ctx, run, toolset, answer.tool_calls)
            if results is not None:
                state.entries.extend(Entry(message=Message.tool(r)) for r in results)
            continue
        content = answer.content
        if run.structured is not None:
            fitted = run.structured.judge(answer)  # raises when no attempt is left
            if fitted is None:
                continue  # asked again, with the problems: see sessions/_structured_turn.py
            content = fitted
        state.entries.append(Entry(message=Message.assistant(content)))
        run.content = content
        if state.pending or run.revision is not None:
            continue  # context that came as the answer ended joins this turn
        if by_tool or not answer.tool_calls:
            run.finish_reason = answer.finish_reason if not by_tool else "stop"
        else:
            run.finish_reason = "max_iterations"
        return


async def _model_step(
    ctx: TurnContext, call: RunTurn, run: TurnRun, toolset: ToolSet, sink: StreamSink
) -> GenerateResponse | None:
    """One streamed model call; None when it was interrupted (partial kept)."""
    request = ctx.llm.request(
        messages=ctx.state.messages(),
        tools=toolset.specs or None,
        session_id=ctx.state.session_id,
        **{**ctx.options, **call.options},
    )
    if run.structured is not None:
        request = run.structured.shape(request, tools_offered=bool(toolset.specs))
    run.content = ""
    stream: ResponseStream | None = None
    with trio.CancelScope() as scope:
        run.step_scope, run.phase = scope, "model"
        try:
            async with ctx.llm.stream_request(request, timeout=call.timeout) as stream:
                run.live = stream
                async for chunk in stream:
                    if chunk.text or chunk.tool_calls:
                        if run.ttft is None:
                            run.ttft = trio.current_time() - run.started_at
                        await sink.send(chunk)
        finally:
            run.step_scope, run.phase = None, "idle"
    run.live = None
    if stream is None:  # interrupted before the call started
        return None
    answer = stream.response()
    run.usage += answer.usage
    if scope.cancelled_caught:
        if run.revision is None and answer.content:
            state = ctx.state
            state.entries.append(
                Entry(message=Message.assistant(answer.content), status="interrupted")
            )
        return None
    return answer


async def _tools_step(
    ctx: TurnContext, run: TurnRun, toolset: ToolSet, calls: tuple[ToolCall, ...]
) -> list[ToolResult] | None:
    """Run the model's tool calls; None when a revision cancelled them."""
    with trio.CancelScope() as scope:
        run.step_scope, run.phase, run.unanswered = scope, "tools", calls
        try:
            results = await run_tool_calls(
                calls, toolset.tools, emitter=run.events, timeout=ctx.tool_timeout
            )
        finally:
            run.step_scope, run.phase = None, "idle"
    if scope.cancelled_caught:
        return None  # the turn is rolled back: its tool calls go with it
    run.unanswered = ()
    return results


def _is_cancel(exc: BaseException) -> bool:
    if isinstance(exc, BaseExceptionGroup):
        return exc.subgroup(trio.Cancelled) is not None
    return isinstance(exc, trio.Cancelled)


def _apply_pending(state: SessionState, run: TurnRun) -> None:
    """Move queued context into the turn: synchronous, so exactly once and in order."""
    if not state.pending:
        return
    arrived, state.pending[:] = list(state.pending), []
    state.entries.extend(Entry(message=m, status="injected") for m in arrived)
    for message in arrived:
        run.events.emit_nowait(ContextInjected, text=message.content, applied=True)


def _roll_back_for_revision(state: SessionState, run: TurnRun) -> None:
    assert run.revision is not None
    injected = [e for e in state.entries[run.start :] if e.status == "injected"]
    state.entries[run.start :] = [Entry(message=m) for m in run.revision] + injected
    run.revision = None
    run.unanswered = ()


def _roll_back_failed(state: SessionState, run: TurnRun) -> None:
    injected = [e.message for e in state.entries[run.start :] if e.status == "injected"]
    del state.entries[run.start :]
    state.pending[:0] = injected  # never lost: they join the next turn


def _end_cancelled(state: SessionState, run: TurnRun, reason: str) -> None:
    """A turn ends early: keep what was said, answer unanswered tool calls
    (both marked "cancelled"), and report it."""
    status: Literal["cancelled"] = "cancelled"
    if run.live is not None:
        partial = run.live.text
        run.live = None
        if partial:
            state.entries.append(Entry(message=Message.assistant(partial), status=status))
            run.content = partial
    for tool_call in run.unanswered:
        result = ToolResult(
            call_id=tool_call.id, name=tool_call.name, content="", error="cancelled"
        )
        state.entries.append(Entry(message=Message.tool(result), status=status))
    run.unanswered = ()
    run.events.emit_nowait(CallCancelled, source="session", reason=reason, partial_text=run.content)


def _response(ctx: TurnContext, run: TurnRun) -> GenerateResponse:
    return GenerateResponse(
        content=run.content,
        finish_reason=run.finish_reason,
        usage=run.usage,
        model=ctx.llm.model,
        provider=ctx.llm.provider,
        timings=Timings(ttft=run.ttft, total=trio.current_time() - run.started_at),
        request_id=run.turn_id,
    )
