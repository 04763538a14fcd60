"""The provider actor's messages and policies (plain frozen values)."""

from __future__ import annotations

import attrs

from ..types import Request
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
