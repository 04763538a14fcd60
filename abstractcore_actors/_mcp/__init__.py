"""MCP servers as supervised tool actors (`rt.mcp_tools`), with the official
`mcp` SDK (the `mcp` extra). Private; the public names are re-exported from
`abstractcore_actors.tools`. See docs/tools.md."""

from ._client import CallTool as CallTool
from ._client import ListTools as ListTools
from ._client import McpClient as McpClient
from ._client import McpTool as McpTool
from ._open import serve_mcp_client as serve_mcp_client
from ._serve import load_tools as load_tools
from ._serve import mcp_server as mcp_server
from ._serve import open_http_app as open_http_app
from ._serve import serve_stdio as serve_stdio
from ._spec import McpServerSpec as McpServerSpec
from ._tools import McpToolFailed as McpToolFailed
from ._tools import McpTools as McpTools
