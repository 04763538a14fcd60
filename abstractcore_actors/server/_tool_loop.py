"""`ToolLoopTarget`: a target that runs the gateway's tools itself.

A chat request that names gateway tools (`{"type": "mcp", ...}`) gets the
final answer, not tool calls: the model is called with the tools, the calls
it asks for run (in parallel, each with its timeout, through
`run_tool_calls`, the path a session's tool calls take), their results go
back to it, and so on, up to `max_steps` model calls; the last of those may
not call tools (`tool_choice="none"`), so the answer is text. Each step's
tool calls are `tool.started` / `tool.completed` events of the request on
/v1/events.

The answer's text is that of every step (a model that says "let me look
that up" before its call is heard), streamed as it comes when the request
streams; tool-call pieces and the ends of intermediate steps are not sent,
as the client has nothing to run.
Usage and cost are those of every step together, for the client and for
budgets. What ran is on the answer (`server_tool_calls`; streamed, a chunk
after each step's calls), for the Responses format's `mcp_call` items.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import attrs
import trio

from .._providers._accumulate import Accumulator
from .._tools import ToolDefinition, run_tool_calls
from .._wire.openai_chat_request import ChatRequest
from ..events import Emitter
from ..types import (
    Chunk,
    Cost,
    GenerateResponse,
    Message,
    ServerToolCall,
    ToolCall,
    ToolResult,
    Usage,
)
from ._call import CallContext
from ._errors import bad_request
from ._routing import Target


@attrs.frozen
class ToolLoopTarget:
    inner: Target
    tools: Mapping[str, ToolDefinition[..., Any]]
    emitter: Emitter
    max_steps: int
    # each tool's listed name -> (its server, the server's own name for it)
    origins: Mapping[str, tuple[str, str]] = attrs.field(factory=dict)

    def _step_args(
        self, args: Mapping[str, Any], messages: list[Message], last: bool
    ) -> dict[str, Any]:
        specs = [t.spec for t in self.tools.values()]
        step = {**args, "messages": list(messages), "tools": specs}
        if last:  # tool rounds used up: the model must answer in text
            step["tool_choice"] = "none"
        return step

    async def _run_tools(
        self, messages: list[Message], content: str, calls: Sequence[ToolCall]
    ) -> tuple[ServerToolCall, ...]:
        """Run one step's calls; the next step's messages, and what ran."""
        results = await run_tool_calls(calls, self.tools, emitter=self.emitter, timeout=None)
        messages.append(Message.assistant(content, calls))
        messages.extend(Message.tool(r) for r in results)
        return tuple(
            self._record(call, result) for call, result in zip(calls, results, strict=True)
        )

    def _record(self, call: ToolCall, result: ToolResult) -> ServerToolCall:
        server, own = self.origins.get(call.name, ("", call.name))
        return ServerToolCall(
            id=call.id,
            server=server,
            name=own,
            arguments=call.raw_arguments,
            output=result.content if result.error is None else "",
            error=result.error,
        )

    async def generate(self, args: Mapping[str, Any], timeout: float | None) -> GenerateResponse:
        deadline = _deadline(timeout)
        messages = list(args["messages"])
        usage, cost, said = Usage(), _NO_COST, ""
        ran: tuple[ServerToolCall, ...] = ()
        for step in range(self.max_steps):
            last = step == self.max_steps - 1
            response = await self.inner.generate(
                self._step_args(args, messages, last), _left(deadline)
            )
            usage, cost = usage + response.usage, cost + (response.cost or _unknown())
            said += response.content  # what a stream would have shown, step by step
            if not response.tool_calls or last:
                finish = "stop" if response.finish_reason == "tool_calls" else None
                return attrs.evolve(
                    response,
                    content=said,
                    usage=usage,
                    cost=cost,
                    tool_calls=(),
                    finish_reason=finish or response.finish_reason,
                    server_tool_calls=ran,
                )
            ran += await self._run_tools(messages, response.content, response.tool_calls)
        raise AssertionError("unreachable: the last step returns")

    @asynccontextmanager
    async def stream(
        self, args: Mapping[str, Any], timeout: float | None
    ) -> AsyncIterator[AsyncIterator[Chunk]]:
        # The steps run in a task of their own, feeding a channel the caller
        # reads inside this block: each step's stream (and its timeout scope)
        # then opens and closes in one task, never across the caller's code.
        send, receive = trio.open_memory_channel[Chunk](0)
        loop = _LoopStream(receive)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._stream_steps, args, _deadline(timeout), send, loop)
            try:
                yield loop
            finally:
                nursery.cancel_scope.cancel()

    async def _stream_steps(
        self,
        args: Mapping[str, Any],
        deadline: float,
        send: trio.MemorySendChannel[Chunk],
        loop: _LoopStream,
    ) -> None:
        messages = list(args["messages"])
        usage = Usage()
        async with send:
            for step in range(self.max_steps):
                last = step == self.max_steps - 1
                answer = Accumulator()
                step_args = self._step_args(args, messages, last)
                async with self.inner.stream(step_args, _left(deadline)) as chunks:
                    try:
                        async for chunk in chunks:
                            answer.add(chunk)
                            if chunk.text:
                                await send.send(Chunk(text=chunk.text, logprobs=chunk.logprobs))
                    finally:  # a step cut short cost something too
                        cost = getattr(chunks, "cost", None)
                        loop.spent += cost() if cost is not None else _unknown()
                usage += answer.usage
                calls = answer.tool_calls()
                if not calls or last:
                    finish = answer.response().finish_reason or "stop"
                    end = "stop" if finish == "tool_calls" else finish
                    await send.send(Chunk(finish_reason=end, usage=usage))
                    return
                ran = await self._run_tools(messages, answer.text, calls)
                await send.send(Chunk(server_tool_calls=ran))


_NO_COST = Cost()


def _unknown() -> Cost:
    return Cost.unknown("a step of the tool loop")


def _deadline(timeout: float | None) -> float:
    return math.inf if timeout is None else trio.current_time() + timeout


def _left(deadline: float) -> float | None:
    if deadline == math.inf:
        return None
    return max(deadline - trio.current_time(), 0.001)


class _LoopStream:
    """The steps' chunks, as one stream that knows what it has cost so far."""

    def __init__(self, receive: trio.MemoryReceiveChannel[Chunk]) -> None:
        self._receive = receive
        self.spent = _NO_COST

    def __aiter__(self) -> _LoopStream:
        return self

    async def __anext__(self) -> Chunk:
        try:
            return await self._receive.receive()
        except trio.EndOfChannel:
            raise StopAsyncIteration from None

    def receive_nowait(self) -> Chunk:
        """A chunk already waiting, else WouldBlock (at the end too: the next
        `__anext__` then ends the stream)."""
        try:
            return self._receive.receive_nowait()
        except trio.EndOfChannel:
            raise trio.WouldBlock from None

    def cost(self) -> Cost:
        """What every step so far cost (the writer and budgets read it at the end)."""
        return self.spent


