"""Requests and tokens per minute, per key: a sliding window of 60 s.

A request is admitted when the key's requests of the last 60 s are fewer
than `rpm`, and its tokens of the last 60 s, plus those held by its calls
in flight, plus this call's worst case, are within `tpm`. At settle the
hold is replaced by what the call really used, dated when it started.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import attrs

from ..errors import RateLimitExceeded

WINDOW = 60.0


@attrs.define(eq=False)
class _Entry:
    at: float
    tokens: int


@attrs.define(eq=False)
class Ticket:
    key: str
    entry: _Entry
    held: int
    settled: bool = False


@attrs.define(eq=False)
class _KeyWindow:
    entries: deque[_Entry] = attrs.field(factory=deque)
    tokens: int = 0  # of the entries in the window
    held: int = 0  # worst cases of calls in flight

    def prune(self, now: float) -> None:
        while self.entries and self.entries[0].at <= now - WINDOW:
            self.tokens -= self.entries.popleft().tokens


class RateWindow:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._keys: dict[str, _KeyWindow] = {}

    def admit(self, key: str, rpm: int | None, tpm: int | None, tokens: int) -> Ticket:
        """A ticket for one request, or RateLimitExceeded saying when to retry."""
        now = self._clock()
        window = self._keys.setdefault(key, _KeyWindow())
        window.prune(now)
        if rpm is not None and len(window.entries) >= rpm:
            wait = window.entries[-rpm].at + WINDOW - now
            raise RateLimitExceeded(key, unit="requests", limit=rpm, retry_after=max(wait, 0.0))
        if tpm is not None and window.tokens + window.held + tokens > tpm:
            if tokens > tpm:
                wait = WINDOW  # never fits: say a whole window, and the message says why
            else:
                wait = self._tokens_free_in(window, window.tokens + window.held + tokens - tpm, now)
            raise RateLimitExceeded(key, unit="tokens", limit=tpm, retry_after=wait)
        entry = _Entry(at=now, tokens=0)
        window.entries.append(entry)
        window.held += tokens
        return Ticket(key=key, entry=entry, held=tokens)

    @staticmethod
    def _tokens_free_in(window: _KeyWindow, excess: int, now: float) -> float:
        freed = 0
        for entry in window.entries:
            freed += entry.tokens
            if freed >= excess:
                return max(entry.at + WINDOW - now, 0.0)
        return WINDOW  # held by calls in flight: they settle first

    def settle(self, ticket: Ticket, tokens: int) -> None:
        if ticket.settled:
            return
        ticket.settled = True
        window = self._keys[ticket.key]
        window.held -= ticket.held
        if window.entries and window.entries[0].at <= ticket.entry.at:  # still in the window
            ticket.entry.tokens = tokens
            window.tokens += tokens
