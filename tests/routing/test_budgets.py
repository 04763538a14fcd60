"""Budgets under concurrency, as properties: many calls at once with random
worst cases, real spends, failures and cancels at any point against one
budget — spent + held never passes the limit, nothing is lost or left held,
and the refused calls are exactly those that would not have fit.
MockClock: the calls' durations cost no real time."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from abstractcore_actors._budgets import Budget, BudgetBook, Spend, Spending, Who
from abstractcore_actors._budgets._book import UnpricedUnderBudget
from abstractcore_actors.errors import BudgetExceeded, RateLimitExceeded, ValidationError

LIMIT_NANO = 1_000_000  # $0.001


calls = st.lists(
    st.tuples(
        st.integers(1, 400_000),  # worst case, nano-USD
        st.floats(0, 1),  # the share of it really spent
        st.floats(0, 5),  # when it starts
        st.floats(0, 5),  # how long it runs
        st.sampled_from(["answered", "failed", "cancelled"]),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(calls)
def test_concurrent_calls_never_overspend_and_lose_nothing(
    plan: list[tuple[int, float, float, float, str]],
) -> None:
    budget = Budget(scope="key", name="team", period="total", usd=Decimal(LIMIT_NANO) / 10**9)
    who = Who(key="team")
    counter = (budget.label, "team", "total")
    settled: list[int] = []
    refused: list[int] = []
    worst: list[float] = []

    async def main() -> None:
        clock_start = trio.current_time()
        spending = Spending([budget], clock=lambda: 0.0)
        book = spending.book

        def check() -> None:
            total = book.spent(counter).nano_usd + book.held(counter).nano_usd
            worst.append(total)
            assert total <= LIMIT_NANO

        async def call(want: int, share: float, start: float, length: float, end: str) -> None:
            await trio.sleep_until(clock_start + start)
            try:
                held = await spending.hold(who, Spend(want, 0))
            except BudgetExceeded as exc:
                # refused only when it would not have fit at that moment
                assert exc.spent * 1e9 + exc.reserved * 1e9 + want > LIMIT_NANO - 1
                refused.append(want)
                return
            check()
            actual = 0
            try:
                with trio.CancelScope() as scope:
                    if end == "cancelled":
                        scope.deadline = trio.current_time() + length / 2
                    await trio.sleep(length)
                    if end == "answered":
                        actual = math.floor(want * share)
                if scope.cancelled_caught:
                    actual = math.floor(want * share / 2)  # what it streamed before the stop
            finally:
                await spending.settle(held, Spend(actual, 0), None)
                settled.append(actual)
                check()

        async with trio.open_nursery() as nursery:
            for item in plan:
                nursery.start_soon(call, *item)
        assert book.holding() == 0  # nothing left held
        assert book.spent(counter).nano_usd == sum(settled)  # nothing lost

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert len(settled) + len(refused) == len(plan)
    assert max(worst, default=0) <= LIMIT_NANO


def test_a_refusal_names_the_budget_its_limit_and_its_reset() -> None:
    budget = Budget(scope="user", name="*", period="day", tokens=100)
    book = BudgetBook([budget], clock=lambda: 1_800_000_000.0)  # 2027-01-15 08:00 UTC
    held = book.reserve(Who(user="ada"), Spend(0, 60))
    book.reserve(Who(user="bob"), Spend(0, 60))  # each user has a budget of their own
    with pytest.raises(BudgetExceeded) as caught:
        book.reserve(Who(user="ada"), Spend(0, 60))
    error = caught.value
    assert (error.budget, error.unit, error.limit, error.reserved) == (
        "user:*/day",
        "tokens",
        100,
        60,
    )
    assert "2027-01-16 00:00:00 UTC" in str(error) and "Lower max_tokens" in str(error)
    book.settle(held, Spend(0, 10))
    book.reserve(Who(user="ada"), Spend(0, 60))  # 10 spent + 60: fits now
    book.settle(held, Spend(0, 999))  # settling twice changes nothing
    assert book.spent(("user:*/day", "ada", "2027-01-15")).tokens == 10


def test_a_dollar_budget_refuses_a_model_without_a_price() -> None:
    book = BudgetBook([Budget(scope="team", name="a", usd=1)])
    with pytest.raises(UnpricedUnderBudget, match="has no known price"):
        book.reserve(Who(team="a"), Spend(0, 10, priced=False))
    assert book.reserve(Who(team="b"), Spend(0, 10, priced=False)).keys == ()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"scope": "key", "name": "a"}, "needs usd"),
        ({"scope": "key", "name": "a", "usd": -1}, ">= 0"),
        ({"scope": "key", "name": "a", "tokens": 1.5}, "whole number"),
        ({"scope": "org", "name": "a", "usd": 1}, "org"),
        ({"scope": "key", "name": "a", "usd": 1, "period": "week"}, "week"),
    ],
)
def test_a_bad_budget_is_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises((ValidationError, ValueError), match=message):
        Budget(**fields)  # type: ignore[arg-type]


async def test_rate_limits_slide_over_sixty_seconds() -> None:
    now = [0.0]
    spending = Spending(clock=lambda: now[0])
    who = Who(key="k")
    first = await spending.hold(who, Spend(0, 50), rpm=2, tpm=100)
    await spending.hold(who, Spend(0, 10), rpm=2, tpm=100)
    with pytest.raises(RateLimitExceeded, match="2 requests per minute") as caught:
        await spending.hold(who, Spend(0, 1), rpm=2, tpm=100)
    assert caught.value.retry_after == 60.0
    now[0] = 61.0
    with pytest.raises(RateLimitExceeded, match="100 tokens per minute"):
        await spending.hold(who, Spend(0, 41), rpm=5, tpm=100)  # 50 + 10 still held
    assert first.ticket is not None
    spending.rates.settle(first.ticket, 5)
    await spending.hold(who, Spend(0, 41), rpm=5, tpm=100)
