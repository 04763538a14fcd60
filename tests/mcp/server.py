"""An MCP server written with the official `mcp` SDK, for tests/mcp: run as
`python tests/mcp/server.py [--http PORT]` (stdio by default).

Tools: add, slow (records its cancellation), crash (the process exits),
grow (registers `extra` and sends notifications/tools/list_changed), env
(the value of an environment variable), big (a long answer), fail (an
error result). Events go to the file named by $MCP_TEST_LOG, one per line.
$MCP_TEST_FAIL_AT_START makes it write to stderr and exit before serving.
"""

from __future__ import annotations

import os
import sys

import trio
from mcp.server.lowlevel import NotificationOptions
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.stdio import stdio_server


def log(event: str) -> None:
    path = os.environ.get("MCP_TEST_LOG")
    if path:
        with open(path, "a") as out:
            out.write(event + "\n")


def build() -> MCPServer:
    server = MCPServer("test-server", version="1.0")

    @server.tool(description="Add two integers.")
    def add(a: int, b: int) -> int:
        return a + b

    @server.tool(description="Sleep for `seconds`.")
    async def slow(seconds: float) -> str:
        log(f"slow {seconds} started")
        try:
            await trio.sleep(seconds)
        except trio.Cancelled:
            log("slow cancelled")
            raise
        return f"slept {seconds}"

    @server.tool(description="Exit the server process.")
    def crash() -> str:
        log("crash")
        os._exit(3)

    @server.tool(description="Offer one more tool.")
    async def grow(ctx: Context) -> str:
        def extra(text: str) -> str:
            """Shout the text."""
            return text.upper()

        server.add_tool(extra, name="extra", description="Shout the text.")
        await ctx.session.send_tool_list_changed()
        return "grown"

    @server.tool(description="The value of an environment variable.")
    def env(name: str) -> str:
        return os.environ.get(name, "<unset>")

    @server.tool(description="A long answer.")
    def big(size: int) -> str:
        return "x" * size

    @server.tool(description="Fail on purpose.")
    def fail() -> str:
        raise ToolError("the quota is exhausted")

    return server


async def main() -> None:
    log(f"started {os.getpid()}")
    server = build()
    if os.environ.get("MCP_TEST_FAIL_AT_START"):
        print("fatal: cannot open the database at /nowhere", file=sys.stderr, flush=True)
        sys.exit(5)
    if sys.argv[1:2] == ["--http"]:
        from hypercorn.config import Config
        from hypercorn.trio import serve

        app = server.streamable_http_app(streamable_http_path="/mcp", host="127.0.0.1")
        config = Config()
        config.bind = [f"127.0.0.1:{sys.argv[2]}"]
        config.accesslog = config.errorlog = None
        await serve(app, config)  # type: ignore[arg-type]
        return
    low = server._lowlevel_server
    options = low.create_initialization_options(NotificationOptions(tools_changed=True))
    async with stdio_server() as (read, write):
        await low.run(read, write, options)


if __name__ == "__main__":
    trio.run(main)
