"""What the gateway keeps of spending: the budgets (in memory, or in Redis
for several replicas), the rate windows, and the ledger of settled calls,
opened and closed together.

With Redis down, a call that a budget counts is refused with
BudgetStoreUnavailable (`when_store_down="closed"`, the default), or let
through unheld (`"open"`, logged). A settle that cannot reach Redis is
kept and retried before the next reservation, so a spend is not lost to
an outage (a hold it left expires by itself)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import attrs
import trio

from ..errors import BudgetStoreUnavailable
from ._book import BudgetBook, Reservation
from ._ledger import CallRecord, SqliteLedger
from ._rates import RateWindow, Ticket
from ._redis import RedisClient, RedisUnavailable
from ._redis_rates import RedisRates, SharedTicket
from ._redis_store import RedisBudgets
from ._spec import Budget, Spend, Who

log = logging.getLogger("abstractcore_actors.budgets")


@attrs.define(eq=False)
class Hold:
    """What one call holds until it settles: its budget reservation and its
    rate-limit ticket (either may be absent)."""

    reservation: Reservation | None = None
    ticket: Ticket | SharedTicket | None = None


class _MemoryStore:
    """The in-process book behind the store interface (no awaits inside: atomic)."""

    def __init__(self, book: BudgetBook) -> None:
        self.book = book

    async def reserve(self, who: Who, want: Spend) -> Reservation:
        return self.book.reserve(who, want)

    async def settle(self, reservation: Reservation, actual: Spend) -> None:
        self.book.settle(reservation, actual)


class Spending:
    """Budgets, rate limits and the ledger of one gateway (or one Python app)."""

    def __init__(
        self,
        budgets: Sequence[Budget] = (),
        ledger: SqliteLedger | None = None,
        clock: Callable[[], float] = time.time,
        *,
        shared: RedisBudgets | None = None,
        when_store_down: str = "closed",
    ) -> None:
        self.budgets = tuple(budgets)
        self.book = BudgetBook(budgets, clock)
        self.shared = shared
        self._store: _MemoryStore | RedisBudgets = shared or _MemoryStore(self.book)
        self.ledger = ledger
        self.rates = RateWindow(clock)
        self.shared_rates = RedisRates(shared.client, prefix=shared.prefix) if shared else None
        self._clock = clock
        self.when_store_down = when_store_down
        self._unsettled: list[tuple[Reservation, Spend]] = []

    @classmethod
    async def open(
        cls,
        budgets: Sequence[Budget] = (),
        ledger_path: str | Path | None = None,
        clock: Callable[[], float] = time.time,
        *,
        redis_url: str | None = None,
        redis_prefix: str = "abstractcore:",
        hold_ttl: float = 900.0,
        when_store_down: str = "closed",
    ) -> Spending:
        """Open the ledger (when a path is given) and resume the budgets from it
        — or, with `redis_url`, keep them in Redis, shared by every replica
        (each replica's ledger then records its own calls only)."""
        ledger = await SqliteLedger.open(ledger_path) if ledger_path is not None else None
        shared = None
        if redis_url is not None:
            client = RedisClient.from_url(redis_url)
            shared = RedisBudgets(budgets, client, prefix=redis_prefix, hold_ttl=hold_ttl)
        spending = cls(budgets, ledger, clock, shared=shared, when_store_down=when_store_down)
        if ledger is not None and shared is None:
            spending.book.load(await ledger.totals(budgets, clock()))
        return spending

    def counts(self, who: Who) -> bool:
        """Whether any budget counts `who`'s calls."""
        return any(b.subject(who) is not None for b in self.budgets)

    async def hold(
        self, who: Who, want: Spend, rpm: int | None = None, tpm: int | None = None
    ) -> Hold:
        """Admit one call: its rate limits, then its budgets (raising
        RateLimitExceeded, BudgetExceeded or BudgetStoreUnavailable, holding
        nothing then)."""
        held = Hold()
        if (rpm is not None or tpm is not None) and who.key is not None:
            held.ticket = await self._admit(who.key, rpm, tpm, want.tokens)
        try:
            if self.counts(who):
                held.reservation = await self._reserve(who, want)
        except BaseException:
            await self._settle_ticket(held.ticket, 0)
            raise
        return held

    async def _admit(
        self, key: str, rpm: int | None, tpm: int | None, tokens: int
    ) -> Ticket | SharedTicket | None:
        if self.shared_rates is None:
            return self.rates.admit(key, rpm, tpm, tokens)
        try:
            return await self.shared_rates.admit(key, rpm, tpm, tokens)
        except RedisUnavailable as exc:
            self._store_down(exc, "rate limits")
            return None

    async def _reserve(self, who: Who, want: Spend) -> Reservation | None:
        try:
            await self._retry_unsettled()
            return await self._store.reserve(who, want)
        except RedisUnavailable as exc:
            self._store_down(exc, "budgets")
            return None

    def _store_down(self, exc: RedisUnavailable, what: str) -> None:
        """Log and go on (when_store_down="open"), or raise BudgetStoreUnavailable."""
        if self.when_store_down == "open":
            log.warning("shared store down, call let through unchecked by its %s: %s", what, exc)
            return
        raise BudgetStoreUnavailable(
            f"the shared budget store is unreachable ({exc}); calls that its {what} "
            'count are refused until it is back (when_store_down = "closed")'
        ) from None

    async def _settle_ticket(self, ticket: Ticket | SharedTicket | None, tokens: int) -> None:
        if isinstance(ticket, Ticket):
            self.rates.settle(ticket, tokens)
        elif ticket is not None and self.shared_rates is not None:
            try:
                await self.shared_rates.settle(ticket, tokens)
            except RedisUnavailable as exc:  # its hold leaves the window within 60 s anyway
                log.warning("rate limit store down, settle dropped: %s", exc)

    async def _retry_unsettled(self) -> None:
        while self._unsettled:
            reservation, actual = self._unsettled[0]
            await self._store.settle(reservation, actual)  # RedisUnavailable: kept for later
            self._unsettled.pop(0)

    async def settle(self, held: Hold, actual: Spend, record: CallRecord | None) -> None:
        """Release the holds, count what was spent, and (with a ledger) return
        once the call's record is committed. Shielded: a call that ended by
        a cancel must still settle."""
        with trio.CancelScope(shield=True):
            reservation = held.reservation
            if reservation is not None:
                try:
                    await self._store.settle(reservation, actual)
                except RedisUnavailable as exc:
                    log.warning("budget store down, settle kept for later: %s", exc)
                    self._unsettled.append((reservation, actual))
            await self._settle_ticket(held.ticket, actual.tokens)
            if self.ledger is not None and record is not None:
                await self.ledger.record(record)

    async def aclose(self) -> None:
        with trio.CancelScope(shield=True):
            if self.shared is not None:
                try:
                    await self._retry_unsettled()
                except RedisUnavailable as exc:
                    log.error("%d settle(s) never reached Redis: %s", len(self._unsettled), exc)
                await self.shared.client.aclose()
            if self.ledger is not None:
                await self.ledger.aclose()
