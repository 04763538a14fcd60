"""One request/response cycle of `_http1`'s connection, and the Date header."""

from __future__ import annotations

import time
from email.utils import formatdate
from typing import final

from ._http import Scope


class Date:
    """The Date header, formatted once a second, not once a response."""

    def __init__(self) -> None:
        self._second = 0
        self._value = b""

    def header(self) -> bytes:
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._value = b"date: " + formatdate(now, usegmt=True).encode() + b"\r\n"
        return self._value


@final
class Cycle:
    """One request and its response."""

    __slots__ = (
        "body",
        "body_size",
        "chunked",
        "complete",
        "delivered",
        "done",
        "expect_continue",
        "head_only",
        "head_sent",
        "headers",
        "keep_alive",
        "scope",
        "started",
        "status",
        "upgrade",
    )

    def __init__(self, scope: Scope, keep_alive: bool, expect_continue: bool) -> None:
        self.scope = scope
        self.body: list[bytes] = []
        self.body_size = 0
        self.complete = False  # the whole body has been parsed
        self.delivered = False  # ... and handed to the app
        self.keep_alive = keep_alive
        self.expect_continue = expect_continue
        self.upgrade = False
        self.started = False  # http.response.start seen
        self.head_sent = False
        self.done = False  # last body byte written (or given up)
        self.chunked = False
        self.head_only = scope["method"] == "HEAD"
        self.status = 200
        self.headers: list[tuple[bytes, bytes]] = []

    def arrived(self) -> bytes | None:
        """The `BODY` extension: the whole body, once, if it has all arrived."""
        if not self.complete or self.delivered:
            return None
        return self.take()

    def take(self) -> bytes:
        """The body received so far and not yet handed to the app."""
        body = b"".join(self.body) if len(self.body) != 1 else self.body[0]
        self.body.clear()
        self.body_size = 0
        self.delivered = self.complete
        return body
