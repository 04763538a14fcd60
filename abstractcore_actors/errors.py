"""The package's one error tree. Vendor errors are mapped to it once, at the adapter.

    AbstractCoreActorsError
     ├── ValidationError (ValueError)   bad arguments: the message says how to fix them
     │    ├── ConfigurationError         a provider cannot be set up (no key, no package, no file)
     │    └── UnknownOption (TypeError)  a keyword the call does not take, or cannot send
     ├── KernelError                    the actor runtime (kernel/_errors.py)
     │    ActorNotFound, NameTaken, MailboxClosed, ActorCrashed, AskTimeout,
     │    UnhandledMessage, SupervisorGaveUp, ActorUnavailable (parked: back in `retry_in` s)
     └── ProviderError                  a call to an LLM provider failed; names provider + model
          ├── AuthenticationError        401/403: the key is missing, wrong or lacks access
          ├── RateLimited                429: `retry_after` seconds, when the provider said
          ├── ProviderTimeout (TimeoutError)  no answer (or no next byte) in time
          ├── ProviderUnavailable        5xx, connection refused or reset, overloaded
          │    ├── CircuitOpen           too many recent failures: failing fast for a while
          │    └── ProviderPaused        its actor kept crashing: paused, back in `retry_after` s
          ├── BadRequest                 400/404/422: the request itself is wrong
          │    ├── ContextTooLong        the prompt does not fit the model's context
          │    └── UnsupportedOperation  the provider has no such API (e.g. embeddings)
          ├── InvalidResponse            malformed JSON/SSE, a stream cut short
          └── InternalError              a bug met while handling this one call (logged)
     ├── AllAttemptsFailed              every attempt of a pattern failed; `.errors`
     │    └── QuorumNotReached          an ensemble got fewer good answers than asked
     ├── PatternTimeout (TimeoutError)  a race / hedge found no answer within its timeout
     ├── ToolServerError                an MCP server would not start, or stopped
     ├── SyncCalledFromAsync (RuntimeError)  the sync facade used inside an event loop
     └── NotUnderTrio (RuntimeError)         the async API used under asyncio / no loop

Messages never contain API keys: adapters pass vendor text through `redact`.
"""

from __future__ import annotations

import datetime
from typing import Any

from ._kernel import AbstractCoreActorsError as AbstractCoreActorsError
from ._kernel import ActorCrashed as ActorCrashed
from ._kernel import ActorNotFound as ActorNotFound
from ._kernel import ActorUnavailable as ActorUnavailable
from ._kernel import AskTimeout as AskTimeout
from ._kernel import ConsumerGone as ConsumerGone
from ._kernel import KernelError as KernelError
from ._kernel import MailboxClosed as MailboxClosed
from ._kernel import NameTaken as NameTaken
from ._kernel import SupervisorGaveUp as SupervisorGaveUp
from ._kernel import UnhandledMessage as UnhandledMessage
from ._kernel import ValidationError as ValidationError


class ConfigurationError(ValidationError):
    """A provider cannot be set up: a missing key, package, model file or base_url."""


class UnknownOption(ValidationError, TypeError):
    """A keyword the call does not take (misspelt, or another call's such as
    `response_model`), or a value that cannot travel in a JSON body. Raised
    before any request; also a TypeError, as for an unexpected keyword."""


class ProviderError(AbstractCoreActorsError):
    """A call to an LLM provider failed. `retryable` says whether retrying may help."""

    retryable = False
    advice = "check the request and the provider's status"
    # Set by the provider actor: did any chunk of this stream reach the caller?
    # (Then the error is raised, never retried.)
    first_token_sent = False
    # Set by structured-output calls (which retry): the attempts that ran
    # before this failure, so their usage is not lost with the error.
    earlier_attempts: tuple[Any, ...] = ()

    def __init__(
        self,
        detail: str,
        *,
        provider: str,
        model: str,
        status_code: int | None = None,
        advice: str | None = None,
    ) -> None:
        self.detail = detail
        self.provider = provider
        self.model = model
        self.status_code = status_code
        if advice is not None:  # this error's own cause knows better than its type
            self.advice = advice
        status = f" (HTTP {status_code})" if status_code else ""
        super().__init__(f"{provider} ({model}){status}: {detail} — {self.advice}")


class AuthenticationError(ProviderError):
    """The provider refused the credentials (401/403)."""

    advice = "check the API key (environment variable or api_key=) and its permissions"


