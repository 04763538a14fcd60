"""What calls use and cost: token counts (`Usage`) and dollars (`Cost`).
Public through `abstractcore_actors.types`; here so that the message types
stay in one readable module."""

from __future__ import annotations

import attrs


@attrs.frozen(kw_only=True, slots=True)
class Usage:
    """Token counts of one call (or, summed with `+`, of many).

    `estimated` is true when some count did not come from the provider: an
    OpenAI-compatible server that sends no usage in its streams (llama.cpp's
    server, for one), or an attempt cancelled before its end. A sum is
    estimated when any part is.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated: bool = False
    # Of the prompt tokens, those read from the provider's prompt cache
    # (billed at the cheaper cached-input price where there is one).
    cached_prompt_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            estimated=self.estimated or other.estimated,
            cached_prompt_tokens=self.cached_prompt_tokens + other.cached_prompt_tokens,
        )


@attrs.frozen(kw_only=True, slots=True)
class Cost:
    """What one call (or, summed with `+`, many) cost: US dollars, and the
    tokens of every attempt behind it (a race's losers too), which token
    budgets count.

    Dollars are kept as whole billionths (`nano_usd`), so sums and budgets
    are exact. `unpriced` names the models whose price is unknown: then `usd`
    is None — an unknown cost is never reported as 0 — and `priced_usd` is
    the part that had a price. A self-hosted model is priced at 0 (see
    docs/routing.md), which is a known price.
    """

    nano_usd: int = 0
    unpriced: tuple[str, ...] = ()
    tokens: int = 0

    @classmethod
    def unknown(cls, model: str, tokens: int = 0) -> Cost:
        return cls(unpriced=(model,), tokens=tokens)

    @property
    def known(self) -> bool:
        return not self.unpriced

    @property
    def usd(self) -> float | None:
        return None if self.unpriced else self.nano_usd / 1e9

    @property
    def priced_usd(self) -> float:
        return self.nano_usd / 1e9

    def __add__(self, other: Cost) -> Cost:
        unpriced = self.unpriced + tuple(m for m in other.unpriced if m not in self.unpriced)
        return Cost(
            nano_usd=self.nano_usd + other.nano_usd,
            unpriced=unpriced,
            tokens=self.tokens + other.tokens,
        )
