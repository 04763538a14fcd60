"""Provider actors: one supervised actor per provider/model, one adapter per protocol."""

from ._actor import ProviderActor as ProviderActor
from ._adapter import Adapter as Adapter
from ._adapter import Embedder as Embedder
from ._adapter import ProviderConfig as ProviderConfig
from ._calls import GenerateCall as GenerateCall
from ._calls import ProviderPolicy as ProviderPolicy
from ._calls import StreamCall as StreamCall
from ._catalogue import PROVIDERS as PROVIDERS
from ._catalogue import adapter_factory as adapter_factory
from ._catalogue import build_provider as build_provider
from ._embed import EmbedCall as EmbedCall
from ._llm import LLM as LLM
from ._llm import ResponseStream as ResponseStream
from ._resilience import BreakerState as BreakerState
from ._resilience import CircuitBreaker as CircuitBreaker
from ._resilience import RetryPolicy as RetryPolicy
