"""The query of `/v1/events` as one event predicate.

    /v1/events?request_id=abc&type=generation.chunk,cancelled&model=fast

Each parameter may repeat or hold a comma list; values of one parameter are
alternatives (OR), different parameters must all match (AND); no parameter
means everything. `request_id=X` also matches `X/0`, `X/1`, … — the
contenders of a virtual model called with request id X.

`model=` takes the gateway's names: a gateway request matches the public
name it was sent as (or that name's alias or target), and a virtual model's
contender also the member it runs; two public names over one upstream model
stay apart. A name the gateway does not define is an upstream model (`gpt-4o`,
as events spell it) or a passthrough `provider/model`, matched on any call.
Events of calls the gateway did not make (an ensemble's judge, embeddings,
code of your own on the runtime) match a public name by its route's
provider and upstream model.

`visibility` is what a key may see at all, whatever it asks for (see
`KeyPolicy.events`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl

import attrs

from .._providers import split_provider
from ..errors import ValidationError
from ..events import Event, make_filter
from ._config import GatewayConfig, ModelRoute
from ._keys import EVENTS_OWN, KeyPolicy
from ._request_id import OpenRequests

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

    def predicate(self, config: GatewayConfig, requests: OpenRequests) -> Callable[[Event], bool]:
        """One predicate for the bus; raises BadQuery for an unknown event type."""
        try:
            by_type = make_filter(list(self.types) if self.types else None)
        except ValidationError as exc:
            raise BadQuery(str(exc)) from None
        ids = self.request_ids
        prefixes = tuple(f"{rid}/" for rid in ids)
        sessions = set(self.session_ids)
        by_model = _model_matcher(self.models, config, requests) if self.models else None

        def accepts(event: Event) -> bool:
            if ids and not (event.request_id in ids or event.request_id.startswith(prefixes)):
                return False
            if sessions and event.session_id not in sessions:
                return False
            if by_model is not None and not by_model(event):
                return False
            return by_type(event)

        return accepts


def _upstream(route: ModelRoute) -> tuple[str, str] | None:
    """(provider, model) as a route's events spell them (None: not a valid route)."""
    try:
        kind, model = split_provider(route.provider, route.model)
    except ValidationError:
        return None
    model = model or kind.default_model
    return (kind.name, model) if model else None


def _upstreams(config: GatewayConfig, names: Iterable[str]) -> set[tuple[str, str]]:
    found = set()
    for name in names:
        for route in config.routes_of(name):
            pair = _upstream(route)
            if pair is not None:
                found.add(pair)
    return found


def _model_matcher(
    names: tuple[str, ...], config: GatewayConfig, requests: OpenRequests
) -> Callable[[Event], bool]:
    aliases = config.aliases
    wanted = {aliases.get(n, n) for n in names}
    raw = {n for n in names if n not in config.models and n not in aliases}
    pairs = _upstreams(config, names)

    def matches(event: Event) -> bool:
        if event.model in raw or f"{event.provider}/{event.model}" in raw:
            return True
        sender = requests.sender(event)
        if sender is None:  # not a gateway request: by its upstream model
            return (event.provider, event.model) in pairs
        called = (sender.model, *sender.names_of(event.request_id))
        return any(aliases.get(n, n) in wanted for n in called)

    return matches


def visibility(
    config: GatewayConfig, key: KeyPolicy | None, requests: OpenRequests
) -> Callable[[Event], bool] | None:
    """The events `key` may watch (None: every event). `events="own"`: those of
    the gateway requests it sent; `"all"`: every call to a model it may use."""
    if key is None:
        return None
    if key.events == EVENTS_OWN:
        owner = key.hash

        def own(event: Event) -> bool:
            sender = requests.sender(event)
            return sender is not None and sender.owner == owner

        return own
    if key.models is None:
        return None
    aliases = dict(config.aliases)
    pairs = _upstreams(config, [n for n in config.public_names() if key.allows(n, aliases)])
    passthrough = config.passthrough

    def allowed(event: Event) -> bool:
        sender = requests.sender(event)
        if sender is not None:  # the name it called (a virtual alias), or every member
            return key.allows(sender.model, aliases) or all(
                key.allows(n, aliases) for n in sender.names_of(event.request_id)
            )
        if (event.provider, event.model) in pairs:
            return True
        return passthrough and key.allows(f"{event.provider}/{event.model}", aliases)

    return allowed


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
