"""Prices from genai-prices' data set, overrides, self-hosted zero, and the
unknown state: a cost nobody can price is None, never 0."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from abstractcore_actors._pricing import Price, PriceBook, PriceTier
from abstractcore_actors.errors import ValidationError
from abstractcore_actors.types import Cost, Usage


def test_a_known_model_is_priced_from_the_data_set() -> None:
    book = PriceBook()
    facts = book.facts("openai", "gpt-4o-mini")
    assert facts.price is not None and facts.price.source.startswith("genai-prices")
    assert facts.context_window and facts.context_window >= 128_000
    # $0.15 / $0.60 per 1M tokens: 1000 in + 200 out = 150 + 120 micro-dollars
    cost = book.cost("openai", "gpt-4o-mini", Usage(prompt_tokens=1000, completion_tokens=200))
    assert cost == Cost(nano_usd=270_000, tokens=1200)
    assert cost.usd == pytest.approx(0.00027)


def test_cached_prompt_tokens_pay_the_cached_price() -> None:
    book = PriceBook()
    full = book.cost("openai", "gpt-4o-mini", Usage(prompt_tokens=1000))
    cached = book.cost(
        "openai", "gpt-4o-mini", Usage(prompt_tokens=1000, cached_prompt_tokens=1000)
    )
    assert cached.nano_usd * 2 == full.nano_usd  # $0.075 cached vs $0.15


def test_long_context_tiers_apply_to_the_whole_call() -> None:
    book = PriceBook()
    price = book.facts("anthropic", "claude-sonnet-4-5").price
    assert price is not None and price.tiers, "Anthropic's >200k prompt tier"
    small = price.rates(200_000)
    large = price.rates(200_001)
    assert large[0] > small[0] and large[2] > small[2]


def test_an_unknown_model_has_an_unknown_cost_never_zero() -> None:
    book = PriceBook()
    cost = book.cost(
        "openai-compatible", "my-finetune", Usage(prompt_tokens=10), "http://10.0.0.5/v1"
    )
    assert cost.usd is None and not cost.known
    assert cost.unpriced == ("openai-compatible/my-finetune",)
    assert (cost + Cost(nano_usd=5)).usd is None
    assert (cost + Cost(nano_usd=5)).priced_usd == pytest.approx(5e-9)


def test_self_hosted_models_cost_nothing_and_say_so() -> None:
    book = PriceBook()
    facts = book.facts("local", "SmolLM2-135M-Instruct")
    assert facts.price is not None and facts.price.source == "self-hosted"
    assert book.cost("llamacpp", "x", Usage(prompt_tokens=10**6)) == Cost(tokens=10**6)


def test_overrides_win_by_provider_model_then_model() -> None:
    book = PriceBook(
        {
            "openai/gpt-4o-mini": {"input": 1, "output": 2, "context_window": 1000},
            "my-finetune": {"input": "0.5", "output": 0.5, "cached_input": 0},
        }
    )
    mini = book.facts("openai", "gpt-4o-mini")
    assert mini.price == Price(input=Decimal(1), output=Decimal(2))
    assert mini.context_window == 1000
    tuned = book.cost(
        "openai-compatible", "my-finetune", Usage(prompt_tokens=2, completion_tokens=2)
    )
    assert tuned == Cost(nano_usd=2000, tokens=4)


def test_the_generic_family_is_priced_by_its_base_url() -> None:
    book = PriceBook()
    facts = book.facts(
        "openai-compatible", "llama-3.1-8b-instant", "https://api.groq.com/openai/v1"
    )
    assert facts.price is not None and "genai-prices" in facts.price.source


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"input": 1}, "needs output"),
        ({"input": -1, "output": 1}, "finite price >= 0"),
        ({"input": "x", "output": 1}, "must be a number"),
        ({"input": True, "output": 1}, "must be a number"),
        ({"input": 1, "output": 1, "outptu": 2}, "unknown field"),
        ({"input": 1, "output": 1, "context_window": 0}, "context_window"),
    ],
)
def test_a_bad_price_is_refused_saying_what_to_write(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        PriceBook({"m": raw})


rates = st.decimals(min_value=0, max_value=100, places=3, allow_nan=False, allow_infinity=False)


@given(rates, rates, st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)), max_size=5))
def test_costs_add_up_to_within_a_nano_dollar_per_call(
    input_rate: Decimal, output_rate: Decimal, calls: list[tuple[int, int]]
) -> None:
    """Each call is rounded up to a whole nano-dollar, so the sum of calls is
    never below the exact price of their tokens and at most one nano per call above."""
    price = Price(input=input_rate, output=output_rate)
    total = sum((price.cost(Usage(prompt_tokens=p, completion_tokens=c)) for p, c in calls), Cost())
    exact = sum((p * input_rate + c * output_rate) * 1000 for p, c in calls)
    assert exact <= total.nano_usd <= exact + len(calls)


def test_tiers_pick_the_highest_threshold_passed() -> None:
    price = Price(
        input=Decimal(1),
        output=Decimal(2),
        tiers=(
            PriceTier(above=100, input=Decimal(3), output=Decimal(4)),
            PriceTier(above=1000, input=Decimal(5), output=Decimal(6)),
        ),
    )
    assert price.rates(100) == (1, 1, 2)
    assert price.rates(101) == (3, 3, 4)
    assert price.rates(5000) == (5, 5, 6)
