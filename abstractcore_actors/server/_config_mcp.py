"""`[mcp.NAME]`: the MCP servers whose tools the gateway offers (`GET
/v1/tools`) and runs for the chat requests that name them.

[mcp.files]
command = ["python", "-m", "my_files_server"]   # stdio: the gateway starts it
env = { ROOT = "/srv/data" }                    # its environment: only what is named
pass_env = ["GITHUB_TOKEN"]                     # ... or copied from the gateway's own
cwd = "/srv"
timeout = 30                                    # seconds a call may take (default 30)

[mcp.search]
url = "http://127.0.0.1:9000/mcp"               # streamable HTTP: the gateway connects
prefix = "search_"                              # before each tool's name (default none)
bearer_env = "SEARCH_MCP_TOKEN"                 # Authorization: Bearer $SEARCH_MCP_TOKEN
headers = { X-Team = "research" }               # other headers, sent as they are

Servers come from the config only, never from a request.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import attrs

from .._mcp import McpServerSpec
from ..errors import ConfigurationError, ValidationError
from ._config_fields import refuse_unknown

DEFAULT_TOOL_TIMEOUT = 30.0
_FIELDS = (
    "command",
    "url",
    "headers",
    "bearer_env",
    "env",
    "pass_env",
    "cwd",
    "prefix",
    "timeout",
    "start_timeout",
    "max_output",
)


@attrs.frozen(kw_only=True)
class McpServerConfig:
    """One configured MCP server: how to reach it, and its tools' names and limits."""

    name: str
    spec: McpServerSpec
    prefix: str = ""
    timeout: float = DEFAULT_TOOL_TIMEOUT


def parse_mcp(raw: object) -> dict[str, McpServerConfig]:
    if not isinstance(raw, Mapping):
        raise ConfigurationError("mcp must be [mcp.NAME] tables")
    return {str(name): _server(str(name), spec) for name, spec in raw.items()}


def _server(name: str, spec: object) -> McpServerConfig:
    where = f"[mcp.{name}]"
    if not isinstance(spec, Mapping):
        raise ConfigurationError(f"{where} must be a table with command = [...] or url = ...")
    refuse_unknown(where, spec, _FIELDS)
    env = dict(spec.get("env", {})) if isinstance(spec.get("env", {}), Mapping) else None
    if env is None:
        raise ConfigurationError(f'{where}: env must be a table, e.g. env = {{ ROOT = "/srv" }}')
    passed = spec.get("pass_env", [])
    if not (isinstance(passed, list) and all(isinstance(n, str) and n for n in passed)):
        raise ConfigurationError(f"{where}: pass_env must be a list of variable names")
    for variable in passed:
        if variable not in os.environ:
            raise ConfigurationError(
                f"{where}: pass_env names {variable}, which is not set in the gateway's "
                "environment: set it, or remove it from pass_env"
            )
        env[variable] = os.environ[variable]
    headers = _headers(where, spec)
    prefix = spec.get("prefix", "")
    if not isinstance(prefix, str):
        raise ConfigurationError(f'{where}: prefix must be a string, e.g. prefix = "{name}_"')
    timeout = spec.get("timeout", DEFAULT_TOOL_TIMEOUT)
    if not (isinstance(timeout, int | float) and not isinstance(timeout, bool) and timeout > 0):
        raise ConfigurationError(f"{where}: timeout must be a number of seconds > 0")
    options: dict[str, Any] = {
        k: spec[k] for k in ("url", "cwd", "start_timeout", "max_output") if k in spec
    }
    try:
        server = McpServerSpec(
            command=spec.get("command"), env=env, headers=headers, name=name, **options
        )
    except (ValidationError, TypeError) as exc:
        raise ConfigurationError(f"{where}: {exc}") from None
    return McpServerConfig(name=name, spec=server, prefix=prefix, timeout=float(timeout))


def _headers(where: str, spec: Mapping[str, Any]) -> dict[str, str]:
    """`headers` (plain values) and `bearer_env` (the name of the gateway's
    environment variable that holds a token: the secret stays out of the file)."""
    headers = spec.get("headers", {})
    if not (
        isinstance(headers, Mapping)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())
    ):
        raise ConfigurationError(
            f'{where}: headers must be a table, e.g. headers = {{ X-Team = "a" }}'
        )
    headers = dict(headers)
    variable = spec.get("bearer_env")
    if variable is not None:
        if not (isinstance(variable, str) and variable):
            raise ConfigurationError(f'{where}: bearer_env must name a variable, e.g. "MCP_TOKEN"')
        token = os.environ.get(variable, "").strip()
        if not token:
            raise ConfigurationError(
                f"{where}: bearer_env names {variable}, which is not set (or is empty) in the "
                "gateway's environment: set it, or remove bearer_env"
            )
        headers["Authorization"] = f"Bearer {token}"
    return headers
