"""What the provider actor offers the pieces of a call it hands work to
(one streamed attempt, an embeddings call): a Protocol, so those modules
need not import the actor that imports them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import trio

from ..errors import InternalError, ProviderTimeout
from ..events import Emitter
from ..types import Cost, Usage
from ._adapter import Adapter, Embedder, ProviderConfig
from ._embed_batch import EmbedBatcher

T = TypeVar("T")


class ProviderHost(Protocol):
    """The provider actor, as its helpers see it."""

    config: ProviderConfig
    limiter: trio.CapacityLimiter
    batcher: EmbedBatcher | None  # when embed_batching is on
    embedder: Embedder | None  # the adapter, if it embeds

    @property
    def adapter(self) -> Adapter: ...

    def emitter(self, request_id: str, session_id: str | None = None) -> Emitter: ...

    def deadline(self, timeout: float | None) -> float: ...

    def attempts(
        self, call: Callable[[], Awaitable[T]], deadline: float, events: Emitter
    ) -> Awaitable[T]: ...

    def internal_error(self, exc: Exception, doing: str = ...) -> InternalError: ...

    def timed_out(self, deadline: float) -> ProviderTimeout: ...

    def cost(self, usage: Usage) -> Cost: ...

    @staticmethod
    def report_failure(events: Emitter, exc: BaseException, source: str = ...) -> None: ...
