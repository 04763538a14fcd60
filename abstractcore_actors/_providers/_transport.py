"""The `openai-compatible` adapter's view of an HTTP client: what it calls, and
what can go wrong on the wire, whichever client carried the call.

`_http11.py` (the lean client) and `_http_proxy.py` (httpx, behind a proxy)
both fit `HttpClient` and raise only the errors below, so the adapter has
one code path and one error mapping. The SDK adapters' response guard
(`_httpx_guard.py`) raises the same errors from inside the SDKs.
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
        """The whole body (then closed), within the client's `Limits`."""
        ...

    async def aclose(self) -> None:
        """Done with the body: the connection is reused if it was read to its end."""
        ...

    async def abort(self) -> None:
        """Done with a body that broke a limit: the connection is closed, never reused."""
        ...


class HttpClient(Protocol):
    async def post(self, path: str, body: bytes, *, whole: bool = False) -> HttpResponse:
        """POST a JSON body to `path` under the client's base URL; with
        `whole`, return once the body is in too (then `read` does no I/O).
        Either way, end with `aclose` (or `abort`): a whole body's connection
        is kept until then, so that an unusable body can still close it."""
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


class TransportLimit(TransportError):
    """The response broke one of the client's `Limits` (too big, too deep, too
    compressed); `limit` names the option. Its connection is never reused."""

    def __init__(self, limit: str, detail: str) -> None:
        self.limit = limit
        super().__init__(detail)
