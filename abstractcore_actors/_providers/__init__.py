"""Provider actors: one supervised actor per provider/model, one adapter per protocol.

A private package: its public face is `abstractcore_actors.providers`; the
layers above import what they need from here."""

from ._actor import ProviderActor as ProviderActor
from ._adapter import ACCEPTED as ACCEPTED
from ._adapter import Adapter as Adapter
from ._adapter import Embedder as Embedder
from ._adapter import ProviderConfig as ProviderConfig
from ._calls import GenerateCall as GenerateCall
from ._calls import ProviderPolicy as ProviderPolicy
from ._calls import Routed as Routed
from ._calls import StreamCall as StreamCall
from ._catalogue import PROVIDERS as PROVIDERS
from ._catalogue import adapter_factory as adapter_factory
from ._catalogue import build_provider as build_provider
from ._catalogue import split_provider as split_provider
from ._embed import EmbedCall as EmbedCall
from ._embed import build_embedding_request as build_embedding_request
from ._embed import build_token_request as build_token_request
from ._embed_batch import EmbedBatching as EmbedBatching
from ._embed_many import embed_many as embed_many
from ._llm import LLM as LLM
from ._resilience import BreakerState as BreakerState
from ._resilience import CircuitBreaker as CircuitBreaker
from ._resilience import RetryPolicy as RetryPolicy
from ._response_stream import ResponseStream as ResponseStream
from ._status import preset_sdk_platform as preset_sdk_platform
