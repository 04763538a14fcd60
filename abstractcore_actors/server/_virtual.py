"""Virtual model names, parsed: `<kind>:<model>,<model>[?option=value&...]`.

    race:a,b?timeout=10
    ensemble:a,b,c?combine=vote|concat|judge&judge=<model>&min=2&timeout=20
    hedge:a,b?after=1.5&max_attempts=3&timeout=10
    hedge:1.5:a,b          the older form of hedge:a,b?after=1.5 (still accepted)

Every mistake is an HTTPError 400 naming what to write instead, so no name
a client sends can reach the patterns as something they would fail on.
"""

from __future__ import annotations

import math
from urllib.parse import parse_qsl

import attrs

from ._errors import HTTPError

KINDS = ("race", "ensemble", "hedge")
MAX_CONTENDERS = 8
MAX_SECONDS = 3600.0
COMBINES = ("vote", "concat", "judge")

_OPTIONS = {
    "race": ("timeout",),
    "ensemble": ("combine", "judge", "min", "timeout"),
    "hedge": ("after", "max_attempts", "timeout"),
}
SYNTAX = (
    "race:<model>,<model>[?timeout=<s>], "
    "ensemble:<model>,<model>,...[?combine=vote|concat|judge&judge=<model>&min=<n>&timeout=<s>], "
    "hedge:<model>,<model>[?after=<s>&max_attempts=<n>&timeout=<s>]"
)
DEFAULT_HEDGE_AFTER = 1.0


@attrs.frozen(kw_only=True)
class VirtualSpec:
    """A valid virtual model name: its pattern, member names and options."""

    kind: str
    members: tuple[str, ...]
    timeout: float | None = None
    combine: str = "vote"
    judge: str | None = None
    min_responses: int | None = None
    after: float = DEFAULT_HEDGE_AFTER
    max_attempts: int | None = None

    def model_names(self) -> tuple[str, ...]:
        """Every plain model the name uses (members, then the judge)."""
        return self.members + ((self.judge,) if self.judge else ())


def bad_virtual(name: str, why: str) -> HTTPError:
    return HTTPError(400, f"invalid virtual model {name!r}: {why}", param="model")


def is_virtual(name: str) -> bool:
    kind, colon, _ = name.partition(":")
    return bool(colon) and kind in KINDS


def _seconds(name: str, option: str, value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not 0 <= seconds <= MAX_SECONDS:  # also rejects nan
        raise bad_virtual(name, f"{option} must be a number of seconds from 0 to {MAX_SECONDS:g}")
    return seconds


def _count(name: str, option: str, value: str, high: int) -> int:
    if not value.isdigit() or not 1 <= int(value) <= high:
        raise bad_virtual(name, f"{option} must be a whole number from 1 to {high}")
    return int(value)


def _options(name: str, kind: str, query: str) -> dict[str, str]:
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise bad_virtual(name, f"write options as key=value joined by '&' ({SYNTAX})") from None
    valid = _OPTIONS[kind]
    options: dict[str, str] = {}
    for key, value in pairs:
        if key not in valid:
            raise bad_virtual(
                name, f"unknown option {key!r} for {kind} (valid options: {', '.join(valid)})"
            )
        if key in options:
            raise bad_virtual(name, f"option {key!r} is given twice")
        options[key] = value.strip()
    return options


def parse_virtual(name: str) -> VirtualSpec:
    """The spec of a virtual model name (`is_virtual(name)` is true); HTTPError 400."""
    kind, _, rest = name.partition(":")
    rest, question, query = rest.partition("?")
    spec: dict[str, object] = {}
    head, colon, tail = rest.partition(":")
    # the older hedge:<s>:a,b form; "hedge:ollama/m:8b,x" is a model name with a colon
    if kind == "hedge" and colon and "/" not in head and "," not in head:
        spec["after"] = _seconds(name, "the delay in hedge:<seconds>:<model>,...", head)
        rest = tail
    members = tuple(p.strip() for p in rest.split(","))
    if not 1 <= len(members) <= MAX_CONTENDERS or not all(members):
        raise bad_virtual(
            name, f"{kind} takes 1 to {MAX_CONTENDERS} model names, comma-separated ({SYNTAX})"
        )
    if any(is_virtual(m) for m in members):
        raise bad_virtual(name, f"virtual models do not nest ({SYNTAX})")
    options = _options(name, kind, query) if question else {}
    if "timeout" in options:
        spec["timeout"] = _seconds(name, "timeout", options["timeout"])
        if spec["timeout"] == 0:
            raise bad_virtual(name, "timeout must be more than 0 seconds")
    if "after" in options:
        spec["after"] = _seconds(name, "after", options["after"])
    if "max_attempts" in options:
        spec["max_attempts"] = _count(name, "max_attempts", options["max_attempts"], MAX_CONTENDERS)
    if "min" in options:
        spec["min_responses"] = _count(name, "min", options["min"], len(members))
    combine = options.get("combine", "vote")
    if combine not in COMBINES:
        raise bad_virtual(name, f"combine must be one of {', '.join(COMBINES)} (got {combine!r})")
    judge = options.get("judge") or None
    if (combine == "judge") != (judge is not None):
        raise bad_virtual(name, "combine=judge and judge=<model> go together")
    if judge is not None and (is_virtual(judge) or "," in judge):
        raise bad_virtual(name, "judge must be one plain model name")
    return VirtualSpec(kind=kind, members=members, combine=combine, judge=judge, **spec)  # type: ignore[arg-type]
