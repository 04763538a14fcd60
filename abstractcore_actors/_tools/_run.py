"""Run the tool calls of one model turn: all at once, each with a timeout, results in order.

Whatever a tool does — raise, hang past its timeout, return something JSON
cannot carry — and whatever the model sent — an unknown name, malformed
JSON, arguments that break the schema — the call becomes a `ToolResult`
whose `error` tells the model what went wrong, so the model can try again.
Only the caller's own cancellation leaves `run_tool_calls` as an exception.
"""

from __future__ import annotations

import enum
import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import trio

from .. import _json_depth
from ..events import CallCancelled, Emitter, ErrorOccurred, Event, ToolCompleted, ToolStarted
from ..types import ToolCall, ToolResult
from ._arguments import ArgumentsRejected
from ._context import ToolContext
from ._tool import ToolDefinition, check_timeout

# How much of malformed argument text to quote back to the model.
_QUOTE = 200


async def run_tool_calls(
    calls: Sequence[ToolCall],
    tools: Mapping[str, ToolDefinition[..., Any]],
    *,
    emitter: Emitter | None = None,
    timeout: float | None = 30.0,
) -> list[ToolResult]:
    """Run `calls` concurrently and return one `ToolResult` per call, in call order.

    Async tools run in this task's nursery; sync tools run in worker threads
    (`trio.to_thread.run_sync`, never abandoned: no thread outlives this
    call). Each call is limited by its tool's `timeout`, else by `timeout`
    here (None: no limit).

    Failures never raise: an unknown tool, invalid arguments, a raising
    tool, a timeout or an unserialisable return value become a result with
    `error` set. With an `emitter`, each call emits ToolStarted, any
    ToolProgress, ErrorOccurred(source="tool") on failure, then ToolCompleted.

    Cancel: if the caller is cancelled, every running tool is cancelled, a
    `CallCancelled(source="tool")` event is emitted for each unfinished call, and
    `trio.Cancelled` propagates once every task and thread has ended. A sync
    tool sees the cancel (or its timeout) only when it returns or when it
    calls `trio.from_thread.check_cancelled()`, which long loops should do.
    """
    check_timeout(timeout, "run_tool_calls")
    runs = [
        _CallRun(call=call, tools=tools, emitter=emitter, default_timeout=timeout) for call in calls
    ]
    try:
        async with trio.open_nursery() as nursery:
            for run in runs:
                nursery.start_soon(run.run)
    except BaseExceptionGroup as group:
        # Each running call was cancelled with the caller: the caller expects
        # the one Cancelled it caused, not a group of them.
        cancels, rest = group.split(trio.Cancelled)
        if rest is None and cancels is not None:
            raise _first_leaf(cancels) from None
        raise
    return [run.finished_result() for run in runs]


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


class ToolFailed(Exception):
    """Raise it from a tool to tell the model exactly why it failed (and what
    to do): its result's error is `tool NAME failed: <message>`, without the
    exception's type, which other exceptions show."""


@attrs.frozen
class _Outcome:
    content: str = ""
    error: str | None = None
    error_type: str = ""


