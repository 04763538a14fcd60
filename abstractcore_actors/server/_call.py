"""What answering one API call (chat or embeddings) needs, and how its
failures become responses and metrics: shared by both endpoints."""

from __future__ import annotations

import logging
from collections.abc import Callable

import attrs

from .._budgets import Spending
from ..errors import PatternTimeout, ProviderTimeout
from ..events import EventBus
from ._config import GatewayConfig
from ._drain import Drain, shutting_down
from ._errors import HTTPError, http_error
from ._gateway_tools import GatewayTools
from ._http import Receive, Scope, read_body
from ._keys import KeyPolicy
from ._metrics import INVALID, UNREAD, ModelLabels, RequestRecord
from ._request_id import OpenRequests
from ._routing import Router

log = logging.getLogger("abstractcore_actors.server")


def leaf(exc: BaseException) -> BaseException:
    """The one real error inside (nested) single-member exception groups."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def to_http(exc: BaseException) -> HTTPError:
    error = http_error(leaf(exc))
    if error.status >= 500 and error.code == "internal_error":
        log.error("internal error while answering a request", exc_info=exc)
    return error


@attrs.frozen(kw_only=True)
class CallContext:
    """What answering one request needs besides the request itself."""

    router: Router
    config: GatewayConfig
    drain: Drain
    record: RequestRecord
    labels: ModelLabels
    requests: OpenRequests  # the app's open requests, for /v1/events
    key: KeyPolicy | None = None
    spending: Spending | None = None  # budgets, rate limits, the ledger
    tools: GatewayTools | None = None  # the [mcp.NAME] servers' tools
    events: EventBus | None = None  # where the gateway's tool loop reports its steps

    @property
    def owner(self) -> str | None:
        """Who the request belongs to, for /v1/events: its key's hash."""
        return self.key.hash if self.key is not None else None

    def allowed(self, name: str) -> bool:
        return self.key is None or self.key.allows(name, dict(self.config.aliases))

    async def read_body(self, scope: Scope, receive: Receive) -> bytes:
        """The request's body, within the configured limit and timeout."""
        body = await read_body(scope, receive, self.config.body_limit, self.config.body_timeout)
        if self.record.model == UNREAD:
            self.record.model = INVALID  # read, and not yet resolved to a model
        return body

    def max_tokens(self) -> int | None:
        caps = [c for c in (self.config.max_tokens, self.key and self.key.max_tokens) if c]
        return min(caps) if caps else None


def error_code(error: HTTPError) -> str:
    return error.code or error.type


def failure(
    exc: BaseException,
    record: RequestRecord,
    to_error: Callable[[BaseException], HTTPError] = to_http,
) -> HTTPError:
    """The response for a call that raised `exc`, counted in `record`."""
    error = to_error(exc)
    timed_out = isinstance(leaf(exc), ProviderTimeout | PatternTimeout)
    record.failed(error_code(error), "timeout" if timed_out else "error")
    return error


def cut(record: RequestRecord) -> HTTPError:
    """The response for a call the shutdown grace ran out on, counted in `record`."""
    error = shutting_down()
    record.failed(error_code(error), "shutdown")
    return error
