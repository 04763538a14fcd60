"""The gateway's tools: the `[mcp.NAME]` servers of its config, running as
supervised client actors for as long as the gateway serves.

`GET /v1/tools` lists the tools a key may use, with their JSON schemas; a
chat request names a server (`{"type": "mcp", "server_label": NAME}`), and
`resolve` turns that into the tools the gateway's tool loop runs, refusing
what the key may not use (403) and names that do not exist (400).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import trio

from .._mcp import McpTools, serve_mcp_client
from .._tools import ToolDefinition
from .._wire.gateway_tools import McpToolRef
from ..errors import ConfigurationError
from ..runtime import Runtime
from ._config import GatewayConfig
from ._config_mcp import McpServerConfig
from ._errors import HTTPError
from ._keys import KeyPolicy

log = logging.getLogger("abstractcore_actors.server")


class GatewayTools:
    """Each configured server's current tools (they follow its list_changed)."""

    def __init__(self, servers: Mapping[str, tuple[McpServerConfig, McpTools]] | None = None):
        self._servers = dict(servers or {})

    def __bool__(self) -> bool:
        return bool(self._servers)

    def _entries(self, key: KeyPolicy | None) -> list[tuple[str, str, ToolDefinition[..., Any]]]:
        """(server, the server's own tool name, definition) of every tool `key`
        may use; a listed name two servers share goes to the first (logged)."""
        found: list[tuple[str, str, ToolDefinition[..., Any]]] = []
        seen: dict[str, str] = {}
        for name, (server, tools) in self._servers.items():
            for definition in tools:
                own = _own_name(server, definition)
                if key is not None and not key.allows_tool(name, own, definition.name):
                    continue
                if definition.name in seen:
                    log.warning(
                        "tool %s of MCP server %s is hidden by %s's tool of that name; "
                        "give one of them a prefix",
                        definition.name,
                        name,
                        seen[definition.name],
                    )
                    continue
                seen[definition.name] = name
                found.append((name, own, definition))
        return found

    def listing(self, key: KeyPolicy | None) -> dict[str, Any]:
        """GET /v1/tools: the tools `key` may use, as OpenAI function tools."""
        data = [
            {
                "type": "function",
                "function": {
                    "name": definition.name,
                    "description": definition.description,
                    "parameters": dict(definition.spec.parameters),
                },
                "server": server,
                "server_tool": own,
            }
            for server, own, definition in self._entries(key)
        ]
        return {"object": "list", "data": data}

    def resolve(
        self, refs: Sequence[McpToolRef], key: KeyPolicy | None
    ) -> dict[str, tuple[str, str, ToolDefinition[..., Any]]]:
        """The tools a request's `{"type": "mcp"}` entries name, by listed name:
        (server, the server's own name, definition)."""
        usable = self._entries(key)
        servers = sorted({server for server, _, _ in usable})
        chosen: dict[str, tuple[str, str, ToolDefinition[..., Any]]] = {}
        for ref in refs:
            if ref.server not in self._servers:
                offered = ", ".join(servers) or "none for this key"
                raise HTTPError(
                    400,
                    f"no MCP server {ref.server!r} in this gateway (servers: {offered}); "
                    "GET /v1/tools lists them",
                    code="unknown_tool_server",
                    param="tools",
                )
            mine = {own: d for server, own, d in usable if server == ref.server}
            wanted = ref.allowed if ref.allowed is not None else tuple(mine)
            for own in wanted:
                if own not in mine:
                    raise self._refusal(ref.server, own)
                chosen[mine[own].name] = (ref.server, own, mine[own])
            if not wanted:
                raise HTTPError(
                    403,
                    f"this key may use none of MCP server {ref.server!r}'s tools",
                    code="tool_not_allowed",
                    type="permission_error",
                )
        return chosen

    def _refusal(self, server: str, own: str) -> HTTPError:
        config, tools = self._servers[server]
        exists = any(_own_name(config, d) == own for d in tools)
        if exists:
            return HTTPError(
                403,
                f"this key may not use tool {own!r} of MCP server {server!r}",
                code="tool_not_allowed",
                type="permission_error",
            )
        return HTTPError(
            400,
            f"MCP server {server!r} has no tool {own!r}; GET /v1/tools lists its tools",
            code="unknown_tool",
            param="tools",
        )


def _own_name(server: McpServerConfig, definition: ToolDefinition[..., Any]) -> str:
    """The name the server itself gives a tool (its listed name less the prefix)."""
    return definition.name.removeprefix(server.prefix)


@asynccontextmanager
async def open_gateway_tools(rt: Runtime, config: GatewayConfig) -> AsyncIterator[GatewayTools]:
    """Start (or connect to) every `[mcp.NAME]` server at once, as supervised
    actors of `rt`, for the length of the block; ToolServerError when one
    does not start, ConfigurationError when two offer a tool of the same name."""
    if not config.mcp:
        yield GatewayTools()
        return
    running: dict[str, tuple[McpServerConfig, McpTools]] = {}
    async with trio.open_nursery() as nursery:

        async def run(server: McpServerConfig, task_status: trio.TaskStatus[McpTools]) -> None:
            async with serve_mcp_client(
                rt.actors, server.spec, prefix=server.prefix, timeout=server.timeout
            ) as tools:
                task_status.started(tools)
                await trio.sleep_forever()

        async def start(server: McpServerConfig) -> None:
            running[server.name] = (server, await nursery.start(run, server))

        async with trio.open_nursery() as starting:
            for server in config.mcp.values():
                starting.start_soon(start, server)
        ordered = {name: running[name] for name in config.mcp}
        clash = _clash(ordered)
        try:
            if clash is None:
                yield GatewayTools(ordered)
        finally:
            nursery.cancel_scope.cancel()
    if clash is not None:  # raised out here: the caller gets it bare, not in a group
        raise clash


def _clash(servers: Mapping[str, tuple[McpServerConfig, McpTools]]) -> ConfigurationError | None:
    owner: dict[str, str] = {}
    for name, (_, tools) in servers.items():
        for definition in tools:
            if definition.name in owner:
                return ConfigurationError(
                    f"[mcp.{name}] and [mcp.{owner[definition.name]}] both offer a tool named "
                    f'{definition.name!r}: give one of them a prefix (prefix = "{name}_")'
                )
            owner[definition.name] = name
    return None
