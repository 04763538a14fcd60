"""The gateway's metrics (GET /metrics): what each API request did, by model.

Each chat or embeddings request is one `RequestRecord`, filled in while it is
answered and counted when it ends, refusals (401, 429, 503) included; the
`endpoint` label tells chat from embeddings. Labels only take bounded values: configured model
names, up to `metrics_max_models` other names (passthrough and virtual
names; the rest are "other"), provider names the runtime knows, HTTP
status codes and our error codes. Never a key, never a message.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import attrs
import trio

from ..types import Cost, Usage
from ._config import GatewayConfig
from ._exposition import Counter, Gauge, Histogram, render

OTHER = "other"
INVALID = "invalid"  # a request whose model name did not resolve
UNREAD = "none"  # refused before its body was read (401, 413, 429, 503)
ENDPOINTS = ("chat", "embeddings", "messages", "count_tokens", "responses")
_MAX_LABEL = 200


@attrs.define(eq=False)
class ModelLabels:
    """Model name -> label value, with a cap on distinct values."""

    known: frozenset[str]
    cap: int
    _seen: set[str] = attrs.field(factory=set)

    def __call__(self, name: str) -> str:
        if name in self.known or name in self._seen:
            return name
        if len(self._seen) < self.cap and len(name) <= _MAX_LABEL and name.isprintable():
            self._seen.add(name)
            return name
        return OTHER


@attrs.define(eq=False)
class RequestRecord:
    """One API request, as the metrics see it."""

    started: float
    endpoint: str = "chat"
    model: str = UNREAD
    provider: str = "none"
    status: int = 0
    outcome: str = "ok"  # ok | error | client_disconnect | timeout | shutdown
    error: str | None = None  # our error code (`HTTPError.code` or type)
    first_token: float | None = None
    usage: Usage | None = None
    cost: Cost | None = None  # what the call cost, once answered
    sent: bool = False  # the last bytes of the response have been handed to the server

    def token(self) -> None:
        if self.first_token is None:
            self.first_token = trio.current_time()

    def failed(self, code: str, outcome: str = "error") -> None:
        self.error = code
        if self.outcome == "ok":
            self.outcome = outcome


@attrs.define(eq=False)
class GatewayMetrics:
    """Every metric of one app."""

    labels: ModelLabels
    requests: Counter = attrs.field(
        factory=lambda: Counter(
            "gateway_requests_total",
            "API requests answered, by endpoint, model, provider, HTTP status and outcome.",
            ("endpoint", "model", "provider", "code", "outcome"),
        )
    )
    duration: Histogram = attrs.field(
        factory=lambda: Histogram(
            "gateway_request_duration_seconds",
            "Time from a request's arrival to its last byte, by endpoint and model.",
            ("endpoint", "model"),
        )
    )
    ttft: Histogram = attrs.field(
        factory=lambda: Histogram(
            "gateway_time_to_first_token_seconds",
            "Time from a streamed chat request's arrival to its first token, by model.",
            ("model",),
        )
    )
    tokens: Counter = attrs.field(
        factory=lambda: Counter(
            "gateway_tokens_total",
            "Tokens reported by the upstream, by endpoint, provider, model and type "
            "(prompt or completion).",
            ("endpoint", "provider", "model", "type"),
        )
    )
    errors: Counter = attrs.field(
        factory=lambda: Counter(
            "gateway_errors_total",
            "Requests that failed, by endpoint, provider, model and error code.",
            ("endpoint", "provider", "model", "type"),
        )
    )
    in_flight: Gauge = attrs.field(
        factory=lambda: Gauge(
            "gateway_requests_in_flight", "Chat and embeddings requests being answered now.", ()
        )
    )
    cancelled: Counter = attrs.field(
        factory=lambda: Counter(
            "gateway_requests_cancelled_total",
            "Requests cut short, by endpoint, model and reason "
            "(client_disconnect, timeout, shutdown).",
            ("endpoint", "model", "reason"),
        )
    )

    @classmethod
    def for_config(cls, config: GatewayConfig) -> GatewayMetrics:
        known = frozenset(config.public_names())
        return cls(ModelLabels(known, config.metrics_max_models))

    @contextmanager
    def request(self, endpoint: str = "chat") -> Iterator[RequestRecord]:
        """A record for one request to `endpoint` (chat or embeddings), counted
        when the block ends (however it ends)."""
        assert endpoint in ENDPOINTS, endpoint
        record = RequestRecord(started=trio.current_time(), endpoint=endpoint)
        self.in_flight.add(1)
        try:
            yield record
        finally:
            self.in_flight.add(-1)
            self._count(record)

    def _count(self, r: RequestRecord) -> None:
        model, endpoint = r.model, r.endpoint
        self.requests.inc((endpoint, model, r.provider, str(r.status), r.outcome))
        now = trio.current_time()
        self.duration.observe(now - r.started, (endpoint, model))
        if r.first_token is not None:
            self.ttft.observe(r.first_token - r.started, (model,))
        if r.usage is not None:
            self.tokens.inc((endpoint, r.provider, model, "prompt"), r.usage.prompt_tokens)
            self.tokens.inc((endpoint, r.provider, model, "completion"), r.usage.completion_tokens)
        if r.error is not None:
            self.errors.inc((endpoint, r.provider, model, r.error))
        if r.outcome in ("client_disconnect", "timeout", "shutdown"):
            self.cancelled.inc((endpoint, model, r.outcome))

    def exposition(self) -> bytes:
        return render(
            [
                self.requests,
                self.duration,
                self.ttft,
                self.tokens,
                self.errors,
                self.in_flight,
                self.cancelled,
            ]
        )
