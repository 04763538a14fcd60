"""Counters, gauges and histograms of one app, exposed in the Prometheus text
format 0.0.4 by `prometheus_client` (its escaping, number formatting and
histogram layout; its parser is the tests' oracle).

The values live on these instances, and each exposition is written from a
`CollectorRegistry` of its own, never prometheus_client's global one, so two
apps in one process never share a number. (No `_created` samples: a
collector's families carry none.)
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterator, Sequence

import attrs
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.core import (
    Metric as Family,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4.encode()

Labels = tuple[str, ...]


@attrs.define(eq=False)
class _Family:
    name: str
    help: str
    labelnames: tuple[str, ...]

    def _check(self, labels: Labels) -> None:
        if len(labels) != len(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames} (got {labels})")


@attrs.define(eq=False)
class Counter(_Family):
    """A number that only goes up; `name` ends in `_total`."""

    values: dict[Labels, float] = attrs.field(factory=dict)

    def inc(self, labels: Labels = (), amount: float = 1.0) -> None:
        self._check(labels)
        if amount < 0:
            raise ValueError("a counter only goes up")
        self.values[labels] = self.values.get(labels, 0.0) + amount

    def family(self) -> Family:
        family = CounterMetricFamily(self.name, self.help, labels=self.labelnames)
        for labels, value in sorted(self.values.items()):
            family.add_metric(labels, value)
        return family


@attrs.define(eq=False)
class Gauge(_Family):
    """A number that goes up and down."""

    values: dict[Labels, float] = attrs.field(factory=dict)

    def add(self, amount: float, labels: Labels = ()) -> None:
        self._check(labels)
        self.values[labels] = self.values.get(labels, 0.0) + amount

    def family(self) -> Family:
        family = GaugeMetricFamily(self.name, self.help, labels=self.labelnames)
        if not self.labelnames and not self.values:
            self.values[()] = 0.0  # an unlabelled gauge always has its one sample
        for labels, value in sorted(self.values.items()):
            family.add_metric(labels, value)
        return family


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

    def family(self) -> Family:
        family = HistogramMetricFamily(self.name, self.help, labels=self.labelnames)
        for labels, counts in sorted(self.counts.items()):
            cumulative, total = [], 0
            for bound, count in zip((*self.buckets, math.inf), counts, strict=True):
                total += count
                cumulative.append(("+Inf" if math.isinf(bound) else repr(bound), total))
            family.add_metric(labels, cumulative, self.sums[labels])
        return family


Metric = Counter | Gauge | Histogram


@attrs.frozen(eq=False)  # hashed by identity: the registry keys on it
class _Collector:
    metrics: Sequence[Metric]

    def collect(self) -> Iterator[Family]:
        return (metric.family() for metric in self.metrics)


def render(metrics: Sequence[Metric]) -> bytes:
    """The text exposition of `metrics`, ending with a line feed."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(metrics))
    return generate_latest(registry)
