"""One rule for every table of the gateway's TOML: a setting it does not
know stops the config, with a did-you-mean when one is close."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import ConfigurationError


def refuse_unknown(
    where: str, spec: Mapping[str, Any], fields: Iterable[str], advice: str | None = None
) -> None:
    """ConfigurationError naming every setting of `spec` not in `fields`."""
    known = tuple(fields)
    unknown = sorted(set(spec) - set(known))
    if not unknown:
        return
    close = [difflib.get_close_matches(k, known, n=1) for k in unknown]
    hints = "".join(
        f" ({k}: did you mean {c[0]}?)" for k, c in zip(unknown, close, strict=True) if c
    )
    tail = advice if advice is not None else f"valid: {', '.join(known)}"
    raise ConfigurationError(f"{where}: unknown setting(s) {', '.join(unknown)}{hints}; {tail}")
