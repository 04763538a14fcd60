"""The typed events: attrs frozen values, one class per thing that happened.

Every event carries where it came from (request id, session id, provider,
model), when (`timestamp`, wall-clock seconds since the epoch) and `seq`,
its position among the events of its request: events of one request reach
every subscriber in `seq` order. `dropped` is set on the first event a lossy
subscriber receives after its buffer overflowed: how many older events it
lost just before this one.

`type` is a stable dotted name ("generation.chunk"), used by `on("...")`
and in JSON for UIs (`to_dict`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import attrs


@attrs.frozen(kw_only=True, slots=True)
class Event:
    """Base of every event. Subclass it (frozen, kw_only) for your own events."""

    type: ClassVar[str] = "event"

    request_id: str = ""
    session_id: str | None = None
    provider: str = ""
    model: str = ""
    timestamp: float = 0.0
    seq: int = 0
    dropped: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with the event's `type`, for WebSocket/SSE clients."""
        data = attrs.asdict(self, recurse=True)
        data["type"] = self.type
        return data


# -- generation -------------------------------------------------------------


@attrs.frozen(kw_only=True, slots=True)
class GenerationStarted(Event):
    """A provider call began (`stream`: whether chunks will follow)."""

    type: ClassVar[str] = "generation.started"
    stream: bool = False


@attrs.frozen(kw_only=True, slots=True)
class FirstToken(Event):
    """The first text or tool-call piece of a streamed answer arrived."""

    type: ClassVar[str] = "generation.first_token"
    ttft: float = 0.0


@attrs.frozen(kw_only=True, slots=True)
class GenerationChunk(Event):
    """One streamed piece of text (and/or tool-call names) reached the caller."""

    type: ClassVar[str] = "generation.chunk"
    text: str = ""
    tool_calls: tuple[str, ...] = ()


@attrs.frozen(kw_only=True, slots=True)
class GenerationCompleted(Event):
    """The call finished with an answer."""

    type: ClassVar[str] = "generation.completed"
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    ttft: float | None = None
    duration: float = 0.0
    cost_usd: float | None = None  # None: the model's price is unknown


@attrs.frozen(kw_only=True, slots=True)
class EmbeddingStarted(Event):
    """A provider call to embed `inputs` texts began."""

    type: ClassVar[str] = "embedding.started"
    inputs: int = 0


@attrs.frozen(kw_only=True, slots=True)
class EmbeddingCompleted(Event):
    """An embedding call finished: `inputs` vectors of `dimensions` floats each.
    (Failures are `ErrorOccurred` / `CallCancelled` with `source="embedding"`.)"""

    type: ClassVar[str] = "embedding.completed"
    inputs: int = 0
    dimensions: int = 0
    prompt_tokens: int = 0
    duration: float = 0.0


@attrs.frozen(kw_only=True, slots=True)
class RetryAttempted(Event):
    """An attempt failed with a retryable error; another starts after `delay` s."""

    type: ClassVar[str] = "retry.attempted"
    attempt: int = 1
    delay: float = 0.0
    error_type: str = ""
    message: str = ""


@attrs.frozen(kw_only=True, slots=True)
class RetryExhausted(Event):
    """Retrying stopped: attempts used up, deadline too close, or not retryable."""

    type: ClassVar[str] = "retry.exhausted"
    attempts: int = 1
    error_type: str = ""
    message: str = ""


@attrs.frozen(kw_only=True, slots=True)
class ErrorOccurred(Event):
    """A call, tool or event handler failed. `source`: "generation", "tool",
    "session" or "handler"."""

    type: ClassVar[str] = "error"
    source: str = "generation"
    error_type: str = ""
    message: str = ""


@attrs.frozen(kw_only=True, slots=True)
class CallCancelled(Event):
    """A call or turn was cancelled before it finished. For a session turn
    (`source="session"`), `partial_text` is what it had said, kept in history."""

    type: ClassVar[str] = "cancelled"
    source: str = "generation"
    reason: str = ""
    partial_text: str = ""


# -- tools ------------------------------------------------------------------


@attrs.frozen(kw_only=True, slots=True)
class ToolStarted(Event):
    """A tool call began running."""

    type: ClassVar[str] = "tool.started"
    call_id: str = ""
    tool: str = ""
    arguments: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True, slots=True)
class ToolProgress(Event):
    """A running tool reported progress (`fraction` in [0, 1] when known)."""

    type: ClassVar[str] = "tool.progress"
    call_id: str = ""
    tool: str = ""
    message: str = ""
    fraction: float | None = None


@attrs.frozen(kw_only=True, slots=True)
class ToolCompleted(Event):
    """A tool call finished; `error` is set when it failed (the model sees it)."""

    type: ClassVar[str] = "tool.completed"
    call_id: str = ""
    tool: str = ""
    ok: bool = True
    error: str | None = None
    duration: float = 0.0


# -- sessions ---------------------------------------------------------------


@attrs.frozen(kw_only=True, slots=True)
class SessionCreated(Event):
    """A session was created (`Runtime.session`)."""

    type: ClassVar[str] = "session.created"
    system_prompt: str | None = None
    tools: tuple[str, ...] = ()


@attrs.frozen(kw_only=True, slots=True)
class SessionCleared(Event):
    """A session's history was cleared."""

    type: ClassVar[str] = "session.cleared"


@attrs.frozen(kw_only=True, slots=True)
class ContextInjected(Event):
    """Injected context joined a turn (`applied`) or was queued for one."""

    type: ClassVar[str] = "session.injected"
    text: str = ""
    applied: bool = False


@attrs.frozen(kw_only=True, slots=True)
class ToolsChanged(Event):
    """The tools a session offers the model changed (effective at the next model call)."""

    type: ClassVar[str] = "session.tools_changed"
    tools: tuple[str, ...] = ()


# -- routing ------------------------------------------------------------------


@attrs.frozen(kw_only=True, slots=True)
class RouteChosen(Event):
    """A router picked `deployment` for a call (or for its next attempt), and why.
    `provider`/`model` are the deployment's; `router` names the router."""

    type: ClassVar[str] = "route.chosen"
    router: str = ""
    deployment: str = ""
    attempt: int = 1
    reason: str = ""
    # a semantic router's: each route's best cosine similarity, best first
    scores: tuple[tuple[str, float], ...] = ()


@attrs.frozen(kw_only=True, slots=True)
class RouteFailed(Event):
    """A deployment failed a routed call; `fallback` says whether another is tried."""

    type: ClassVar[str] = "route.failed"
    router: str = ""
    deployment: str = ""
    attempt: int = 1
    error_type: str = ""
    message: str = ""
    fallback: bool = False


# -- your application's -----------------------------------------------------


@attrs.frozen(kw_only=True, slots=True)
class AppEvent(Event):
    """An event of your application's, by name, with JSON-ready data: what
    `compat` `emit_async(name, data)` publishes (or subclass `Event`)."""

    type: ClassVar[str] = "app"
    name: str = ""
    data: Mapping[str, Any] = attrs.field(factory=dict)


EVENT_TYPES: tuple[type[Event], ...] = (
    GenerationStarted,
    FirstToken,
    GenerationChunk,
    GenerationCompleted,
    EmbeddingStarted,
    EmbeddingCompleted,
    RetryAttempted,
    RetryExhausted,
    ErrorOccurred,
    CallCancelled,
    ToolStarted,
    ToolProgress,
    ToolCompleted,
    SessionCreated,
    SessionCleared,
    ContextInjected,
    ToolsChanged,
    RouteChosen,
    RouteFailed,
    AppEvent,
)
