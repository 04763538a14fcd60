"""Typed events and the event bus (layer 2): what providers, tools and sessions
report, for UIs, logs and AbstractCore-style `on(...)` handlers."""

from ._bus import Emitter as Emitter
from ._bus import EventBus as EventBus
from ._bus import EventSelector as EventSelector
from ._bus import make_filter as make_filter
from ._subscription import Subscription as Subscription
from ._types import EVENT_TYPES as EVENT_TYPES
from ._types import AppEvent as AppEvent
from ._types import CallCancelled as CallCancelled
from ._types import ContextInjected as ContextInjected
from ._types import EmbeddingCompleted as EmbeddingCompleted
from ._types import EmbeddingStarted as EmbeddingStarted
from ._types import ErrorOccurred as ErrorOccurred
from ._types import Event as Event
from ._types import FirstToken as FirstToken
from ._types import GenerationChunk as GenerationChunk
from ._types import GenerationCompleted as GenerationCompleted
from ._types import GenerationStarted as GenerationStarted
from ._types import RetryAttempted as RetryAttempted
from ._types import RetryExhausted as RetryExhausted
from ._types import RouteChosen as RouteChosen
from ._types import RouteFailed as RouteFailed
from ._types import SessionCleared as SessionCleared
from ._types import SessionCreated as SessionCreated
from ._types import ToolCompleted as ToolCompleted
from ._types import ToolProgress as ToolProgress
from ._types import ToolsChanged as ToolsChanged
from ._types import ToolStarted as ToolStarted

__all__ = [
    "AppEvent",
    "CallCancelled",
    "ContextInjected",
    "EmbeddingCompleted",
    "EmbeddingStarted",
    "Emitter",
    "ErrorOccurred",
    "Event",
    "EventBus",
    "FirstToken",
    "GenerationChunk",
    "GenerationCompleted",
    "GenerationStarted",
    "RetryAttempted",
    "RetryExhausted",
    "RouteChosen",
    "RouteFailed",
    "SessionCleared",
    "SessionCreated",
    "Subscription",
    "ToolCompleted",
    "ToolProgress",
    "ToolStarted",
    "ToolsChanged",
    "make_filter",
]
