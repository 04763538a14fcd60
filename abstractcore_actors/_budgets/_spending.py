"""What the gateway keeps of spending: the budgets' book, the rate windows,
and the ledger of settled calls, opened and closed together."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import attrs
import trio

from ._book import BudgetBook, Reservation
from ._ledger import CallRecord, SqliteLedger
from ._rates import RateWindow, Ticket
from ._spec import Budget, Spend, Who


@attrs.define(eq=False)
class Hold:
    """What one call holds until it settles: its budget reservation and its
    rate-limit ticket (either may be absent)."""

    reservation: Reservation | None = None
    ticket: Ticket | None = None


class Spending:
    """Budgets, rate limits and the ledger of one gateway (or one Python app)."""

    def __init__(
        self,
        budgets: Sequence[Budget] = (),
        ledger: SqliteLedger | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.book = BudgetBook(budgets, clock)
        self.ledger = ledger
        self.rates = RateWindow(clock)
        self._clock = clock

    @classmethod
    async def open(
        cls,
        budgets: Sequence[Budget] = (),
        ledger_path: str | Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> Spending:
        """Open the ledger (when a path is given) and resume the budgets from it."""
        ledger = await SqliteLedger.open(ledger_path) if ledger_path is not None else None
        spending = cls(budgets, ledger, clock)
        if ledger is not None:
            spending.book.load(await ledger.totals(budgets, clock()))
        return spending

    def counts(self, who: Who) -> bool:
        """Whether any budget counts `who`'s calls."""
        return any(b.subject(who) is not None for b in self.book.budgets)

    def hold(self, who: Who, want: Spend, rpm: int | None = None, tpm: int | None = None) -> Hold:
        """Admit one call: its rate limits, then its budgets (raising
        RateLimitExceeded or BudgetExceeded, holding nothing then)."""
        held = Hold()
        if (rpm is not None or tpm is not None) and who.key is not None:
            held.ticket = self.rates.admit(who.key, rpm, tpm, want.tokens)
        try:
            if self.counts(who):
                held.reservation = self.book.reserve(who, want)
        except BaseException:
            if held.ticket is not None:
                self.rates.settle(held.ticket, 0)
            raise
        return held

    async def settle(self, held: Hold, actual: Spend, record: CallRecord | None) -> None:
        """Release the holds, count what was spent, and (with a ledger) return
        once the call's record is committed. Shielded: a call that ended by
        a cancel must still settle."""
        with trio.CancelScope(shield=True):
            if held.reservation is not None:
                self.book.settle(held.reservation, actual)
            if held.ticket is not None:
                self.rates.settle(held.ticket, actual.tokens)
            if self.ledger is not None and record is not None:
                await self.ledger.record(record)

    async def aclose(self) -> None:
        if self.ledger is not None:
            await self.ledger.aclose()