def with_gateway_tools(
    target: Target, request: ChatRequest, ctx: CallContext, session_id: str | None
) -> Target:
    """`target` running the gateway tools `request` names (its `{"type": "mcp"}`
    entries), for `ctx`'s key; HTTPError when it may not, or names none."""
    if not ctx.tools or ctx.events is None:
        raise bad_request(
            "this gateway has no MCP servers, so no mcp tools: its config names them "
            "([mcp.NAME] tables)",
            param="tools",
            code="no_tool_servers",
        )
    if request.args.get("tools"):
        raise bad_request(
            "a request uses the gateway's tools (type mcp) or its own function tools, not "
            "both: the gateway runs its tools to the final answer, and cannot hand yours back "
            "midway",
            param="tools",
        )
    if request.response_format is not None:
        raise bad_request(
            "response_format cannot be combined with the gateway's tools yet: ask for the "
            "JSON in a second request, with the tool results in its messages",
            param="response_format",
        )
    chosen = ctx.tools.resolve(request.mcp, ctx.key)
    request_id = str(request.args.get("request_id", ""))
    emitter = ctx.events.emitter(
        request_id, session_id=session_id, provider="gateway", model=request.model
    )
    return ToolLoopTarget(
        target,
        {name: definition for name, (_, _, definition) in chosen.items()},
        emitter,
        ctx.config.max_tool_steps,
        origins={name: (server, own) for name, (server, own, _) in chosen.items()},
    )
