"""Request ids a client chooses: `X-Request-Id` on /v1/chat/completions.

A console that wants to watch a request's events from its very first one
picks the id itself, subscribes to `/v1/events?request_id=<id>`, then sends
the request with that header. The gateway uses it as the runtime request id
(on every event of the call) and echoes it in the response's `X-Request-Id`.
Without the header the gateway makes one (`gw-<hex>`) and echoes that.

Virtual models give their contenders `<id>/0`, `<id>/1`, … (the index in the
model name), so the id has no `/` of its own and a filter on `<id>` can
match the whole family by prefix.
"""

from __future__ import annotations

import re
import uuid

from ._errors import bad_request
from ._http import Message, Scope, Send, header

MAX_LENGTH = 64
_VALID = re.compile(r"[A-Za-z0-9._:-]{1,64}")  # MAX_LENGTH
HEADER = b"x-request-id"


def valid_request_id(value: str) -> bool:
    """Whether `value` may name a request: 1-64 of A-Z a-z 0-9 . _ : -"""
    return _VALID.fullmatch(value) is not None


def client_request_id(scope: Scope) -> str:
    """The client's `X-Request-Id`, or a fresh id; HTTPError 400 when it is malformed."""
    raw = header(scope, HEADER)
    if raw is None:
        return f"gw-{uuid.uuid4().hex[:20]}"
    value = raw.decode("latin-1").strip()
    if not valid_request_id(value):
        # the value is the client's own, but may be long or odd: do not echo it
        raise bad_request(
            f"invalid X-Request-Id header: use 1 to {MAX_LENGTH} characters from "
            "A-Z a-z 0-9 . _ : - (or leave it out and read the id from the response)",
            code="invalid_request_id",
        )
    return value


def with_request_id(send: Send, request_id: str) -> Send:
    """`send` that adds `X-Request-Id: <request_id>` to the response's headers."""
    echoed = (HEADER, request_id.encode("ascii"))

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), echoed]}
        await send(message)

    return wrapped
