"""`McpServerSpec`: which MCP server, and how far to trust what it says.

A server is a command (stdio: the runtime starts it as a child process) or
a URL (streamable HTTP, with `headers` such as a bearer token on every
request; like `env`, never in a repr, a label or an error). Its environment
is exactly `env` over a minimal base (HOME, LOGNAME, PATH, SHELL, TERM,
USER: the SDK's): the runtime's own environment, provider keys included, is
never passed through unless named.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import attrs

from ..errors import ValidationError

MAX_OUTPUT = 100_000  # characters of one tool result the model is given


def _command(value: Sequence[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str) or not all(isinstance(p, str) and p for p in value) or not value:
        raise ValidationError(
            f"command must be a list of strings, e.g. ['python', 'server.py'] (got {value!r})"
        )
    return tuple(value)


def _env(value: Mapping[str, str]) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValidationError("env must map names to strings, e.g. {'GITHUB_TOKEN': '...'}")
    return dict(value)


def _headers(value: Mapping[str, str]) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and k and isinstance(v, str) for k, v in value.items()
    ):
        raise ValidationError(
            "headers must map header names to strings, e.g. {'Authorization': 'Bearer ...'}"
        )
    return dict(value)


@attrs.frozen(kw_only=True)
class McpServerSpec:
    command: tuple[str, ...] | None = attrs.field(default=None, converter=_command)
    url: str | None = None
    env: Mapping[str, str] = attrs.field(factory=dict, converter=_env, repr=False)
    # sent with every request to a `url` server (a bearer token): never shown
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_headers, repr=False)
    cwd: str | None = None
    name: str | None = None  # how errors and events call it
    start_timeout: float = 30.0
    max_output: int = MAX_OUTPUT

    def __attrs_post_init__(self) -> None:
        if (self.command is None) == (self.url is None):
            raise ValidationError(
                "an MCP server needs command=[...] (stdio) or url='http://...' "
                "(streamable HTTP), not both"
            )
        if self.headers and self.url is None:
            raise ValidationError("headers are for a url= server; a command's is env=")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValidationError(f"url must be http:// or https:// (got {self.url!r})")
        if not (math.isfinite(self.start_timeout) and self.start_timeout > 0):
            raise ValidationError(f"start_timeout must be > 0 seconds (got {self.start_timeout})")
        if self.max_output < 1:
            raise ValidationError(f"max_output must be >= 1 character (got {self.max_output})")

    @property
    def label(self) -> str:
        """`MCP server NAME (command or URL)`: never its environment (secrets)."""
        where = self.url if self.url is not None else " ".join(self.command or ())
        return f"MCP server {self.name} ({where})" if self.name else f"MCP server {where}"