@attrs.define(eq=False, kw_only=True)
class _CallRun:
    """One call's run: its events, its timeout, its result."""

    call: ToolCall
    tools: Mapping[str, ToolDefinition[..., Any]]
    emitter: Emitter | None
    default_timeout: float | None
    result: ToolResult | None = None
    _completed: bool = False  # ToolCompleted sent: no CallCancelled event after it

    async def run(self) -> None:
        call = self.call
        started = trio.current_time()
        try:
            await self._emit(
                ToolStarted, call_id=call.id, tool=call.name, arguments=dict(call.arguments)
            )
            outcome = await self._execute()
            self.result = ToolResult(
                call_id=call.id, name=call.name, content=outcome.content, error=outcome.error
            )
            if outcome.error is not None:
                await self._emit(
                    ErrorOccurred,
                    source="tool",
                    error_type=outcome.error_type,
                    message=outcome.error,
                )
            await self._emit(
                ToolCompleted,
                call_id=call.id,
                tool=call.name,
                ok=outcome.error is None,
                error=outcome.error,
                duration=trio.current_time() - started,
            )
            self._completed = True
        except trio.Cancelled:
            if self.emitter is not None and not self._completed:
                self.emitter.emit_nowait(
                    CallCancelled,
                    source="tool",
                    reason=f"tool {call.name} (call {call.id}) was cancelled before it finished",
                )
            raise

    def finished_result(self) -> ToolResult:
        if self.result is None:  # every run sets it unless cancelled, which raised
            raise RuntimeError(f"tool call {self.call.id} ended without a result")
        return self.result

    async def _emit(self, kind: type[Event], **fields: Any) -> None:
        if self.emitter is not None:
            await self.emitter.emit(kind, **fields)

    async def _execute(self) -> _Outcome:
        call = self.call
        definition = self.tools.get(call.name)
        if definition is None:
            available = ", ".join(self.tools) or "none"
            return _Outcome(
                error=f"unknown tool {call.name!r}; the available tools are: {available}. "
                "Call one of those by its exact name.",
                error_type="UnknownTool",
            )
        if not call.arguments_are_valid_json:
            return _Outcome(error=_malformed(call), error_type="InvalidArguments")
        try:
            kwargs = definition.convert_arguments(call.arguments)
        except ArgumentsRejected as exc:
            return _Outcome(error=str(exc), error_type="InvalidArguments")
        return await self._invoke(definition, kwargs)

    async def _invoke(
        self, definition: ToolDefinition[..., Any], kwargs: dict[str, Any]
    ) -> _Outcome:
        name = definition.name
        context: ToolContext | None = None
        if definition.shape.context_parameter is not None:
            context = ToolContext(
                call_id=self.call.id,
                tool=name,
                emitter=self.emitter,
                token=trio.lowlevel.current_trio_token(),
            )
            kwargs[definition.shape.context_parameter] = context
        limit = definition.timeout if definition.timeout is not None else self.default_timeout
        with trio.move_on_after(limit if limit is not None else float("inf")) as scope:
            try:
                if definition.is_async:
                    value = await definition.function(**kwargs)
                else:
                    # Not abandoned on cancel: a thread we cannot stop must
                    # not outlive the call (it may hold files, sockets, locks).
                    value = await trio.to_thread.run_sync(
                        functools.partial(definition.function, **kwargs),
                        thread_name=f"tool {name}",
                        abandon_on_cancel=False,
                    )
            except Exception as exc:
                said = str(exc) if isinstance(exc, ToolFailed) else f"{type(exc).__name__}: {exc}"
                return _Outcome(error=f"tool {name} failed: {said}", error_type=type(exc).__name__)
            finally:
                if context is not None:
                    context.finished = True
        # `cancel_called`, not only `cancelled_caught`: a sync tool that
        # returns after its deadline without checking is late all the same.
        if scope.cancelled_caught or scope.cancel_called:
            return _Outcome(
                error=f"tool {name} timed out after {limit:g} s and was stopped; "
                "try a smaller request, or do without this tool",
                error_type="ToolTimeout",
            )
        try:
            return _Outcome(content=result_text(value))
        except Exception as exc:
            return _Outcome(
                error=f"tool {name} returned a value that cannot be sent as JSON "
                f"({type(exc).__name__}: {exc})",
                error_type="UnserialisableResult",
            )


def _malformed(call: ToolCall) -> str:
    raw = call.raw_arguments
    try:
        _json_depth.loads(raw)
        problem = "they are JSON, but not an object"
    except _json_depth.TooDeep as exc:
        problem = str(exc)
    except json.JSONDecodeError as exc:
        problem = f"{exc.msg} at character {exc.pos}"
    quoted = raw if len(raw) <= _QUOTE else raw[:_QUOTE] + "..."
    return (
        f"the arguments for tool {call.name} are not a valid JSON object ({problem}): "
        f"{quoted!r}. Send the arguments as one JSON object matching the tool's schema."
    )


def result_text(value: object) -> str:
    """A tool's return value as the text the model reads.

    str as is; anything else as JSON, with attrs instances as objects, enums
    as their values, sets as arrays and other objects as `str(obj)`.
    Raises TypeError/ValueError for what JSON cannot carry (circular data,
    non-string keys).
    """
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=_json_default)


def _json_default(value: object) -> object:
    if attrs.has(type(value)):
        return attrs.asdict(value, recurse=False)  # type: ignore[arg-type]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return list(value)
    return str(value)
