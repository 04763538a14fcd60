"""Budgets as configured: who they count (a key, a user, a team), over what
period (a UTC day, a UTC month, all time), and their limits (USD, tokens)."""

from __future__ import annotations

import datetime
import enum
from decimal import Decimal

import attrs

from ..errors import ValidationError


class Period(enum.StrEnum):
    DAY = "day"
    MONTH = "month"
    TOTAL = "total"

    def window(self, now: float) -> tuple[str, float, float | None]:
        """(the period's name, its start, when it resets) at `now` (epoch
        seconds, UTC periods); a total budget starts at 0 and never resets."""
        if self is Period.TOTAL:
            return "total", 0.0, None
        moment = datetime.datetime.fromtimestamp(now, datetime.UTC)
        if self is Period.DAY:
            start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
            end = start + datetime.timedelta(days=1)
            return start.strftime("%Y-%m-%d"), start.timestamp(), end.timestamp()
        start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        end = (start + datetime.timedelta(days=32)).replace(day=1)
        return start.strftime("%Y-%m"), start.timestamp(), end.timestamp()


class Scope(enum.StrEnum):
    KEY = "key"  # a gateway key, by its name
    USER = "user"  # OpenAI's `user` field, or the x-abstractcore-user header
    TEAM = "team"  # a key's team


@attrs.frozen(kw_only=True)
class Who:
    """Whom one call is for."""

    key: str | None = None
    user: str | None = None
    team: str | None = None

    def of(self, scope: Scope) -> str | None:
        return {Scope.KEY: self.key, Scope.USER: self.user, Scope.TEAM: self.team}[scope]


def _usd(value: object) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValidationError(f"a budget's usd must be a number of dollars (got {value!r})")
    amount = Decimal(str(value))
    if not amount.is_finite() or amount < 0:
        raise ValidationError(f"a budget's usd must be >= 0 (got {value!r})")
    return amount


def _tokens(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(f"a budget's tokens must be a whole number >= 0 (got {value!r})")
    return value


@attrs.frozen(kw_only=True)
class Budget:
    """A limit on what one key, user or team (`name`; "*" for each one on its
    own) may spend per `period`, in dollars (`usd`) and/or `tokens`."""

    scope: Scope = attrs.field(converter=Scope)
    name: str
    period: Period = attrs.field(default=Period.MONTH, converter=Period)
    usd: Decimal | None = attrs.field(default=None, converter=_usd)
    tokens: int | None = attrs.field(default=None, converter=_tokens)

    def __attrs_post_init__(self) -> None:
        if self.usd is None and self.tokens is None:
            raise ValidationError(f"budget {self.label!r} needs usd = ... and/or tokens = ...")
        if not self.name:
            raise ValidationError('a budget needs a name (a key, user or team; "*" for each)')

    @property
    def label(self) -> str:
        return f"{self.scope.value}:{self.name}/{self.period.value}"

    @property
    def limit_nano_usd(self) -> int | None:
        return None if self.usd is None else int(self.usd * 1_000_000_000)

    def subject(self, who: Who) -> str | None:
        """Whom this budget counts the call against, or None when it does not apply."""
        value = who.of(self.scope)
        if value is None or (self.name != "*" and self.name != value):
            return None
        return value


@attrs.frozen
class Spend:
    """Dollars (in nano-USD) and tokens; `priced` is False when some of the
    dollars could not be known."""

    nano_usd: int = 0
    tokens: int = 0
    priced: bool = True

    def __add__(self, other: Spend) -> Spend:
        return Spend(
            self.nano_usd + other.nano_usd, self.tokens + other.tokens, self.priced and other.priced
        )

    def __sub__(self, other: Spend) -> Spend:
        return Spend(self.nano_usd - other.nano_usd, self.tokens - other.tokens, self.priced)
