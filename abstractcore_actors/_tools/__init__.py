"""Tools (layer 4): `@tool` functions described to a model by their type hints
and docstrings, run concurrently with timeouts, held per session by a registry
actor. See docs/tools.md.

A private package: its public face is `abstractcore_actors.tools`; sessions
and the runtime import the registry's messages from here.
"""

from ._arguments import ArgumentsRejected as ArgumentsRejected
from ._context import ToolContext as ToolContext
from ._registry import AddTools as AddTools
from ._registry import GetTools as GetTools
from ._registry import RemoveTools as RemoveTools
from ._registry import SetTools as SetTools
from ._registry import SyncSource as SyncSource
from ._registry import ToolRegistry as ToolRegistry
from ._registry import ToolSet as ToolSet
from ._run import ToolFailed as ToolFailed
from ._run import result_text as result_text
from ._run import run_tool_calls as run_tool_calls
from ._tool import ToolDefinition as ToolDefinition
from ._tool import coerce_tools as coerce_tools
from ._tool import tool as tool
