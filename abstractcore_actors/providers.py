"""Provider handles and their policies: `LLM` (what `rt.create_llm` returns),
`ResponseStream`, `RetryPolicy`, the shared `CircuitBreaker` and its
`BreakerState`, `EmbedBatching` (the `embed_batching=` option), and
`PROVIDERS`, the catalogue of provider names and their options. See
docs/providers.md.
"""

from ._providers import LLM as LLM
from ._providers import PROVIDERS as PROVIDERS
from ._providers import BreakerState as BreakerState
from ._providers import CircuitBreaker as CircuitBreaker
from ._providers import EmbedBatching as EmbedBatching
from ._providers import ResponseStream as ResponseStream
from ._providers import RetryPolicy as RetryPolicy

__all__ = [
    "LLM",
    "PROVIDERS",
    "BreakerState",
    "CircuitBreaker",
    "EmbedBatching",
    "ResponseStream",
    "RetryPolicy",
]
