"""The provider actor's messages and policies (plain frozen values)."""

from __future__ import annotations

import attrs

from .._pricing import ModelFacts
from ..types import Request, RouteAttempt
from ._embed_batch import EmbedBatching
from ._resilience import RetryPolicy


@attrs.frozen(kw_only=True)
class GenerateCall:
    """Ask for one complete answer."""

    request: Request
    timeout: float | None = None


@attrs.frozen(kw_only=True)
class StreamCall:
    """Ask for a stream of chunks."""

    request: Request
    timeout: float | None = None


@attrs.frozen(kw_only=True)
class ProviderPolicy:
    """The actor's policies; see docs/providers.md."""

    max_concurrent: int = 16
    timeout: float | None = 300.0
    retry: RetryPolicy = attrs.field(factory=RetryPolicy)
    failure_threshold: int = 5
    reset_after: float = 30.0
    retry_seed: int | None = None
    embed_batching: EmbedBatching | None = None  # gather concurrent embed calls


@attrs.frozen(kw_only=True)
class Routed:
    """What a router's stream sends before the first chunk of the deployment
    that answers: who answers (its provider, model and price) and the route
    so far. Never reaches callers: `ResponseStream` keeps it (see `response()`)."""

    provider: str
    model: str
    facts: ModelFacts
    route: tuple[RouteAttempt, ...]
