"""Errors of the actor kernel, and the root of every error the package raises.

    AbstractCoreActorsError            root: catch this to catch everything we raise
     ├── ValidationError (ValueError)  bad input to a call: fix the arguments
     └── KernelError                   the actor runtime itself
          ├── ActorNotFound (LookupError)
          ├── NameTaken (ValueError)
          ├── MailboxClosed
          ├── ActorCrashed              the handler raised; `reason` keeps the cause
          ├── AskTimeout (TimeoutError)
          ├── UnhandledMessage (TypeError)
          ├── ConsumerGone              a stream's reader left (producer-side signal)
          ├── ActorUnavailable          parked after too many crashes; back in `retry_in` s
          └── SupervisorGaveUp          restart intensity exceeded; escalates upward

Higher layers (providers, sessions, the gateway) extend this tree in
`abstractcore_actors.errors`.
"""

from __future__ import annotations


class AbstractCoreActorsError(Exception):
    """Root of every error raised by abstractcore_actors."""


class ValidationError(AbstractCoreActorsError, ValueError):
    """An argument or message is malformed; the message says which and how to fix it.

    `param` names the offending field where there is one (`"temperature"`,
    `"messages[2].content"`): the gateway reports it as the 400's `param`."""

    def __init__(self, *args: object, param: str | None = None) -> None:
        super().__init__(*args)
        self.param = param


class KernelError(AbstractCoreActorsError):
    """An error of the actor runtime itself."""


class ActorNotFound(KernelError, LookupError):
    """No running actor has the given name."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"no running actor is named {name!r}: spawn it first "
            f"(rt.spawn(..., name={name!r})) or check rt.names() for the live ones"
        )
        self.name = name


class NameTaken(KernelError, ValueError):
    """Another live actor already has the requested name."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"an actor named {name!r} is already running: pick another name, "
            "or stop the old actor first (its name is freed when it stops)"
        )
        self.name = name


class MailboxClosed(KernelError):
    """The actor has stopped, so its mailbox accepts no more messages."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"actor {name!r} has stopped and its mailbox is closed: look it up again "
            "(rt.lookup) if it was restarted under a new ref, or spawn a new one"
        )
        self.name = name


class ActorCrashed(KernelError):
    """The actor failed (or stopped) while handling this request; `reason` is why."""

    def __init__(
        self, name: str, reason: BaseException | str, *, during: str = "handling the request"
    ) -> None:
        why = reason if isinstance(reason, str) else f"{type(reason).__name__}: {reason}"
        super().__init__(
            f"actor {name!r} crashed while {during} ({why}); its supervisor "
            "decides whether it restarts — retry the request or check the crash reason"
        )
        self.name = name
        self.reason = reason


class AskTimeout(KernelError, TimeoutError):
    """No reply arrived within the ask timeout; the work was cancelled."""

    def __init__(self, name: str, timeout: float) -> None:
        super().__init__(
            f"actor {name!r} did not reply within {timeout:g}s; the request was cancelled. "
            "Raise the timeout, or check that the handler does not block"
        )
        self.name = name
        self.timeout = timeout


class UnhandledMessage(KernelError, TypeError):
    """The actor's behaviour has no handler for this kind of message."""

    def __init__(self, name: str, message: object, how: str = "receive") -> None:
        super().__init__(
            f"actor {name!r} cannot {how} a {type(message).__name__} message: "
            f"send one of the message types its behaviour handles"
        )
        self.name = name
        self.message = message


class ConsumerGone(KernelError):
    """The reader of a stream went away; the producer should stop (let it propagate)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"the consumer of a stream from actor {name!r} has gone away")
        self.name = name


class SupervisorGaveUp(KernelError):
    """A child crashed more often than the restart intensity allows."""

    def __init__(self, supervisor: str, child: str, restarts: int, within: float) -> None:
        super().__init__(
            f"supervisor {supervisor!r} gave up: child {child!r} crashed more than "
            f"{restarts} times within {within:g}s. The crash reasons are in "
            "`.crashes`; fix the cause or raise max_restarts"
        )
        self.supervisor = supervisor
        self.child = child
        self.crashes: list[BaseException] = []


class ActorUnavailable(KernelError):
    """The actor crashed past its restart intensity and is parked; it restarts
    in `retry_in` seconds (see `give_up="back_off"`). `reason` is the last crash."""

    def __init__(self, name: str, retry_in: float, reason: BaseException) -> None:
        super().__init__(
            f"actor {name!r} kept crashing and is paused: it restarts in {retry_in:.1f}s — "
            f"retry then (last crash: {type(reason).__name__}: {reason})"
        )
        self.name = name
        self.retry_in = retry_in
        self.reason = reason
