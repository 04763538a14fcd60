"""Reserve before a call, settle after: budgets that concurrent calls cannot
overspend.

A call first reserves what it may spend at most (its worst case: see
`_estimate.py`). The reservation is admitted only when, for every budget
that counts the call, spent + held by calls in flight + this reservation
stays within the limit; then it is held. When the call ends (answered,
failed, cancelled, a stream cut short) it settles: its hold is released
and what it really spent is added. So at every moment spent + held <=
limit, and a call can spend past its reservation only if its worst case
was wrong — never because other calls ran at the same time.

Checking and holding happen with no await between them, in one trio
thread: two calls cannot both pass the check on the same remaining money.
Spent amounts are per period (the UTC day or month, or all time); they are
rebuilt from the ledger when the gateway restarts (`load`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence

import attrs

from ..errors import BudgetExceeded, ValidationError
from ._spec import Budget, Spend, Who

# (budget label, subject, period name): one running total
CounterKey = tuple[str, str, str]


class UnpricedUnderBudget(ValidationError):
    """A dollar budget counts this call, but a model it may use has no price."""


@attrs.define(eq=False)
class Reservation:
    """What one call holds until it settles (settling twice is harmless)."""

    who: Who
    want: Spend
    keys: tuple[CounterKey, ...]
    settled: bool = False
    id: str = ""  # its name in a shared store (Redis)


def counting(
    budgets: Sequence[Budget], who: Who, now: float
) -> list[tuple[Budget, CounterKey, float | None]]:
    """The budgets that count `who`'s call at `now`: each with its running
    total's key and when its period resets."""
    found = []
    for budget in budgets:
        subject = budget.subject(who)
        if subject is not None:
            period, _, resets = budget.period.window(now)
            found.append((budget, (budget.label, subject, period), resets))
    return found


def refusal(
    budget: Budget, unit: str, spent: int, held: int, want: int, resets: float | None
) -> BudgetExceeded:
    """BudgetExceeded for `budget` (amounts in nano-USD or tokens)."""
    scale = 1e9 if unit == "usd" else 1
    limit = budget.limit_nano_usd if unit == "usd" else budget.tokens
    return BudgetExceeded(
        budget.label,
        unit=unit,
        limit=(limit or 0) / scale,
        spent=spent / scale,
        reserved=held / scale,
        wanted=want / scale,
        resets_at=resets,
    )


def unpriced(budget: Budget) -> UnpricedUnderBudget:
    return UnpricedUnderBudget(
        f"budget {budget.label!r} counts dollars, and a model this call may use "
        "has no known price; give it one ([prices] in the gateway config)"
    )


class BudgetBook:
    """The running totals of every budget, in memory (see the module docstring)."""

    def __init__(self, budgets: Sequence[Budget], clock: Callable[[], float] = time.time) -> None:
        self.budgets = tuple(budgets)
        self._clock = clock
        self._spent: dict[CounterKey, Spend] = {}
        self._held: dict[CounterKey, Spend] = {}

    def _counting(self, who: Who, now: float) -> list[tuple[Budget, CounterKey, float | None]]:
        return counting(self.budgets, who, now)

    def reserve(self, who: Who, want: Spend) -> Reservation:
        """Hold `want` against every budget that counts `who`'s call, or raise
        BudgetExceeded naming the first one it would take past its limit
        (holding nothing then). UnpricedUnderBudget when a dollar budget
        counts the call and its cost cannot be known."""
        found = self._counting(who, self._clock())
        for budget, key, resets in found:
            spent = self._spent.get(key, Spend())
            held = self._held.get(key, Spend())
            limit = budget.limit_nano_usd
            if limit is not None:
                if not want.priced:
                    raise unpriced(budget)
                if spent.nano_usd + held.nano_usd + want.nano_usd > limit:
                    raise refusal(
                        budget, "usd", spent.nano_usd, held.nano_usd, want.nano_usd, resets
                    )
            tokens = budget.tokens
            if tokens is not None and spent.tokens + held.tokens + want.tokens > tokens:
                raise refusal(budget, "tokens", spent.tokens, held.tokens, want.tokens, resets)
        keys = tuple(key for _, key, _ in found)
        for key in keys:
            self._held[key] = self._held.get(key, Spend()) + want
        return Reservation(who=who, want=want, keys=keys)

    def settle(self, reservation: Reservation, actual: Spend) -> None:
        """Release the hold and add what the call really spent, to the period
        it ends in."""
        if reservation.settled:
            return
        reservation.settled = True
        for key in reservation.keys:
            left = self._held[key] - reservation.want
            if left.nano_usd == 0 and left.tokens == 0:
                del self._held[key]
            else:
                self._held[key] = left
        for _, key, _ in self._counting(reservation.who, self._clock()):
            self._spent[key] = self._spent.get(key, Spend()) + actual

    def load(self, totals: Iterable[tuple[CounterKey, Spend]]) -> None:
        """Add spent totals read back from the ledger (at start-up)."""
        for key, spend in totals:
            self._spent[key] = self._spent.get(key, Spend()) + spend

    def spent(self, key: CounterKey) -> Spend:
        return self._spent.get(key, Spend())

    def held(self, key: CounterKey) -> Spend:
        return self._held.get(key, Spend())

    def holding(self) -> int:
        """Counters with something held (0 when no call is in flight)."""
        return len(self._held)
