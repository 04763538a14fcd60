"""A request's use of the gateway's own tools, in every wire format:

    {"type": "mcp", "server_label": "files", "allowed_tools": ["read_file"]}

— the shape of OpenAI's MCP tool (Responses API), accepted in chat
completions, Responses and Anthropic Messages alike. The server is one the
gateway's config names (`[mcp.files]`); a request never brings a server of
its own, so `server_url`, `headers` and `authorization` are refused. The
gateway runs these tools itself (no approval step), so `require_approval`
may only be "never".
"""

from __future__ import annotations

from typing import Any

import attrs

from ..errors import ValidationError
from .request_checks import expect, shown

_FOREIGN = ("server_url", "connector_id", "headers", "authorization")


@attrs.frozen
class McpToolRef:
    """One `{"type": "mcp"}` entry: a configured server, and which of its
    tools (its own names; None: all the caller's key may use)."""

    server: str
    allowed: tuple[str, ...] | None = None


def take_mcp_tools(value: object) -> tuple[object, tuple[McpToolRef, ...]]:
    """`tools` without its `{"type": "mcp"}` entries, and those entries parsed
    (ValidationError naming the field when one is wrong). Anything that is not
    a list is returned as is, for the format's own check to refuse."""
    if not isinstance(value, list):
        return value, ()
    rest: list[Any] = []
    refs: list[McpToolRef] = []
    for i, item in enumerate(value):
        if isinstance(item, dict) and item.get("type") == "mcp":
            refs.append(_ref(item, f"tools[{i}]"))
        else:
            rest.append(item)
    labels = [r.server for r in refs]
    if len(set(labels)) != len(labels):
        raise ValidationError("two mcp tools name the same server_label: list it once")
    return rest, tuple(refs)


def _ref(tool: dict[str, Any], where: str) -> McpToolRef:
    for field in _FOREIGN:
        if tool.get(field) is not None:
            raise ValidationError(
                f"{where}.{field}: this gateway runs only the MCP servers its config names; "
                'name one with "server_label" (GET /v1/tools lists them)',
                param=f"{where}.{field}",
            )
    label = tool.get("server_label")
    expect(isinstance(label, str) and bool(label), f"{where}.server_label", "a name", label)
    approval = tool.get("require_approval", "never")
    if approval != "never":
        raise ValidationError(
            f'{where}.require_approval must be "never" (got {shown(approval)}): the gateway '
            "runs its tools itself, with no approval step",
            param=f"{where}.require_approval",
        )
    allowed = tool.get("allowed_tools")
    if isinstance(allowed, dict):  # OpenAI's filter form: {"tool_names": [...]}
        allowed = allowed.get("tool_names")
    if allowed is not None:
        ok = isinstance(allowed, list) and all(isinstance(n, str) and n for n in allowed)
        expect(ok, f"{where}.allowed_tools", "a list of tool names", allowed)
    assert isinstance(label, str)
    return McpToolRef(server=label, allowed=None if allowed is None else tuple(allowed))
