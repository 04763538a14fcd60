"""API keys: who may call the gateway, which models each key may use, and how
many of its requests may run at once.

A key is known by the SHA-256 of its value (`hash_key`) and by a name that
is safe to show (metrics, logs); the key itself is never kept.
"""

from __future__ import annotations

import fnmatch
import hmac
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import attrs

from ..errors import ConfigurationError
from ._errors import HTTPError

EVENTS_ALL = "all"
EVENTS_OWN = "own"
EVENTS_NONE = "none"
EVENTS_SCOPES = (EVENTS_OWN, EVENTS_ALL, EVENTS_NONE)


HASH_HOWTO = "python -c \"from abstractcore_actors.server import hash_key; print(hash_key('KEY'))\""
_HEX = frozenset("0123456789abcdef")


def check_hash(value: object, where: str) -> str:
    """`value` as a stored key hash (64 hex digits, lowercased); ConfigurationError
    otherwise, saying how to make one. The value is never shown: it may be a key."""
    if isinstance(value, str):
        digest = value.strip().lower()
        if len(digest) == 64 and _HEX.issuperset(digest):
            return digest
    raise ConfigurationError(
        f"{where} is not a key hash: it must be the SHA-256 hex digest of the key "
        f"(64 hex digits), not the key itself. Make one with: {HASH_HOWTO} "
        "(or list the key itself under api_keys / as key = ...)"
    )


def _hash(value: str) -> str:
    return check_hash(value, "a [[keys]] hash")


@attrs.frozen(kw_only=True)
class KeyPolicy:
    """One API key: its hash, a display name, and what it may do.

    `models`: patterns of model names it may use (`fnmatch`: "fast",
    "openai/*"); None means every model. An alias is allowed when the alias
    or its target matches; a virtual model when all its members are allowed.
    `max_concurrent`: requests it may have open at once (None: no limit).
    `max_tokens`: caps each of its requests' max_tokens.
    `events`: what it may watch on `/v1/events` — "own" (default): the events
    of its own requests only; "all": every request's, of the models it may
    use; "none": the socket is refused.
    `team`: the team (or project) its spend counts toward (team budgets).
    `rpm` / `tpm`: requests / tokens per minute it may send (a sliding
    window of 60 s; None: no limit). `admin`: may read `GET /v1/spend`.
    `tools`: patterns of the gateway's tools it may see and use, matched
    against "SERVER/TOOL" and the tool's listed name ("files/*", "search");
    none by default (a tool acts on the gateway's side: each key opts in);
    None: every tool (a plain `api_key_hashes` key).
    """

    hash: str = attrs.field(converter=_hash, repr=False)
    name: str = ""
    models: tuple[str, ...] | None = attrs.field(
        default=None, converter=attrs.converters.optional(tuple)
    )
    max_concurrent: int | None = None
    max_tokens: int | None = None
    events: str = EVENTS_OWN
    team: str | None = None
    rpm: int | None = None
    tpm: int | None = None
    admin: bool = False
    tools: tuple[str, ...] | None = attrs.field(
        default=(), converter=attrs.converters.optional(tuple)
    )

    def __attrs_post_init__(self) -> None:
        if self.events not in EVENTS_SCOPES:
            raise ConfigurationError(
                f"events must be one of {', '.join(EVENTS_SCOPES)} (got {self.events!r})"
            )
        for field, value in (
            ("max_concurrent", self.max_concurrent),
            ("max_tokens", self.max_tokens),
            ("rpm", self.rpm),
            ("tpm", self.tpm),
        ):
            if value is not None and not (isinstance(value, int) and value >= 1):
                raise ConfigurationError(f"{field} must be a whole number >= 1 (got {value!r})")
        if not self.name:  # a prefix of the hash: stable, and says nothing about the key
            object.__setattr__(self, "name", f"key-{self.hash[:8]}")

    def matches(self, digest: str) -> bool:
        return hmac.compare_digest(digest, self.hash)

    def allows(self, name: str, aliases: dict[str, str] | None = None) -> bool:
        """True when this key may use the plain model `name`."""
        if self.models is None:
            return True
        names = [name]
        target = (aliases or {}).get(name)
        if target is not None:
            names.append(target)
        return any(fnmatch.fnmatchcase(n, p) for n in names for p in self.models)

    def allows_tool(self, server: str, tool: str, listed: str) -> bool:
        """True when this key may use `server`'s tool `tool` (listed as `listed`)."""
        if self.tools is None:
            return True
        names = (f"{server}/{tool}", listed)
        return any(fnmatch.fnmatchcase(n, p) for n in names for p in self.tools)


@attrs.define(eq=False)
class Limiter:
    """Open requests per key name, for `max_concurrent`; one per app."""

    _open: dict[str, int] = attrs.field(factory=dict)

    @contextmanager
    def hold(self, policy: KeyPolicy | None) -> Iterator[Callable[[], None]]:
        """Count one request of `policy`'s key until the block ends or the yielded
        `release` is called (once its response is sent: a race's losers may take
        a moment more to close, which the client should not be charged for).

        HTTPError 429 (code rate_limit_exceeded, Retry-After: 1) when the key
        already has `max_concurrent` requests open."""
        if policy is None or policy.max_concurrent is None:
            yield lambda: None
            return
        name = policy.name
        count = self._open.get(name, 0)
        if count >= policy.max_concurrent:
            raise HTTPError(
                429,
                f"too many concurrent requests for this key (limit {policy.max_concurrent}); "
                "retry when one of its requests has finished",
                type="requests",
                code="rate_limit_exceeded",
                headers=[(b"retry-after", b"1")],
            )
        self._open[name] = count + 1
        held = True

        def release() -> None:
            nonlocal held
            if held:
                held = False
                left = self._open[name] - 1
                if left:
                    self._open[name] = left
                else:
                    del self._open[name]

        try:
            yield release
        finally:
            release()

    def open_count(self, name: str) -> int:
        return self._open.get(name, 0)
