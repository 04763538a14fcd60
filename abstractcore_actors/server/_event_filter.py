"""The query of `/v1/events` as one event predicate.

    /v1/events?request_id=abc&type=generation.chunk,cancelled&model=fast

Each parameter may repeat or hold a comma list; values of one parameter are
alternatives (OR), different parameters must all match (AND); no parameter
means everything. `request_id=X` also matches `X/0`, `X/1`, … — the
contenders of a virtual model called with request id X.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl

import attrs

from ..errors import ValidationError
from ..events import Event, make_filter
from ._config import GatewayConfig

DEFAULT_BUFFER = 256
MAX_BUFFER = 10_000
PARAMS = ("request_id", "session_id", "model", "type", "buffer")


class BadQuery(ValidationError):
    """The query string of /v1/events names an unknown parameter or value."""


@attrs.frozen(kw_only=True)
class EventQuery:
    """What a `/v1/events` client asked for."""

    request_ids: tuple[str, ...] = ()
    session_ids: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    buffer: int = DEFAULT_BUFFER

    def describe(self) -> dict[str, object]:
        """The filters as JSON, echoed to the client once subscribed."""
        return {
            "request_id": list(self.request_ids),
            "session_id": list(self.session_ids),
            "model": list(self.models),
            "type": list(self.types),
            "buffer": self.buffer,
        }

    def predicate(self, config: GatewayConfig) -> Callable[[Event], bool]:
        """One predicate for the bus; raises BadQuery for an unknown event type."""
        try:
            by_type = make_filter(list(self.types) if self.types else None)
        except ValidationError as exc:
            raise BadQuery(str(exc)) from None
        ids = self.request_ids
        prefixes = tuple(f"{rid}/" for rid in ids)
        sessions = set(self.session_ids)
        models = _model_names(self.models, config)

        def accepts(event: Event) -> bool:
            if ids and not (event.request_id in ids or event.request_id.startswith(prefixes)):
                return False
            if sessions and event.session_id not in sessions:
                return False
            if models and event.model not in models:
                return False
            return by_type(event)

        return accepts


def _model_names(names: tuple[str, ...], config: GatewayConfig) -> set[str]:
    # Events carry the upstream model of the LLM (a route's `model`), while
    # clients know the gateway's public names: accept both.
    found = set(names)
    for name in names:
        route = config.models.get(config.aliases.get(name, name))
        if route is not None and route.model:
            found.add(route.model)
    return found


def _values(raw: str) -> list[str]:
    return [v.strip() for v in raw.split(",") if v.strip()]


def parse_query(query_string: bytes) -> EventQuery:
    """The EventQuery of a raw query string; raises BadQuery saying what is wrong."""
    try:
        pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    except ValueError as exc:
        raise BadQuery(f"malformed query string: {exc}") from None
    collected: dict[str, list[str]] = {name: [] for name in PARAMS}
    for key, value in pairs:
        if key not in collected:
            raise BadQuery(f"unknown parameter {key!r}; use {', '.join(PARAMS)}")
        collected[key].extend(_values(value))
    buffer = DEFAULT_BUFFER
    if collected["buffer"]:
        text = collected["buffer"][-1]
        if not text.isdigit() or not 1 <= int(text) <= MAX_BUFFER:
            raise BadQuery(f"buffer must be a whole number of events from 1 to {MAX_BUFFER}")
        buffer = int(text)
    return EventQuery(
        request_ids=tuple(collected["request_id"]),
        session_ids=tuple(collected["session_id"]),
        models=tuple(collected["model"]),
        types=tuple(collected["type"]),
        buffer=buffer,
    )
