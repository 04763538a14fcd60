"""A strict reader of the Prometheus text format 0.0.4, for tests.

prometheus_client is not a dependency, so this checks what its parser and
Prometheus itself would reject: names, label syntax and escapes, one HELP and
TYPE per family before its samples, sample names that belong to the family's
type, cumulative histogram buckets ending in +Inf equal to _count.
"""

from __future__ import annotations

import math
import re

import attrs

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\\\|\\"|\\n)*"'
SAMPLE = re.compile(rf"^({NAME})(?:\{{((?:{LABEL})(?:,{LABEL})*)?\}})? (\S+)$")
PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"')
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


@attrs.define
class Family:
    name: str
    type: str = "untyped"
    help: str | None = None
    samples: list[tuple[str, dict[str, str], float]] = attrs.field(factory=list)

    def value(self, suffix: str = "", **labels: str) -> float:
        """The sum of the samples named name+suffix whose labels include `labels`."""
        return sum(
            v
            for n, ls, v in self.samples
            if n == self.name + suffix and all(ls.get(k) == x for k, x in labels.items())
        )


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), value)


def _float(text: str) -> float:
    if text in ("+Inf", "-Inf", "NaN"):
        return {"+Inf": math.inf, "-Inf": -math.inf, "NaN": math.nan}[text]
    return float(text)


def parse(text: str) -> dict[str, Family]:
    assert text.endswith("\n"), "the exposition must end with a line feed"
    families: dict[str, Family] = {}
    current: Family | None = None
    for line in text[:-1].split("\n"):
        assert line, "no blank lines"
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            _, kind, name, *rest = line.split(" ", 3)
            assert re.fullmatch(NAME, name), line
            family = families.setdefault(name, Family(name))
            if kind == "HELP":
                assert family.help is None, f"two HELP lines for {name}"
                family.help = rest[0] if rest else ""
            else:
                assert not family.samples, f"TYPE after samples for {name}"
                assert rest and rest[0] in TYPES, line
                family.type = rest[0]
            current = family
            continue
        assert not line.startswith("#"), line
        match = SAMPLE.match(line)
        assert match, f"not a valid sample line: {line!r}"
        name, labels, value = match.groups()
        assert current is not None, "a sample before any TYPE"
        suffixes = ("_bucket", "_sum", "_count") if current.type == "histogram" else ("",)
        assert any(name == current.name + s for s in suffixes), f"{name} in {current.name}"
        pairs = {k: _unescape(v) for k, v in PAIR.findall(labels or "")}
        current.samples.append((name, pairs, _float(value)))
    for family in families.values():
        if family.type == "histogram":
            _check_histogram(family)
    return families


def _check_histogram(family: Family) -> None:
    series: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = {}
    for name, labels, value in family.samples:
        if name.endswith("_bucket"):
            key = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
            series.setdefault(key, []).append((_float(labels["le"]), value))
    for key, buckets in series.items():
        bounds = [b for b, _ in buckets]
        counts = [c for _, c in buckets]
        assert bounds == sorted(bounds) and bounds[-1] == math.inf, family.name
        assert counts == sorted(counts), f"{family.name} buckets are not cumulative"
        assert counts[-1] == family.value("_count", **dict(key)), family.name
