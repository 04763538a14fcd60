"""Keep secrets out of every message, repr, log line and event."""

from __future__ import annotations

import re
from collections.abc import Iterable

# Key shapes of the common providers, and bearer tokens in echoed headers.
_KEY_PATTERNS = re.compile(
    r"(sk-ant-[A-Za-z0-9_\-]{8,}|sk-[A-Za-z0-9_\-]{8,}|(?i:bearer)\s+[A-Za-z0-9._\-]{8,}"
    r"|x-api-key:\s*\S+)"
)
_MASK = "[redacted]"


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with every known secret and anything shaped like a key masked."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, _MASK)
    return _KEY_PATTERNS.sub(_MASK, text)


def mask(secret: str | None) -> str:
    """How a secret may appear in a repr: present or not, never its value."""
    return "<set>" if secret else "<not set>"
