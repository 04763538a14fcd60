"""Prices and context windows per model, and what a call cost.

Where they come from, in order:
1. overrides the user gives (`open_runtime(prices=...)`, the gateway's
   `[prices."provider/model"]` tables), per "provider/model" or per model;
2. pydantic's genai-prices data set (the `genai-prices` package): kept up to
   date by the pydantic team from the providers' price pages, with cached-
   input and long-context (tiered) prices and context windows, and bundled
   in the package, so nothing is downloaded at run time. Looked up by our
   provider name (openai, anthropic, openrouter) or, for the generic
   OpenAI-compatible family, by its base URL (api.groq.com, api.mistral.ai,
   ... are matched by the data set's own patterns);
3. self-hosted providers (local, llamacpp, ollama, lmstudio, vllm) cost 0
   per token: a known price (your hardware is not metered here);
4. otherwise the price is unknown, and so is the cost (`Cost.usd` is None).

Costs are exact integers of billionths of a dollar: a price per million
tokens is a price in nano-dollars per token times 1000.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from .errors import ValidationError
from .types import Cost, Usage

SELF_HOSTED = frozenset({"local", "llamacpp", "ollama", "lmstudio", "vllm"})
# Our provider names that are genai-prices provider ids as they are.
_DATA_SET_PROVIDERS = {"openai": "openai", "anthropic": "anthropic", "openrouter": "openrouter"}
_NANO_PER_MTOK = Decimal(1000)  # USD per 1M tokens -> nano-USD per token


def _money(value: object, what: str) -> Decimal:
    """A non-negative, finite price from config (a number or a numeric string)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise ValidationError(f"{what} must be a number (USD per 1M tokens), got {value!r}")
    try:
        price = Decimal(str(value))
    except InvalidOperation:
        raise ValidationError(
            f"{what} must be a number (USD per 1M tokens), got {value!r}"
        ) from None
    if not price.is_finite() or price < 0:
        raise ValidationError(f"{what} must be a finite price >= 0, got {value!r}")
    return price


@attrs.frozen(kw_only=True)
class PriceTier:
    """Past `above` prompt tokens a call pays these prices for all its tokens
    (the "cliff" model of Anthropic's and Google's long-context prices)."""

    above: int
    input: Decimal
    output: Decimal
    cached_input: Decimal | None = None


@attrs.frozen(kw_only=True)
class Price:
    """USD per 1M tokens: prompt (`input`), answer (`output`), and prompt
    tokens read from the provider's cache (`cached_input`, default `input`)."""

    input: Decimal
    output: Decimal
    cached_input: Decimal | None = None
    tiers: tuple[PriceTier, ...] = ()
    source: str = "config"

    @classmethod
    def parse(cls, raw: Mapping[str, Any] | Price, where: str = "price") -> Price:
        """A price from config: `{input = 0.15, output = 0.6, cached_input = 0.075}`."""
        if isinstance(raw, Price):
            return raw
        if not isinstance(raw, Mapping):
            raise ValidationError(f"{where} must be a table of input/output prices, got {raw!r}")
        unknown = set(raw) - {"input", "output", "cached_input", "context_window"}
        if unknown:
            raise ValidationError(
                f"{where}: unknown field(s) {', '.join(sorted(unknown))}; "
                "use input, output, cached_input (USD per 1M tokens) and context_window"
            )
        for need in ("input", "output"):
            if need not in raw:
                raise ValidationError(f"{where} needs {need} (USD per 1M tokens)")
        cached = raw.get("cached_input")
        return cls(
            input=_money(raw["input"], f"{where}.input"),
            output=_money(raw["output"], f"{where}.output"),
            cached_input=None if cached is None else _money(cached, f"{where}.cached_input"),
        )

    def rates(self, prompt_tokens: int) -> tuple[Decimal, Decimal, Decimal]:
        """(input, cached input, output) for a call with this many prompt tokens."""
        chosen: Price | PriceTier = self
        for tier in self.tiers:  # sorted by `above`
            if prompt_tokens > tier.above:
                chosen = tier
        cached = chosen.cached_input if chosen.cached_input is not None else chosen.input
        return chosen.input, cached, chosen.output

    def nano_usd(self, usage: Usage) -> int:
        """The cost of `usage`, in nano-USD, rounded up to a whole nano-dollar."""
        input_rate, cached_rate, output_rate = self.rates(usage.prompt_tokens)
        cached = min(usage.cached_prompt_tokens, usage.prompt_tokens)
        total = (
            (usage.prompt_tokens - cached) * input_rate
            + cached * cached_rate
            + usage.completion_tokens * output_rate
        ) * _NANO_PER_MTOK
        return math.ceil(total)

    def cost(self, usage: Usage) -> Cost:
        return Cost(nano_usd=self.nano_usd(usage), tokens=usage.total_tokens)


FREE = Price(input=Decimal(0), output=Decimal(0), source="self-hosted")


@attrs.frozen(kw_only=True)
class ModelFacts:
    """What the price book knows of one model: its price (None: unknown) and
    its context window in tokens (None: unknown)."""

    price: Price | None
    context_window: int | None = None

    def cost(self, usage: Usage, model: str) -> Cost:
        if self.price is None:
            return Cost.unknown(model, usage.total_tokens)
        return self.price.cost(usage)


