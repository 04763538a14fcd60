"""abstractcore-actors: an actor-model concurrency runtime for LLM calls, on trio.

The public API is exactly what this module exports (tests/test_public_api.py
checks it): the runtime, the LLM and session handles, tools, the event bus,
message types, errors, and the actor kernel for building your own actors.
Event classes live in `abstractcore_actors.events`.
"""

from ._kernel import ActorContext as ActorContext
from ._kernel import ActorRef as ActorRef
from ._kernel import Behaviour as Behaviour
from ._kernel import CrashReport as CrashReport
from ._kernel import GiveUp as GiveUp
from ._kernel import Parked as Parked
from ._kernel import Strategy as Strategy
from ._kernel import StreamSink as StreamSink
from ._kernel import Supervisor as Supervisor
from ._pricing import Price as Price
from ._pricing import PriceBook as PriceBook
from ._providers import LLM as LLM
from ._providers import EmbedBatching as EmbedBatching
from ._providers import ResponseStream as ResponseStream
from ._providers import RetryPolicy as RetryPolicy
from ._tools import ToolContext as ToolContext
from ._tools import ToolDefinition as ToolDefinition
from ._tools import tool as tool
from .errors import AbstractCoreActorsError as AbstractCoreActorsError
from .errors import ActorCrashed as ActorCrashed
from .errors import ActorNotFound as ActorNotFound
from .errors import ActorUnavailable as ActorUnavailable
from .errors import AllAttemptsFailed as AllAttemptsFailed
from .errors import AskTimeout as AskTimeout
from .errors import AuthenticationError as AuthenticationError
from .errors import BadRequest as BadRequest
from .errors import BudgetExceeded as BudgetExceeded
from .errors import BudgetStoreUnavailable as BudgetStoreUnavailable
from .errors import CircuitOpen as CircuitOpen
from .errors import ConfigurationError as ConfigurationError
from .errors import ConsumerGone as ConsumerGone
from .errors import ContextTooLong as ContextTooLong
from .errors import InternalError as InternalError
from .errors import InvalidResponse as InvalidResponse
from .errors import KernelError as KernelError
from .errors import LimitExceeded as LimitExceeded
from .errors import MailboxClosed as MailboxClosed
from .errors import NameTaken as NameTaken
from .errors import NotUnderTrio as NotUnderTrio
from .errors import PatternTimeout as PatternTimeout
from .errors import ProviderError as ProviderError
from .errors import ProviderPaused as ProviderPaused
from .errors import ProviderTimeout as ProviderTimeout
from .errors import ProviderUnavailable as ProviderUnavailable
from .errors import QuorumNotReached as QuorumNotReached
from .errors import RateLimited as RateLimited
from .errors import RateLimitExceeded as RateLimitExceeded
from .errors import SupervisorGaveUp as SupervisorGaveUp
from .errors import SyncCalledFromAsync as SyncCalledFromAsync
from .errors import ToolServerError as ToolServerError
from .errors import UnhandledMessage as UnhandledMessage
from .errors import UnknownOption as UnknownOption
from .errors import UnsupportedOperation as UnsupportedOperation
from .errors import ValidationError as ValidationError
from .events import Event as Event
from .events import EventBus as EventBus
from .patterns import PatternResult as PatternResult
from .patterns import batch as batch
from .patterns import ensemble as ensemble
from .patterns import hedge as hedge
from .patterns import hedge_stream as hedge_stream
from .patterns import race as race
from .patterns import race_stream as race_stream
from .runtime import Runtime as Runtime
from .runtime import open_runtime as open_runtime
from .sessions import Session as Session
from .sessions import TurnStream as TurnStream
from .structured import Partial as Partial
from .structured import StructuredAttempt as StructuredAttempt
from .structured import StructuredOutputError as StructuredOutputError
from .structured import StructuredResult as StructuredResult
from .structured import StructuredUsage as StructuredUsage
from .structured import generate_structured as generate_structured
from .structured import stream_structured as stream_structured
from .types import Chunk as Chunk
from .types import Cost as Cost
from .types import EmbeddingResponse as EmbeddingResponse
from .types import GenerateResponse as GenerateResponse
from .types import Image as Image
from .types import Message as Message
from .types import Timings as Timings
from .types import TokenLogprob as TokenLogprob
from .types import ToolCall as ToolCall
from .types import ToolCallDelta as ToolCallDelta
from .types import ToolResult as ToolResult
from .types import ToolSpec as ToolSpec
from .types import Usage as Usage

__version__ = "0.1.0"
