"""A bug met while handling one call, as that call's `InternalError` (and a log line).

The traceback goes to the `abstractcore_actors.providers` logger, redacted:
an exception's text may quote what was being encoded, headers included.
"""

from __future__ import annotations

import logging
import traceback

from .._redact import redact
from ..errors import InternalError
from ._adapter import ProviderConfig

log = logging.getLogger("abstractcore_actors.providers")


def internal_error(config: ProviderConfig, exc: Exception, doing: str) -> InternalError:
    """`exc`, raised by a bug while `doing` one call of `config`'s provider."""
    secrets = config.secrets
    trace = redact("".join(traceback.format_exception(exc)), secrets)
    log.error("%s (%s): internal error while %s\n%s", config.provider, config.model, doing, trace)
    detail = redact(f"internal error while {doing}: {type(exc).__name__}: {exc}", secrets)
    return InternalError(detail[:500], provider=config.provider, model=config.model)