class RateLimited(ProviderError):
    """The provider asked us to slow down (429); `retry_after` is in seconds."""

    retryable = True
    advice = "retry later, or lower max_concurrent for this provider"

    def __init__(
        self,
        detail: str,
        *,
        provider: str,
        model: str,
        status_code: int | None = 429,
        retry_after: float | None = None,
        advice: str | None = None,
    ) -> None:
        self.retry_after = retry_after
        if retry_after is not None:
            detail = f"{detail} (retry after {retry_after:g}s)"
        super().__init__(
            detail, provider=provider, model=model, status_code=status_code, advice=advice
        )


class ProviderTimeout(ProviderError, TimeoutError):
    """No answer, or no next byte of a stream, within the timeout."""

    retryable = True
    advice = "raise timeout= (per call) or the provider's timeout, or try again"


class ProviderUnavailable(ProviderError):
    """The provider is down, overloaded, or the connection failed (5xx, refused, reset)."""

    retryable = True
    advice = "retry later; if it persists, check base_url and that the server is running"


class CircuitOpen(ProviderUnavailable):
    """Recent calls failed so often that calls fail fast until the breaker
    half-opens, in `retry_after` seconds (a router cools the deployment down
    that long)."""

    retryable = False
    advice = "wait for the breaker to half-open, or route to another provider"
    retry_after = 0.0


