"""Counters, gauges and histograms, written in the Prometheus text format 0.0.4.

https://prometheus.io/docs/instrumenting/exposition_formats/ : one
`# HELP` and one `# TYPE` line per metric family, then one sample a line,
`name{label="value",...} value`. Label values escape backslash, double
quote and line feed; HELP text escapes backslash and line feed. A histogram
has cumulative `_bucket{le=...}` samples ending with `le="+Inf"`, then
`_sum` and `_count`.

Hand-written rather than prometheus_client: a hundred lines, no global
registry to keep apart per app, and no new dependency for the gateway.
Every value lives on the instance, so two apps never share a number.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterator, Sequence

import attrs

CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"

Labels = tuple[str, ...]


def escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def number(value: float) -> str:
    """A sample value as Prometheus reads it (Go's ParseFloat, +Inf/-Inf/NaN)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def _labels(names: Sequence[str], values: Sequence[str]) -> str:
    if not names:
        return ""
    pairs = ",".join(f'{n}="{escape_label(v)}"' for n, v in zip(names, values, strict=True))
    return "{" + pairs + "}"


@attrs.define(eq=False)
class _Family:
    name: str
    help: str
    labelnames: tuple[str, ...]

    def _check(self, labels: Labels) -> None:
        if len(labels) != len(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames} (got {labels})")

    def header(self, kind: str) -> Iterator[str]:
        yield f"# HELP {self.name} {_escape_help(self.help)}"
        yield f"# TYPE {self.name} {kind}"


@attrs.define(eq=False)
class Counter(_Family):
    """A number that only goes up; `name` ends in `_total`."""

    values: dict[Labels, float] = attrs.field(factory=dict)

    def inc(self, labels: Labels = (), amount: float = 1.0) -> None:
        self._check(labels)
        if amount < 0:
            raise ValueError("a counter only goes up")
        self.values[labels] = self.values.get(labels, 0.0) + amount

    def lines(self) -> Iterator[str]:
        yield from self.header("counter")
        for labels, value in sorted(self.values.items()):
            yield f"{self.name}{_labels(self.labelnames, labels)} {number(value)}"


@attrs.define(eq=False)
class Gauge(_Family):
    """A number that goes up and down."""

    values: dict[Labels, float] = attrs.field(factory=dict)

    def add(self, amount: float, labels: Labels = ()) -> None:
        self._check(labels)
        self.values[labels] = self.values.get(labels, 0.0) + amount

    def lines(self) -> Iterator[str]:
        yield from self.header("gauge")
        if not self.labelnames and not self.values:
            self.values[()] = 0.0  # an unlabelled gauge always has its one sample
        for labels, value in sorted(self.values.items()):
            yield f"{self.name}{_labels(self.labelnames, labels)} {number(value)}"


@attrs.define(eq=False)
class Histogram(_Family):
    """Observations counted into buckets by upper bound (seconds, say)."""

    buckets: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
    counts: dict[Labels, list[int]] = attrs.field(factory=dict)
    sums: dict[Labels, float] = attrs.field(factory=dict)

    def observe(self, value: float, labels: Labels = ()) -> None:
        self._check(labels)
        counts = self.counts.setdefault(labels, [0] * (len(self.buckets) + 1))
        counts[bisect_left(self.buckets, value)] += 1  # le is inclusive: bisect_left
        self.sums[labels] = self.sums.get(labels, 0.0) + value

    def lines(self) -> Iterator[str]:
        yield from self.header("histogram")
        names = (*self.labelnames, "le")
        for labels, counts in sorted(self.counts.items()):
            total = 0
            for bound, count in zip((*self.buckets, math.inf), counts, strict=True):
                total += count
                sample = _labels(names, (*labels, number(bound)))
                yield f"{self.name}_bucket{sample} {total}"
            plain = _labels(self.labelnames, labels)
            yield f"{self.name}_sum{plain} {number(self.sums[labels])}"
            yield f"{self.name}_count{plain} {total}"


Metric = Counter | Gauge | Histogram


def render(metrics: Sequence[Metric]) -> bytes:
    """The text exposition of `metrics`, ending with a line feed."""
    lines: list[str] = []
    for metric in metrics:
        lines.extend(metric.lines())
    return ("\n".join(lines) + "\n").encode()
