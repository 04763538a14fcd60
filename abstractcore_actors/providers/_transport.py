"""The `openai-compatible` adapter's view of an HTTP client: what it calls, and
what can go wrong on the wire, whichever client carried the call.

`_http11.py` (the lean client) and `_http_proxy.py` (httpx, behind a proxy)
both fit `HttpClient` and raise only the three errors below, so the adapter
has one code path and one error mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class HttpResponse(Protocol):
    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]:
        """Names lower-case (or looked up case-insensitively)."""
        ...

    async def receive_some(self) -> bytes:
        """The next bytes of the body, b"" at its end."""
        ...

    async def read(self) -> bytes:
        """The whole body (then closed)."""
        ...

    async def aclose(self) -> None: ...


class HttpClient(Protocol):
    async def post(self, path: str, body: bytes, *, whole: bool = False) -> HttpResponse:
        """POST a JSON body to `path` under the client's base URL; with
        `whole`, return once the body is in too (then `read` does no I/O)."""
        ...

    async def aclose(self) -> None: ...


class TransportError(Exception):
    """The request did not get a whole response."""


class TransportUnavailable(TransportError):
    """The server could not be reached, or the connection broke (a reset)."""


class TransportTimeout(TransportError):
    """Connecting, or waiting for data, took longer than its timeout."""


class TransportCutShort(TransportError):
    """The response ended early (the server closed the connection) or is not
    well-formed HTTP: the server misbehaved rather than went away."""