class ProviderPaused(ProviderUnavailable):
    """The provider's actor crashed past its restart intensity and is parked
    (see `give_up="back_off"`); it restarts in `retry_after` seconds. Other
    models, and the program, are not affected."""

    retryable = False  # not before `retry_after`: an immediate retry meets the same pause

    def __init__(self, detail: str, *, provider: str, model: str, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(
            detail,
            provider=provider,
            model=model,
            advice=f"retry in {retry_after:.1f}s, or route to another model",
        )


class BadRequest(ProviderError):
    """The provider rejected the request as malformed (400/404/422)."""

    advice = "the provider refused the request as sent: change what its message names"


class ContextTooLong(BadRequest):
    """The prompt (plus max_tokens) does not fit the model's context window."""

    advice = "shorten the conversation or lower max_tokens"


class UnsupportedOperation(BadRequest):
    """The provider (or this model) cannot do what was asked, e.g. embeddings."""

    advice = "use a provider that offers it (e.g. an OpenAI-compatible server or the local model)"


class InvalidResponse(ProviderError):
    """The provider's answer was malformed or cut short (bad JSON/SSE, no end marker)."""

    retryable = True
    advice = "retry; if it persists the server does not speak the protocol correctly"


class LimitExceeded(InvalidResponse):
    """The upstream's answer passed one of the model's limits (`limit` names the option).

    Not retried: the same upstream would most likely send the same answer."""

    retryable = False
    advice = (
        "if such answers are legitimate, raise that option for this model "
        "(see docs/providers.md, Limits)"
    )

    def __init__(self, detail: str, *, provider: str, model: str, limit: str) -> None:
        self.limit = limit
        super().__init__(detail, provider=provider, model=model)


class SyncCalledFromAsync(AbstractCoreActorsError, RuntimeError):
    """A blocking sync-facade call was made inside a running event loop."""

    def __init__(self, call: str, instead: str) -> None:
        super().__init__(
            f"{call} blocks, and it was called inside a running event loop (trio or "
            f"asyncio), where it would freeze every other task. Use the async API "
            f"instead: {instead}"
        )


class NotUnderTrio(AbstractCoreActorsError, RuntimeError):
    """The async API was used outside trio (under asyncio, or with no event loop)."""

    def __init__(self, call: str, found: str) -> None:
        super().__init__(
            f"{call} runs on trio, and it was called {found}. Run it under trio "
            "(trio.run(main)); from asyncio code, use abstractcore_actors.compat, whose "
            "calls are awaited from asyncio (`llm = await create_llm_async(...)`, then "
            "`await llm.generate_async(...)`; the runtime runs on a thread of its own), "
            "or call the blocking sync facade in a worker thread "
            "(`await asyncio.to_thread(llm.generate, ...)`), or host trio inside asyncio "
            "with trio-asyncio or trio's guest mode"
        )


class BudgetExceeded(AbstractCoreActorsError):
    """A call would take a budget past its limit. Names the budget, the limit,
    what is spent (and held by calls in flight) and when the budget resets
    (`resets_at`, seconds since the epoch; None for a total budget)."""

    def __init__(
        self,
        budget: str,
        *,
        unit: str,
        limit: float,
        spent: float,
        reserved: float,
        wanted: float,
        resets_at: float | None,
    ) -> None:
        self.budget = budget
        self.unit = unit
        self.limit = limit
        self.spent = spent
        self.reserved = reserved
        self.wanted = wanted
        self.resets_at = resets_at
        when = (
            "it never resets (a total budget)"
            if resets_at is None
            else f"it resets at {_utc(resets_at)}"
        )
        super().__init__(
            f"budget {budget!r} would be exceeded: limit {_amount(limit, unit)}, spent "
            f"{_amount(spent, unit)}, held by calls in flight {_amount(reserved, unit)}, this "
            f"call needs up to {_amount(wanted, unit)}; {when}. Lower max_tokens, wait for "
            "the reset, or raise the budget"
        )


class BudgetStoreUnavailable(AbstractCoreActorsError):
    """The shared budget store (Redis) cannot be reached, so no call can be
    held against its budgets; by default such calls are refused (fail
    closed) until it is back."""


class RateLimitExceeded(AbstractCoreActorsError):
    """A key sent more requests or tokens per minute than its limit allows;
    `retry_after` is when the sliding window has room again, in seconds."""

    def __init__(self, key: str, *, unit: str, limit: int, retry_after: float) -> None:
        self.key = key
        self.unit = unit
        self.limit = limit
        self.retry_after = retry_after
        super().__init__(
            f"key {key!r} is over its limit of {limit} {unit} per minute; "
            f"retry in {retry_after:.1f}s, or ask for a higher limit"
        )


def _amount(value: float, unit: str) -> str:
    return f"${value:.6f}" if unit == "usd" else f"{value:,.0f} tokens"


def _utc(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class AllAttemptsFailed(AbstractCoreActorsError):
    """Every attempt of a pattern (race, hedge, ensemble) failed; `.errors` has each cause."""

    def __init__(self, pattern: str, failures: list[tuple[str, BaseException]]) -> None:
        self.pattern = pattern
        self.errors = [error for _, error in failures]
        self.labels = [label for label, _ in failures]
        causes = "; ".join(f"{label}: {type(err).__name__}: {err}" for label, err in failures)
        super().__init__(
            f"{pattern}: all {len(failures)} attempt(s) failed — {causes or 'no attempt ran'}. "
            "Each cause is in `.errors`; add providers, relax `accept`, or raise the deadline"
        )


class ToolServerError(AbstractCoreActorsError):
    """An MCP server could not be started or reached, or stopped answering.

    The message names the server (its command or URL) and, for a process
    that exited, the last lines it wrote to stderr."""


class PatternTimeout(AbstractCoreActorsError, TimeoutError):
    """A pattern (race, hedge, their streams) found no acceptable answer within its
    `timeout`; `.labels` names the attempts, each of which was cancelled."""

    def __init__(self, pattern: str, detail: str, labels: list[str]) -> None:
        self.pattern = pattern
        self.labels = labels
        super().__init__(
            f"{pattern}: {detail}. Raise timeout=, or add a faster provider to the pattern"
        )


class QuorumNotReached(AllAttemptsFailed):
    """An ensemble got fewer good answers than `min_responses` before its deadline."""


class InternalError(ProviderError):
    """A bug, in this package or an SDK beneath it, met while handling one call.

    Only that call fails: the provider actor goes on serving the others and is
    not restarted, the breaker does not count it, and it is never retried (the
    upstream is not at fault). The traceback is logged (redacted) on the
    `abstractcore_actors.providers` logger.
    """

    advice = (
        "this is a bug in abstractcore-actors or the SDK it uses, not the provider's fault: "
        "please report it with the traceback from the log"
    )


__all__ = [
    "AbstractCoreActorsError",
    "ActorCrashed",
    "ActorNotFound",
    "ActorUnavailable",
    "AllAttemptsFailed",
    "AskTimeout",
    "AuthenticationError",
    "BadRequest",
    "BudgetExceeded",
    "BudgetStoreUnavailable",
    "CircuitOpen",
    "ConfigurationError",
    "ConsumerGone",
    "ContextTooLong",
    "InternalError",
    "InvalidResponse",
    "KernelError",
    "LimitExceeded",
    "MailboxClosed",
    "NameTaken",
    "NotUnderTrio",
    "PatternTimeout",
    "ProviderError",
    "ProviderPaused",
    "ProviderTimeout",
    "ProviderUnavailable",
    "QuorumNotReached",
    "RateLimitExceeded",
    "RateLimited",
    "SupervisorGaveUp",
    "SyncCalledFromAsync",
    "ToolServerError",
    "UnhandledMessage",
    "UnknownOption",
    "UnsupportedOperation",
    "ValidationError",
]
