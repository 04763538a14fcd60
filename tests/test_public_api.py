"""The public surface is exactly the intended names: nothing leaks by accident."""

from __future__ import annotations

import inspect

import abstractcore_actors

PUBLIC = {
    # runtime and handles
    "open_runtime",
    "Runtime",
    "LLM",
    "ResponseStream",
    "RetryPolicy",
    "EmbedBatching",
    # concurrency patterns
    "race",
    "race_stream",
    "ensemble",
    "hedge",
    "hedge_stream",
    "batch",
    "PatternResult",
    # sessions, tools, events
    "Session",
    "TurnStream",
    "tool",
    "ToolContext",
    "ToolDefinition",
    "Event",
    "EventBus",
    # structured output
    "generate_structured",
    "stream_structured",
    "StructuredResult",
    "StructuredOutputError",
    "StructuredUsage",
    "StructuredAttempt",
    "Partial",
    # message types
    "Chunk",
    "GenerateResponse",
    "Image",
    "EmbeddingResponse",
    "Message",
    "Timings",
    "TokenLogprob",
    "ToolCall",
    "ToolCallDelta",
    "ToolResult",
    "ToolSpec",
    "Usage",
    # what calls cost
    "Cost",
    "Price",
    "PriceBook",
    # the actor kernel
    "ActorContext",
    "ActorRef",
    "Behaviour",
    "CrashReport",
    "GiveUp",
    "Parked",
    "Strategy",
    "StreamSink",
    "Supervisor",
    # errors
    "AbstractCoreActorsError",
    "AllAttemptsFailed",
    "BudgetExceeded",
    "BudgetStoreUnavailable",
    "RateLimitExceeded",
    "QuorumNotReached",
    "ActorCrashed",
    "ActorNotFound",
    "ActorUnavailable",
    "AskTimeout",
    "AuthenticationError",
    "BadRequest",
    "CircuitOpen",
    "ProviderPaused",
    "ConfigurationError",
    "ConsumerGone",
    "ContextTooLong",
    "InvalidResponse",
    "LimitExceeded",
    "InternalError",
    "KernelError",
    "MailboxClosed",
    "NameTaken",
    "NotUnderTrio",
    "UnsupportedOperation",
    "UnknownOption",
    "ProviderError",
    "ProviderTimeout",
    "PatternTimeout",
    "ToolServerError",
    "ProviderUnavailable",
    "RateLimited",
    "SupervisorGaveUp",
    "SyncCalledFromAsync",
    "UnhandledMessage",
    "ValidationError",
}


def test_public_names_are_exactly_the_intended_ones() -> None:
    exported = {
        name
        for name in vars(abstractcore_actors)
        if not name.startswith("_") and not inspect.ismodule(getattr(abstractcore_actors, name))
    }
    assert exported == PUBLIC


def test_every_error_derives_from_the_root() -> None:
    for name in PUBLIC:
        obj = getattr(abstractcore_actors, name)
        if isinstance(obj, type) and issubclass(obj, BaseException):
            assert issubclass(obj, abstractcore_actors.AbstractCoreActorsError), name
