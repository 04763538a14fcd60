"""`[[budgets]]` and the ledger path of the gateway's TOML.

[server]
ledger = "spend.db"            # SQLite file of every settled call

[[budgets]]
scope = "team"                 # key | user | team
name = "research"              # "*": each key / user / team on its own
period = "month"               # day | month | total (UTC)
usd = 250.0
tokens = 50_000_000
"""

from __future__ import annotations

from collections.abc import Mapping

from .._budgets import Budget
from ..errors import ConfigurationError, ValidationError
from ._config_fields import refuse_unknown

_FIELDS = ("scope", "name", "period", "usd", "tokens")


def parse_budgets(raw: object) -> tuple[Budget, ...]:
    if not isinstance(raw, list):
        raise ConfigurationError("budgets must be [[budgets]] tables")
    found = []
    for index, spec in enumerate(raw):
        where = f"[[budgets]] entry {index}"
        if not isinstance(spec, Mapping):
            raise ConfigurationError(f"{where} must be a table")
        refuse_unknown(where, spec, _FIELDS)
        try:
            found.append(Budget(**{str(k): v for k, v in spec.items()}))
        except (ValidationError, ValueError, TypeError) as exc:
            scopes = "key, user or team"
            raise ConfigurationError(
                f"{where}: {exc} (scope: {scopes}; period: day, month or total)"
            ) from None
    labels = [b.label for b in found]
    doubled = sorted({label for label in labels if labels.count(label) > 1})
    if doubled:
        raise ConfigurationError(f"[[budgets]]: {', '.join(doubled)} is listed twice")
    return tuple(found)