class PriceBook:
    """Prices and context windows by provider and model (see the module docstring).

    One per runtime (no global state). Lookups are cached: the data set is
    read once per model, and a cost is then a few Decimal multiplications."""

    def __init__(
        self,
        overrides: Mapping[str, Mapping[str, Any] | Price] | None = None,
        *,
        data_set: bool = True,
    ) -> None:
        self._overrides: dict[str, tuple[Price, int | None]] = {}
        self._known: dict[tuple[str, str, str | None], ModelFacts] = {}
        self.add(overrides or {})
        self._data_set = data_set
        self._lock = threading.Lock()  # sync facades look prices up from other threads

    def add(self, overrides: Mapping[str, Mapping[str, Any] | Price]) -> None:
        """Add or replace prices ("provider/model" or model -> price); raises
        ValidationError naming the first bad one, adding none of them then."""
        parsed: dict[str, tuple[Price, int | None]] = {}
        for key, raw in overrides.items():
            where = f"prices[{key!r}]"
            window = raw.get("context_window") if isinstance(raw, Mapping) else None
            if window is not None and (
                isinstance(window, bool) or not isinstance(window, int) or window < 1
            ):
                raise ValidationError(f"{where}.context_window must be a whole number of tokens")
            parsed[key] = (Price.parse(raw, where), window)
        if any(self._overrides.get(key) != value for key, value in parsed.items()):
            self._overrides.update(parsed)
            self._known.clear()  # earlier lookups may have missed these

    def facts(self, provider: str, model: str, base_url: str | None = None) -> ModelFacts:
        key = (provider, model, base_url)
        found = self._known.get(key)
        if found is None:
            found = self._look_up(provider, model, base_url)
            with self._lock:
                self._known[key] = found
        return found

    def warm(self, models: Iterable[tuple[str, str, str | None]]) -> None:
        """Look these (provider, model, base_url) up now — call it in a worker
        thread (`trio.to_thread.run_sync`): the first lookup reads the whole
        data set (~0.5 s), which must not stall an event loop serving calls."""
        for provider, model, base_url in models:
            self.facts(provider, model, base_url)

    def cost(self, provider: str, model: str, usage: Usage, base_url: str | None = None) -> Cost:
        return self.facts(provider, model, base_url).cost(usage, f"{provider}/{model}")

    def _look_up(self, provider: str, model: str, base_url: str | None) -> ModelFacts:
        data = self._from_data_set(provider, model, base_url) if self._data_set else None
        for key in (f"{provider}/{model}", model):
            if key in self._overrides:
                price, window = self._overrides[key]
                known_window = data.context_window if data is not None else None
                return ModelFacts(price=price, context_window=window or known_window)
        if data is not None and data.price is not None:
            return data
        if provider in SELF_HOSTED:
            return ModelFacts(price=FREE, context_window=None)
        return data or ModelFacts(price=None)

    @staticmethod
    def _from_data_set(provider: str, model: str, base_url: str | None) -> ModelFacts | None:
        provider_id = _DATA_SET_PROVIDERS.get(provider)
        url = None if provider_id is not None or provider in SELF_HOSTED else base_url
        if provider_id is None and url is None:
            return None
        from genai_prices import data_snapshot  # ~0.3 s the first time: only when asked

        try:
            _, info = data_snapshot.get_snapshot().find_provider_model(
                model, None, provider_id, url
            )
        except LookupError:
            return None
        from datetime import UTC, datetime

        try:
            price = _price_from(info.get_prices(datetime.now(UTC)), info.id)
        except (AttributeError, TypeError, InvalidOperation):
            price = None  # a shape this version does not know: unknown, not 0
        return ModelFacts(price=price, context_window=info.context_window)


def _price_from(prices: Any, model_id: str) -> Price | None:
    """genai-prices' ModelPrice as ours: base prices and any long-context tiers."""

    def split(value: Any) -> tuple[Decimal | None, dict[int, Decimal]]:
        if value is None:
            return None, {}
        if isinstance(value, Decimal):
            return value, {}
        return Decimal(value.base), {t.start: Decimal(t.price) for t in value.tiers}

    inp, inp_tiers = split(getattr(prices, "input_mtok", None))
    out, out_tiers = split(getattr(prices, "output_mtok", None))
    cached, cached_tiers = split(getattr(prices, "cache_read_mtok", None))
    if inp is None or out is None:
        return None

    def at(base: Decimal, tiers: dict[int, Decimal], start: int) -> Decimal:
        best = base
        for above in sorted(tiers):
            if above <= start:
                best = tiers[above]
        return best

    starts = sorted({*inp_tiers, *out_tiers, *cached_tiers})
    tiers = tuple(
        PriceTier(
            above=start,
            input=at(inp, inp_tiers, start),
            output=at(out, out_tiers, start),
            cached_input=None if cached is None else at(cached, cached_tiers, start),
        )
        for start in starts
    )
    from importlib.metadata import version

    return Price(
        input=inp,
        output=out,
        cached_input=cached,
        tiers=tiers,
        source=f"genai-prices {version('genai-prices')} ({model_id})",
    )
