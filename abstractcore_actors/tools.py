"""Tools: `@tool` turns a function into a tool a model can call (its schema from
the type hints and docstring); `run_tool_calls` runs a turn's calls
concurrently, each with its timeout; `ToolFailed`, what a tool raises to
tell the model exactly why it failed; `McpTools`, an MCP server's tools
(`rt.mcp_tools(...)`), and `McpToolFailed`, what one of them raises when the
server answers with an error; `ToolRegistry` and its messages (`GetTools`,
`SetTools`, `AddTools`, `RemoveTools`, answered with a `ToolSet`), the actor
that holds a session's tools. See docs/tools.md.
"""

from ._mcp import McpToolFailed as McpToolFailed
from ._mcp import McpTools as McpTools
from ._tools import AddTools as AddTools
from ._tools import ArgumentsRejected as ArgumentsRejected
from ._tools import GetTools as GetTools
from ._tools import RemoveTools as RemoveTools
from ._tools import SetTools as SetTools
from ._tools import ToolContext as ToolContext
from ._tools import ToolDefinition as ToolDefinition
from ._tools import ToolFailed as ToolFailed
from ._tools import ToolRegistry as ToolRegistry
from ._tools import ToolSet as ToolSet
from ._tools import coerce_tools as coerce_tools
from ._tools import result_text as result_text
from ._tools import run_tool_calls as run_tool_calls
from ._tools import tool as tool

__all__ = [
    "AddTools",
    "ArgumentsRejected",
    "GetTools",
    "McpToolFailed",
    "McpTools",
    "RemoveTools",
    "SetTools",
    "ToolContext",
    "ToolDefinition",
    "ToolFailed",
    "ToolRegistry",
    "ToolSet",
    "coerce_tools",
    "result_text",
    "run_tool_calls",
    "tool",
]
