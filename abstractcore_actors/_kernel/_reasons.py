"""Why an actor ended: the real reason inside the exception groups trio wraps it in."""

from __future__ import annotations


def split_crash(exc: BaseException) -> tuple[Exception | None, BaseException | None]:
    """(the crash, the rest): the `Exception` part of `exc` as one reason, and
    whatever is not an Exception (a cancel, KeyboardInterrupt), to re-raise."""
    if isinstance(exc, Exception):
        reason = unwrap(exc)
        return (reason if isinstance(reason, Exception) else exc), None
    if isinstance(exc, BaseExceptionGroup):
        crashes, rest = exc.split(Exception)
        if crashes is not None:
            reason = unwrap(crashes)
            return (reason if isinstance(reason, Exception) else crashes), rest
    return None, exc


def unwrap(exc: BaseException) -> BaseException:
    """A lone exception inside (nested) groups is the real reason: show that."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc
