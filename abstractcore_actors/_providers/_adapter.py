"""The transport seam: one small adapter per wire protocol, behind one interface.

An adapter turns a `Request` into a `GenerateResponse` or a stream of
`Chunk`s (and, if it is also an `Embedder`, texts into vectors), and maps
its vendor's errors to ours (errors.py) at the boundary, once. Everything
else — concurrency limits, retries, the circuit breaker, timeouts,
timings — lives in the provider actor around it, the same for all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol, runtime_checkable

import attrs

from .._redact import mask
from ..types import Chunk, EmbeddingRequest, EmbeddingResponse, GenerateResponse, Request
from ._limits import Limits


@attrs.frozen(kw_only=True)
class ProviderConfig:
    """How to reach one provider/model. The key never shows in a repr."""

    provider: str
    model: str
    api_key: str | None = attrs.field(default=None, repr=mask)
    base_url: str | None = None
    # Seconds to wait for a response (non-stream) or for each next byte (stream).
    read_timeout: float = 60.0
    connect_timeout: float = 10.0
    # How many calls may run at once (the actor's limit); sizes connection pools.
    max_concurrent: int = 16
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    options: Mapping[str, Any] = attrs.field(factory=dict)
    # What the upstream may send back (HTTP adapters; see _limits.py).
    limits: Limits = attrs.field(factory=Limits)

    @property
    def secrets(self) -> tuple[str | None, ...]:
        return (self.api_key, *self.headers.values())


@attrs.frozen
class Accepted:
    """What an adapter's stream may yield once, before its first chunk: the
    upstream has taken the call on (a hosted API answered 200 and the body is
    under way). From here on a failure is the stream's, not the request's; a
    gateway can send its own response head now instead of at the first token,
    as the upstream itself did. Never reaches callers: the provider actor
    passes it on once and `ResponseStream` keeps it (see `wait_accepted`)."""


ACCEPTED = Accepted()


class Adapter(Protocol):
    """One wire protocol. Raise only `ProviderError` subclasses (or ValidationError)."""

    config: ProviderConfig

    async def generate(self, request: Request) -> GenerateResponse:
        """One complete answer. `timings`, `provider` and `request_id` are filled in
        by the provider actor; the adapter fills content, tool calls, finish
        reason, usage and model."""
        ...

    def stream(self, request: Request) -> AsyncIterator[Chunk | Accepted]:
        """An async generator of chunks; the last has `finish_reason` (and usage
        when the provider reports it). Closing it early must close the HTTP
        response (the socket goes back to the pool or is closed). It may yield
        `ACCEPTED` once, first, as soon as the upstream has accepted the call
        (a hosted API's 200 head); one that cannot tell (a local model) does not."""
        ...

    async def aclose(self) -> None:
        """Release clients and sockets. Called once, when the provider actor stops."""
        ...


@runtime_checkable
class Embedder(Protocol):
    """An adapter that can also embed texts (OpenAI, OpenAI-compatible, local).

    A separate protocol, so that an adapter without embeddings need not say
    so: the provider actor answers `UnsupportedOperation` for it."""

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResponse:
        """One vector per text, in order. The adapter fills vectors, usage and
        model; the actor fills provider, request_id and duration. Raise only
        `ProviderError` subclasses (UnsupportedOperation when it cannot)."""
        ...
