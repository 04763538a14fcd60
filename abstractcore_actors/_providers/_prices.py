"""A provider's price, from the runtime's price book (see `_pricing.py`)."""

from __future__ import annotations

from .._pricing import ModelFacts, PriceBook
from ._adapter import ProviderConfig

UNKNOWN_PRICE = ModelFacts(price=None)


def price_of(prices: PriceBook | None, config: ProviderConfig) -> ModelFacts:
    """The price and context window of `config`'s model; unknown without a book."""
    if prices is None:
        return UNKNOWN_PRICE
    return prices.facts(config.provider, config.model, config.base_url)
