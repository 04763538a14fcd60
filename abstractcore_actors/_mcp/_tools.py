"""`McpTools`: an MCP server's tools as ordinary `ToolDefinition`s, kept
current: what `rt.mcp_tools(...)` yields.

Each tool's JSON schema is the server's (`ToolDefinition.from_schema`:
arguments are checked against it before a call is sent); calling one is a
`CallTool` message to the server's actor. Sessions given an `McpTools`
follow it: when the server's tool list changes, each session's registry
gets the new list, for its next model call (as `set_tools` would).

Results are data for the model: text parts joined, other parts described
(`[image: image/png, 1,234 bytes]`), structured content as JSON when there
is no text; at most `max_output` characters (the rest cut, and said so).
An error result (`isError`) is the tool's error, which the model reads.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

from .._kernel import ActorRef
from .._tools import SyncSource, ToolContext, ToolDefinition, ToolFailed
from ._client import CallTool, McpTool, ProgressCallback
from ._spec import McpServerSpec

_UNUSABLE = re.compile(r"[^A-Za-z0-9_-]")
# the keyword the runner passes a call's ToolContext as: not a name a JSON
# schema's property is likely to have, and popped before the call is sent
_CONTEXT = "__tool_context__"


class McpToolFailed(ToolFailed):
    """The server answered the call with an error result (its text is the
    message, which the model reads as it is)."""


class McpTools:
    """The current tools of one MCP server (iterate it, or `tools`)."""

    def __init__(self, spec: McpServerSpec, *, prefix: str = "", timeout: float | None = None):
        self.spec = spec
        self.prefix = prefix
        self.timeout = timeout
        # how registries tell its tools from others (no process-wide counter)
        self.source = f"mcp-{uuid.uuid4().hex[:16]}"
        self._ref: ActorRef | None = None
        self._definitions: dict[str, ToolDefinition[..., Any]] = {}
        self._followers: list[ActorRef] = []
        self.version = 0  # moves each time the server's list is read

    def __repr__(self) -> str:
        return f"<McpTools {self.spec.label}: {', '.join(self._definitions) or 'no tools'}>"

    @property
    def tools(self) -> tuple[ToolDefinition[..., Any], ...]:
        return tuple(self._definitions.values())

    def __iter__(self) -> Iterator[ToolDefinition[..., Any]]:
        return iter(self.tools)

    def __len__(self) -> int:
        return len(self._definitions)

    def attach(self, ref: ActorRef) -> None:
        self._ref = ref

    def follow(self, registry: ActorRef) -> None:
        """Send `registry` this server's tools whenever they change."""
        self._followers.append(registry)

    def update(self, tools: tuple[McpTool, ...]) -> None:
        """The server's list, (re)read: new definitions, and every follower told."""
        self._definitions = {}
        for tool in tools:
            definition = self._define(tool)
            self._definitions[definition.name] = definition
        self.version += 1
        for registry in list(self._followers):
            try:
                registry.tell_nowait(SyncSource(source=self.source, tools=self.tools))
            except Exception:  # its session ended (mailbox closed) or is swamped
                self._followers.remove(registry)

    async def call(
        self, name: str, arguments: dict[str, Any], *, context: ToolContext | None = None
    ) -> str:
        """Call the server's tool `name` (its own name); the result as text.
        With a `context`, the server's progress notifications are its
        `progress(...)` reports (ToolProgress events of the call)."""
        assert self._ref is not None, "McpTools is used inside rt.mcp_tools(...)"
        relay = None if context is None else _progress_relay(context)
        result = await self._ref.ask(CallTool(name=name, arguments=arguments, on_progress=relay))
        text = result_text(result, self.spec.max_output)
        if result.is_error:
            raise McpToolFailed(text or "the tool failed without saying why")
        return text

    def _define(self, tool: McpTool) -> ToolDefinition[..., Any]:
        name = _UNUSABLE.sub("_", f"{self.prefix}{tool.name}")[:64] or "tool"
        original = tool.name

        async def run(**arguments: Any) -> str:
            context = arguments.pop(_CONTEXT)
            return await self.call(original, arguments, context=context)

        return ToolDefinition.from_schema(
            run,
            name=name,
            description=tool.description,
            parameters=tool.input_schema,
            timeout=self.timeout,
            context_parameter=_CONTEXT,
        )


def _progress_relay(context: ToolContext) -> ProgressCallback:
    async def relay(progress: float, total: float | None, message: str | None) -> None:
        fraction = min(max(progress / total, 0.0), 1.0) if total else None
        context.progress(message or "", fraction=fraction)

    return relay


def result_text(result: Any, limit: int) -> str:
    """A CallToolResult as text for the model (see the module docstring)."""
    parts: list[str] = []
    for block in result.content or ():
        kind = getattr(block, "type", "")
        if kind == "text":
            parts.append(block.text)
        elif kind in ("image", "audio"):
            size = len(getattr(block, "data", "") or "") * 3 // 4
            parts.append(f"[{kind}: {getattr(block, 'mime_type', '?')}, {size:,} bytes]")
        elif kind == "resource":
            resource = block.resource
            parts.append(getattr(resource, "text", None) or f"[resource: {resource.uri}]")
        elif kind == "resource_link":
            parts.append(f"[resource: {block.uri}]")
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False, default=str))
    text = "\n".join(parts)
    if len(text) > limit:
        text = f"{text[:limit]}\n[cut: {len(text) - limit:,} more characters]"
    return text
