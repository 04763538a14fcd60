"""The per-session tool registry actor: which tools the model may call right now.

Messages (ask; each returns the new `ToolSet`, or raises `ValidationError`):

    SetTools(tools=[...])            replace every tool
    AddTools(tools=[...])            add tools (replace=True to redefine a name)
    RemoveTools(names=["a", "b"])    remove tools; all must exist, or none is removed
    GetTools()                       the current ToolSet

Every change makes a new, immutable `ToolSet`. A turn takes a snapshot with
`GetTools` and keeps it: a change made while it runs applies from the next
snapshot, so a model never sees a tool vanish between its call and the run.
Tools are checked (described, names unique) when a message is made, so a
bad tool fails in the sender's hands, not in the actor.
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from .._kernel import ActorContext, Behaviour
from ..errors import UnhandledMessage, ValidationError
from ..types import ToolSpec
from ._tool import ToolDefinition, coerce_tools

Tools = Mapping[str, ToolDefinition[..., Any]]


def _frozen_tools(tools: Iterable[object] | Tools) -> Tools:
    if isinstance(tools, Mapping):
        # Already {name: ToolDefinition} (from another ToolSet): check, then freeze.
        tools = list(tools.values())
    return types.MappingProxyType(coerce_tools(tools))


def _names(names: Iterable[str] | str) -> tuple[str, ...]:
    if isinstance(names, str):
        return (names,)  # one name, not its letters
    found = tuple(names)
    if not all(isinstance(name, str) for name in found):
        raise ValidationError(f"RemoveTools takes tool names (strings), not {found!r}")
    return found


@attrs.frozen(kw_only=True, eq=False)
class ToolSet:
    """An immutable snapshot of the available tools, in the order they were given."""

    tools: Tools = attrs.field(factory=dict, converter=_frozen_tools)

    @property
    def specs(self) -> tuple[ToolSpec, ...]:
        """What to send the model (`generate(tools=snapshot.specs)`)."""
        return tuple(definition.spec for definition in self.tools.values())

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.tools)

    def __len__(self) -> int:
        return len(self.tools)

    def __contains__(self, name: object) -> bool:
        return name in self.tools


@attrs.frozen(kw_only=True)
class SetTools:
    """Replace every tool with `tools` (functions or ToolDefinitions)."""

    tools: Tools = attrs.field(converter=_frozen_tools)


@attrs.frozen(kw_only=True)
class AddTools:
    """Add `tools`; a name already present is a ValidationError unless `replace`."""

    tools: Tools = attrs.field(converter=_frozen_tools)
    replace: bool = False


@attrs.frozen(kw_only=True)
class RemoveTools:
    """Remove the tools called `names`; all must exist, or nothing is removed."""

    names: tuple[str, ...] = attrs.field(converter=_names)


@attrs.frozen(kw_only=True)
class GetTools:
    """Ask for the current ToolSet."""


@attrs.frozen(kw_only=True)
class SyncSource:
    """A tool source (an MCP server) has these tools now: they replace the
    ones it gave before, leaving every other tool as it is."""

    source: str
    tools: Tools = attrs.field(converter=_frozen_tools)


class ToolRegistry(Behaviour):
    """Holds one session's current ToolSet. Spawn with `lambda: ToolRegistry(toolset)`.

    A restart (it should never crash: bad messages are reply errors) starts
    again from the tools it was made with.
    """

    reply_errors = (ValidationError,)

    def __init__(
        self,
        tools: ToolSet | Iterable[object] = (),
        sources: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        # Pass a ToolSet built beforehand to get a bad tool's ValidationError
        # in your own hands rather than as a failed spawn.
        self.current = tools if isinstance(tools, ToolSet) else ToolSet(tools=tools)
        self.sources = dict(sources or {})  # source -> the names of its tools now

    async def receive(self, message: object, ctx: ActorContext) -> ToolSet:
        match message:
            case GetTools():
                return self.current
            case SyncSource(source=source, tools=tools):
                kept = {
                    n: d
                    for n, d in self.current.tools.items()
                    if n not in self.sources.get(source, ())
                }
                # a tool of the session's own wins over a source's of the same name
                kept.update({n: d for n, d in tools.items() if n not in kept})
                self.sources[source] = tuple(n for n in tools if n in kept)
                self.current = ToolSet(tools=kept)
            case SetTools(tools=tools):
                self.current = ToolSet(tools=tools)
            case AddTools(tools=tools, replace=replace):
                clashes = [name for name in tools if name in self.current]
                if clashes and not replace:
                    raise ValidationError(
                        f"tools already available: {', '.join(clashes)}; pass "
                        "replace=True to redefine them, or set_tools([...])"
                    )
                merged: dict[str, ToolDefinition[..., Any]] = dict(self.current.tools)
                merged.update(tools)
                self.current = ToolSet(tools=merged)
            case RemoveTools(names=names):
                unknown = [name for name in names if name not in self.current]
                if unknown:
                    available = ", ".join(self.current.names) or "none"
                    raise ValidationError(
                        f"cannot remove unknown tool(s) {', '.join(map(repr, unknown))}; "
                        f"the available tools are: {available}"
                    )
                self.current = ToolSet(
                    tools={n: d for n, d in self.current.tools.items() if n not in names}
                )
            case _:
                raise UnhandledMessage(ctx.name, message)
        return self.current
