"""The Prometheus text format read by prometheus_client's own parser (the oracle),
into families keyed by the names the exposition writes (a counter's with its
`_total`), plus the histogram invariants Prometheus relies on."""

from __future__ import annotations

import math

import attrs
from prometheus_client.parser import text_string_to_metric_families


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


def parse(text: str) -> dict[str, Family]:
    assert text.endswith("\n"), "the exposition must end with a line feed"
    families: dict[str, Family] = {}
    for parsed in text_string_to_metric_families(text):
        name = parsed.name + "_total" if parsed.type == "counter" else parsed.name
        assert name not in families, f"two families named {name}"
        family = Family(name, parsed.type, parsed.documentation)
        family.samples = [(s.name, dict(s.labels), s.value) for s in parsed.samples]
        if family.type == "histogram":
            _check_histogram(family)
        families[name] = family
    return families


def _check_histogram(family: Family) -> None:
    series: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = {}
    for name, labels, value in family.samples:
        if name.endswith("_bucket"):
            key = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
            series.setdefault(key, []).append((float(labels["le"]), value))
    for key, buckets in series.items():
        bounds = [b for b, _ in buckets]
        counts = [c for _, c in buckets]
        assert bounds == sorted(bounds) and bounds[-1] == math.inf, family.name
        assert counts == sorted(counts), f"{family.name} buckets are not cumulative"
        assert counts[-1] == family.value("_count", **dict(key)), family.name
