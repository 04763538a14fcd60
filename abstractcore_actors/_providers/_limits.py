"""Bounds on what an upstream may send back, and the error for passing one.

A faulty or hostile upstream (a proxy gone wrong, a compromised server, a
model stuck in a loop) must never be able to exhaust the memory of the
process or hold a call forever: every answer is read against these limits,
per model, set as provider options (`create_llm(..., max_body_bytes=...)`,
or `options = { ... }` of a model in the gateway's TOML). Past one, the
call fails with `LimitExceeded` (an InvalidResponse) naming the limit and
the option that raises it, its connection is closed rather than reused,
and nothing more of the answer is read. See docs/providers.md, "Limits".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .._json_depth import DEFAULT_MAX_DEPTH
from ..errors import LimitExceeded as LimitExceeded  # raised here; public in errors
from ..errors import ValidationError

KiB = 1024
MiB = 1024 * KiB


def _positive_int(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"{attribute.name} must be an integer >= 1 (got {value!r})")


def _seconds_or_none(
    instance: object, attribute: attrs.Attribute[float | None], value: float | None
) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValidationError(f"{attribute.name} must be a number of seconds > 0 (got {value!r})")


@attrs.frozen(kw_only=True)
class Limits:
    """What one model's upstream may send. Every field is a provider option of the same name."""

    #: Bytes of one whole (non-streamed) answer after decompression: a chat
    #: completion, an embeddings list, an error body. Large float embedding
    #: batches are the one legitimate answer that may need more.
    max_body_bytes: int = attrs.field(default=16 * MiB, validator=_positive_int)
    #: Bytes of the response head (status line and headers).
    max_header_bytes: int = attrs.field(default=64 * KiB, validator=_positive_int)
    #: Bytes of one server-sent event, and so of each of its lines: a stream
    #: as a whole may run as long as it likes, one event may not.
    max_event_bytes: int = attrs.field(default=1 * MiB, validator=_positive_int)
    #: How deep objects and arrays may nest in any JSON the upstream sends.
    max_json_depth: int = attrs.field(default=DEFAULT_MAX_DEPTH, validator=_positive_int)
    #: Decoded bytes per compressed byte, checked once a body has inflated
    #: past `RATIO_FLOOR` (so small answers never trip it). Real JSON and
    #: SSE compress 5-50 times; a gzip bomb 1,000 times.
    max_decompression_ratio: int = attrs.field(default=100, validator=_positive_int)
    #: Seconds for the whole body of a non-streamed answer to arrive, once
    #: its head has (None: the model's `read_timeout`). One total, so an
    #: upstream that drips a byte at a time cannot hold the call: each byte
    #: would otherwise start a new read timeout.
    body_timeout: float | None = attrs.field(default=None, validator=_seconds_or_none)

    def body_seconds(self, read_timeout: float) -> float:
        return read_timeout if self.body_timeout is None else self.body_timeout


#: Inflated bytes below which the ratio is not judged.
RATIO_FLOOR = 1 * MiB

#: The provider options that set `Limits` (HTTP providers only).
LIMIT_OPTIONS = frozenset(attrs.fields_dict(Limits))


def limits_from_options(options: Mapping[str, Any]) -> Limits:
    """The `Limits` an options mapping sets (the others at their defaults);
    ValidationError for a value out of range."""
    return Limits(**{name: options[name] for name in LIMIT_OPTIONS if name in options})


def describe(limit: str, value: object, what: str) -> str:
    """The detail of a LimitExceeded: what was too big, and the option that bounds it."""
    return (
        f"{what}: over the limit {limit}={value!r} "
        f"(create_llm(..., {limit}=...) or the model's options in the gateway config)"
    )
