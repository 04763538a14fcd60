"""Graceful shutdown: once draining, new requests get 503 and open ones get a
grace period to finish, after which their upstream calls are cancelled.

The grace is enforced here, not by the HTTP server: the server's own
`graceful_timeout` cancels a connection's task outright, with no chance to
end a stream properly. Our deadline comes first, so a cut stream still ends
with a final SSE error event and `data: [DONE]`-less close that OpenAI's
SDKs raise as an APIError; the server's timeout (a little later) is only the
backstop.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import attrs
import trio

from ._errors import HTTPError


def shutting_down() -> HTTPError:
    return HTTPError(
        503,
        "the server is shutting down; retry the request (another instance will answer)",
        type="service_unavailable",
        code="server_shutting_down",
        headers=[(b"retry-after", b"1"), (b"connection", b"close")],
    )


@attrs.define(eq=False)
class Drain:
    """The draining state of one app, and the cancel scopes of its open requests."""

    deadline: float | None = None
    _scopes: set[trio.CancelScope] = attrs.field(factory=set)

    @property
    def draining(self) -> bool:
        return self.deadline is not None

    def start(self, grace: float) -> None:
        """Start draining: open requests must end within `grace` seconds. Idempotent."""
        if self.deadline is not None:
            return
        self.deadline = trio.current_time() + grace
        for scope in self._scopes:
            scope.deadline = min(scope.deadline, self.deadline)

    def check(self) -> None:
        """HTTPError 503 (server_shutting_down) once draining."""
        if self.draining:
            raise shutting_down()

    @contextmanager
    def scope(self) -> Iterator[trio.CancelScope]:
        """A cancel scope that ends at the drain deadline; check `cancelled_caught` after."""
        scope = trio.CancelScope(deadline=self.deadline if self.deadline is not None else math.inf)
        self._scopes.add(scope)
        try:
            with scope:
                yield scope
        finally:
            self._scopes.discard(scope)
