"""Ids a client chooses, and who sent each open request.

`X-Request-Id` on /v1/chat/completions: a console that wants to watch a
request's events from its very first one picks the id itself, subscribes to
`/v1/events?request_id=<id>`, then sends the request with that header. The
gateway uses it as the runtime request id (on every event of the call) and
echoes it in the response's `X-Request-Id`. Without the header the gateway
makes one (`gw-<hex>`) and echoes that.

`X-Session-Id` tags the request's events with `session_id`, so one
`/v1/events?session_id=<id>` socket follows every request of a conversation.
It has the same form as a request id; the gateway keeps no state for it.

Virtual models give their contenders `<id>/0`, `<id>/1`, … (the index in the
model name), so the id has no `/` of its own and a filter on `<id>` can
match the whole family by prefix.

`OpenRequests` remembers, while a request runs, which key sent it and as
which model: `/v1/events` shows a key only its own requests (or those of
models it may use), and tells apart two public names over one upstream
model. One per app, shared by its chat endpoint and its `/v1/events`: an
app's sockets attribute only its own requests.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import final

import attrs

from ..events import Event
from ._errors import HTTPError, bad_request
from ._http import Message, Scope, Send, header
from ._virtual import is_virtual, parse_virtual

MAX_LENGTH = 64
_VALID = re.compile(r"[A-Za-z0-9._:-]{1,64}")  # MAX_LENGTH
HEADER = b"x-request-id"
SESSION_HEADER = b"x-session-id"


def valid_request_id(value: str) -> bool:
    """Whether `value` may name a request (or a session): 1-64 of A-Z a-z 0-9 . _ : -"""
    return _VALID.fullmatch(value) is not None


def _client_id(scope: Scope, name: bytes, label: str, code: str) -> str | None:
    raw = header(scope, name)
    if raw is None:
        return None
    value = raw.decode("latin-1").strip()
    if not valid_request_id(value):
        # the value is the client's own, but may be long or odd: do not echo it
        raise bad_request(
            f"invalid {label} header: use 1 to {MAX_LENGTH} characters from A-Z a-z 0-9 . _ : -",
            code=code,
        )
    return value


def client_request_id(scope: Scope) -> str:
    """The client's `X-Request-Id`, or a fresh id; HTTPError 400 when it is malformed."""
    value = _client_id(scope, HEADER, "X-Request-Id", "invalid_request_id")
    return f"gw-{uuid.uuid4().hex[:20]}" if value is None else value


def client_session_id(scope: Scope) -> str | None:
    """The client's `X-Session-Id` (None without one); HTTPError 400 when it is malformed."""
    return _client_id(scope, SESSION_HEADER, "X-Session-Id", "invalid_session_id")


def with_request_id(send: Send, request_id: str) -> Send:
    """`send` that adds `X-Request-Id: <request_id>` to the response's headers."""
    echoed = (HEADER, request_id.encode("ascii"))

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), echoed]}
        await send(message)

    return wrapped


@attrs.frozen
class Sender:
    """Who sent an open request, and as which model."""

    owner: str | None = attrs.field(repr=False)  # the key's hash; None without keys
    model: str  # the public name, as the client wrote it
    members: tuple[str, ...] = ()  # a virtual model's contenders, in index order

    def names_of(self, request_id: str) -> tuple[str, ...]:
        """The plain model names behind `request_id`: a contender's (`<id>/<n>`)
        member, else the model's own name, or every member of a virtual one."""
        _, slash, index = request_id.partition("/")
        if not self.members:
            return (self.model,)
        if slash and index.isdigit():
            return (self.members[int(index) % len(self.members)],)  # hedge cycles
        return self.members


def _members(model: str) -> tuple[str, ...]:
    return parse_virtual(model).members if is_virtual(model) else ()


@final
class OpenRequests:
    """The gateway's open chat requests by id (see the module doc)."""

    def __init__(self) -> None:
        self._open: dict[str, Sender] = {}

    def __repr__(self) -> str:  # owners are key hashes: never shown
        return f"<OpenRequests open={len(self._open)}>"

    def __len__(self) -> int:
        return len(self._open)

    @contextmanager
    def hold(
        self, request_id: str, owner: str | None, model: str, send: Send, target: str | None = None
    ) -> Iterator[Send]:
        """Remember the request while the block runs, or until the yielded `send`
        sends the response's last bytes (every event of the call is out by then,
        and the client may reuse the id the moment it has its answer). `target`:
        what `model` names when it is an alias (a virtual alias has members).

        HTTPError 409 when a request with this id is open already: the events of
        two requests under one id could not be told apart (nor each shown only
        to the key that sent it)."""
        if request_id in self._open:
            raise HTTPError(
                409,
                f"X-Request-Id {request_id!r} is in use by another open request: "
                "choose a new id for each request (or leave the header out)",
                code="request_id_in_use",
            )
        sender = self._open[request_id] = Sender(owner, model, _members(target or model))

        def release() -> None:
            if self._open.get(request_id) is sender:
                del self._open[request_id]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body"):
                release()
            await send(message)

        try:
            yield sending
        finally:
            release()

    def sender(self, event: Event) -> Sender | None:
        """Who sent the gateway request `event` belongs to (None: not one of ours)."""
        return self._open.get(event.request_id.partition("/")[0])
