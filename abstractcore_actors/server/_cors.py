"""CORS, for browser apps served from another origin (`[server] cors_origins`).

Off by default: a page on another origin cannot call the gateway. With
`cors_origins = ["https://app.example"]` (or `["*"]` for any origin) the
gateway answers preflights (`OPTIONS` with `Access-Control-Request-Method`)
with 204 and the methods and headers a client of this API sends, and adds
`Access-Control-Allow-Origin: <that origin>` (never a bare `*`: the origin
is echoed, with `Vary: Origin`) to the answers, exposing `X-Request-Id` and
`Retry-After` to the page. A request from an origin not listed gets no CORS
headers, so the browser keeps its answer from the page. The bearer key is
still required: CORS decides which pages may *read* answers, not who may
call.

WebSockets are outside CORS (a browser sends `Origin` and connects);
`/v1/events` authenticates by key, not by cookies, so a foreign page
without a key gets nothing.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import attrs

from ..errors import ConfigurationError
from ._http import Message, Scope, Send, header

ALLOW_METHODS = b"GET, POST, OPTIONS"
ALLOW_HEADERS = b"authorization, content-type, x-request-id, x-session-id"
EXPOSE_HEADERS = b"x-request-id, retry-after"
MAX_AGE = b"600"


def check_origins(origins: object) -> tuple[str, ...]:
    """`cors_origins` as given, checked: "*" or origins like "https://app.example:8443"."""
    if not isinstance(origins, list | tuple) or not all(isinstance(o, str) for o in origins):
        raise ConfigurationError("cors_origins must be a list of origins, or ['*']")
    for origin in origins:
        if origin == "*":
            continue
        parts = urlsplit(origin)
        if (
            parts.scheme not in ("http", "https")
            or not parts.netloc
            or origin != (f"{parts.scheme}://{parts.netloc}")
        ):
            raise ConfigurationError(
                f"cors_origins: {origin!r} is not an origin; write scheme://host[:port], "
                "with no path or trailing slash (e.g. 'https://app.example')"
            )
    return tuple(origins)


@attrs.frozen
class Cors:
    """The app's CORS policy."""

    origins: tuple[str, ...] = ()

    def allowed_origin(self, scope: Scope) -> bytes | None:
        """The request's `Origin` when it may read the answer, else None."""
        if not self.origins:
            return None
        origin = header(scope, b"origin")
        if origin is None:
            return None
        if "*" in self.origins or origin.decode("latin-1") in self.origins:
            return origin
        return None

    def is_preflight(self, scope: Scope) -> bool:
        return scope["method"] == "OPTIONS" and (
            header(scope, b"access-control-request-method") is not None
        )

    async def answer_preflight(self, send: Send, origin: bytes) -> None:
        headers = [
            (b"access-control-allow-origin", origin),
            (b"access-control-allow-methods", ALLOW_METHODS),
            (b"access-control-allow-headers", ALLOW_HEADERS),
            (b"access-control-max-age", MAX_AGE),
            (b"vary", b"Origin"),
            (b"content-length", b"0"),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    def sending(self, send: Send, origin: bytes) -> Send:
        """`send` that lets the page at `origin` read the answer."""
        added = [
            (b"access-control-allow-origin", origin),
            (b"access-control-expose-headers", EXPOSE_HEADERS),
            (b"vary", b"Origin"),
        ]

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *added]}
            await send(message)

        return wrapped
