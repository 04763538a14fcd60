"""`GatewayConfig`: which models the gateway serves, who may call it, and its limits."""

from __future__ import annotations

import hashlib
import hmac
import tomllib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from .._budgets import Budget
from .._pricing import PriceBook
from ..errors import ConfigurationError, ValidationError
from ._config_fields import refuse_unknown
from ._config_mcp import McpServerConfig, parse_mcp
from ._config_routers import RouterSpec, parse_routers
from ._config_spend import parse_budgets
from ._cors import check_origins
from ._errors import HTTPError
from ._keys import EVENTS_ALL, EVENTS_OWN, KeyPolicy, check_hash
from ._model_route import ModelRoute as ModelRoute
from ._virtual import is_virtual, parse_virtual

DEFAULT_BODY_LIMIT = 1024 * 1024
DEFAULT_BODY_TIMEOUT = 30.0
DEFAULT_REQUEST_TIMEOUT = 600.0  # seconds; a long reasoning answer may take minutes
DEFAULT_SHUTDOWN_GRACE = 10.0
DEFAULT_METRICS_MAX_MODELS = 100
DEFAULT_MAX_TOOL_STEPS = 8


def hash_key(key: str) -> str:
    """The SHA-256 hex digest under which an API key is stored."""
    return hashlib.sha256(key.encode()).hexdigest()


def _hashes(values: Iterable[str]) -> frozenset[str]:
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise ConfigurationError("api_key_hashes must be a list of key hashes (see hash_key)")
    return frozenset(check_hash(v, f"api_key_hashes[{i}]") for i, v in enumerate(values))


def _strings(value: object, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigurationError(f"{where} must be a list of non-empty strings")
    return value


def _check_prices(_: object, __: object, prices: Mapping[str, Mapping[str, Any]]) -> None:
    try:
        PriceBook(prices, data_set=False)
    except ValidationError as exc:
        raise ConfigurationError(f"[prices]: {exc}") from None


@attrs.frozen(kw_only=True)
class GatewayConfig:
    """The gateway's settings; frozen, so a running app's config never changes under it.

    `models`: public name -> ModelRoute. `aliases`: other name -> public name,
    or a virtual model over them (`best = "race:fast,claude"`).
    `api_key_hashes`: SHA-256 hex digests of the accepted bearer keys (see
    `hash_key`); empty means no authentication. `passthrough`: also route
    `provider/model` names that are not in `models`. `max_tokens`: every
    request's max_tokens is capped to it (and set to it when absent).
    `request_timeout`: seconds one upstream call may take in all, streamed or
    not (default 600; None in Python: only the provider's own timeouts).
    `body_timeout`: seconds a client has to send its whole request body
    (a slow or stalled body is a 408, never a connection held open).
    `cors_origins`: origins whose pages may read the answers (CORS; "*" for
    any); none by default.
    `keys`: richer keys (`KeyPolicy`: a name, allowed models, limits); a hash
    in `api_key_hashes` too is a key that may do everything.
    `metrics_auth`: /metrics needs a key too (when keys are configured).
    `metrics_max_models`: distinct model label values in /metrics; the rest
    are counted as "other". `shutdown_grace`: seconds open requests get to
    finish once shutdown starts.
    """

    models: Mapping[str, ModelRoute] = attrs.field(
        factory=lambda: {"local": ModelRoute(provider="local")}
    )
    aliases: Mapping[str, str] = attrs.field(factory=dict)
    api_key_hashes: frozenset[str] = attrs.field(factory=frozenset, converter=_hashes)
    passthrough: bool = True
    body_limit: int = attrs.field(default=DEFAULT_BODY_LIMIT, validator=attrs.validators.gt(0))
    max_tokens: int | None = None
    # A bound on every call by default: a stream whose upstream keeps sending
    # (one event at a time) never trips a read timeout.
    request_timeout: float | None = DEFAULT_REQUEST_TIMEOUT
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    cors_origins: tuple[str, ...] = attrs.field(default=(), converter=check_origins)
    keys: tuple[KeyPolicy, ...] = attrs.field(default=(), converter=tuple)
    metrics_auth: bool = True
    metrics_max_models: int = attrs.field(
        default=DEFAULT_METRICS_MAX_MODELS, validator=attrs.validators.ge(0)
    )
    shutdown_grace: float = attrs.field(
        default=DEFAULT_SHUTDOWN_GRACE, validator=attrs.validators.ge(0)
    )
    # Prices over genai-prices' data set: "provider/model" or model -> a
    # table of input/output/cached_input USD per 1M tokens (docs/routing.md).
    prices: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict, validator=_check_prices)
    # name -> a router over deployments (docs/routing.md); a public name like a model
    routers: Mapping[str, RouterSpec] = attrs.field(factory=dict)
    budgets: tuple[Budget, ...] = ()
    # the SQLite ledger of settled calls (None: kept in memory only, lost on restart)
    ledger: str | None = None
    # budgets shared by every replica, in Redis ("redis://host:6379/0"; None: per process)
    redis: str | None = attrs.field(default=None, repr=False)  # the URL may hold a password
    redis_prefix: str = "abstractcore:"
    # Redis unreachable: refuse budgeted calls ("closed") or let them through unheld ("open")
    when_store_down: str = attrs.field(
        default="closed", validator=attrs.validators.in_(("closed", "open"))
    )
    # name -> an MCP server whose tools the gateway offers and runs (docs/tools.md)
    mcp: Mapping[str, McpServerConfig] = attrs.field(factory=dict)
    # model calls one request's gateway tool loop may make (the last answers in text)
    max_tool_steps: int = attrs.field(
        default=DEFAULT_MAX_TOOL_STEPS, validator=attrs.validators.ge(1)
    )

    def __attrs_post_init__(self) -> None:
        for alias, target in self.aliases.items():
            if is_virtual(target):
                self._check_virtual_alias(alias, target)
            elif target not in self.models:
                raise ConfigurationError(
                    f"alias {alias!r} points to {target!r}, which is not a configured model "
                    f"(configured: {', '.join(sorted(self.models)) or 'none'})"
                )
        if self.max_tokens is not None and self.max_tokens < 1:
            raise ConfigurationError(f"max_tokens must be >= 1 (got {self.max_tokens})")
        if self.request_timeout is not None and not self.request_timeout > 0:
            raise ConfigurationError(f"request_timeout must be > 0 (got {self.request_timeout})")
        if not self.body_timeout > 0:
            raise ConfigurationError(f"body_timeout must be > 0 (got {self.body_timeout})")
        taken = set(self.models) | set(self.aliases)
        for name in self.routers:
            if name in taken or is_virtual(name):
                raise ConfigurationError(
                    f"[routers.{name}]: {name!r} is already a model or alias name, or "
                    "looks like a virtual model: give the router a name of its own"
                )
        names = [k.name for k in self.keys]
        if len(set(names)) != len(names):
            raise ConfigurationError("two keys have the same name: give each key its own name")

    def _check_virtual_alias(self, alias: str, target: str) -> None:
        """An alias may name a virtual model over configured models (or, with
        passthrough, provider/model names); never over another virtual one."""
        try:
            spec = parse_virtual(target)
        except HTTPError as exc:
            raise ConfigurationError(f"alias {alias!r}: {exc.message}") from None
        for member in spec.model_names():
            plain = self.aliases.get(member, member)
            if is_virtual(plain):
                raise ConfigurationError(
                    f"alias {alias!r} = {target!r} uses {member!r}, itself a virtual model: "
                    "virtual models do not nest; name the plain models"
                )
            configured = plain in self.models or plain in self.routers
            if not configured and not (self.passthrough and "/" in plain):
                raise ConfigurationError(
                    f"alias {alias!r} = {target!r} uses {member!r}, which is not a configured "
                    f"model (configured: {', '.join(sorted(self.models)) or 'none'})"
                )

    def is_virtual_name(self, name: str) -> bool:
        """Whether `name` is a virtual model, or an alias of one."""
        return is_virtual(self.aliases.get(name, name))

    def __repr__(self) -> str:
        return (
            f"GatewayConfig(models={sorted(self.models)}, aliases={dict(self.aliases)}, "
            f"api_keys={len(self.api_key_hashes) + len(self.keys)}, "
            f"passthrough={self.passthrough})"
        )

    @property
    def auth_required(self) -> bool:
        return bool(self.api_key_hashes or self.keys)

    def key_allowed(self, key: str) -> bool:
        """True when `key` is one of the configured keys (constant-time per comparison)."""
        return self.find_key(key) is not None

    def key_from_authorization(self, value: bytes) -> KeyPolicy | None:
        """The policy of the key in an `Authorization: Bearer <key>` header value,
        or None when it is not a bearer header or not a configured key."""
        scheme, _, key = value.decode("latin-1").partition(" ")
        return self.find_key(key.strip()) if scheme.lower() == "bearer" else None

    def find_key(self, key: str) -> KeyPolicy | None:
        """The policy of `key` (an unrestricted one for a plain `api_key_hashes`
        entry), or None when it is not a configured key. Every stored hash is
        compared, in constant time each, so timing does not tell which matched."""
        digest = hash_key(key)
        found: KeyPolicy | None = None
        for policy in self.keys:
            if policy.matches(digest):
                found = found or policy
        for stored in self.api_key_hashes:
            if hmac.compare_digest(digest, stored):
                found = found or KeyPolicy(hash=stored, events=EVENTS_ALL, admin=True, tools=None)
        return found

    def public_names(self) -> list[str]:
        """Every name /v1/models lists: configured models, routers, then aliases."""
        plain = sorted(self.models) + sorted(self.routers)
        return plain + sorted(set(self.aliases) - set(plain))

    def routes_of(self, name: str) -> list[ModelRoute]:
        """The upstream routes behind a public name: a model's one, a router's
        deployments' (none for an unknown or virtual name)."""
        public = self.aliases.get(name, name)
        if public in self.routers:
            found: list[ModelRoute] = []
            for d in self.routers[public].deployments:
                # a semantic route may target another router (parse_routers refuses circles)
                nested = self.routers[public].strategy == "semantic" and d.use in self.routers
                found += self.routes_of(d.use) if nested and d.use else [d.route]
            return found
        route = self.models.get(public)
        return [route] if route is not None else []


def config_from_mapping(data: Mapping[str, Any]) -> GatewayConfig:
    """A GatewayConfig from parsed TOML (see docs/server.md); raises ConfigurationError."""
    try:
        server = dict(data.get("server", {}))
        models = {
            name: _model_route(name, spec) for name, spec in dict(data.get("models", {})).items()
        }
        keys = [_key_policy(dict(spec), i) for i, spec in enumerate(data.get("keys", []))]
        hashes = server.pop("api_key_hashes", [])
        if not isinstance(hashes, list):
            raise ConfigurationError("api_key_hashes must be a list of key hashes (see hash_key)")
        plain = _strings(server.pop("api_keys", []), "api_keys")
        hashes += [hash_key(k) for k in plain]
        kwargs: dict[str, Any] = {
            "aliases": {str(k): str(v) for k, v in dict(data.get("aliases", {})).items()},
            "api_key_hashes": hashes,
            "keys": keys,
            "prices": {str(k): v for k, v in dict(data.get("prices", {})).items()},
        }
        if models:
            kwargs["models"] = models
        if "budgets" in data:
            kwargs["budgets"] = parse_budgets(data["budgets"])
        if "mcp" in data:
            kwargs["mcp"] = parse_mcp(data["mcp"])
        if "routers" in data:
            known = models or GatewayConfig().models
            kwargs["routers"] = parse_routers(data["routers"], known)
        settings = (
            "passthrough",
            "body_limit",
            "max_tokens",
            "request_timeout",
            "body_timeout",
            "cors_origins",
            "metrics_auth",
            "metrics_max_models",
            "shutdown_grace",
            "ledger",
            "redis",
            "redis_prefix",
            "when_store_down",
            "max_tool_steps",
        )
        for key in settings:
            if key in server:
                kwargs[key] = server.pop(key)
        if server:
            raise ConfigurationError(f"unknown [server] settings: {', '.join(sorted(server))}")
        return GatewayConfig(**kwargs)
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, ConfigurationError):
            raise
        raise ConfigurationError(f"invalid gateway config: {exc!r}") from exc


_MODEL_FIELDS = ("provider", "model", "options")


def _model_route(name: str, spec: object) -> ModelRoute:
    where = f"[models.{name}]"
    if not isinstance(spec, Mapping):
        raise ConfigurationError(f"{where} must be a table with provider, model and options")
    refuse_unknown(
        where,
        spec,
        _MODEL_FIELDS,
        "a model takes provider, model and options = { ... } (provider options such as "
        "base_url go inside options)",
    )
    if not isinstance(spec.get("provider"), str) or not spec["provider"]:
        raise ConfigurationError(f'{where} needs provider = "..." (e.g. "openai-compatible")')
    options = spec.get("options", {})
    if not isinstance(options, Mapping):
        raise ConfigurationError(f"{where}: options must be a table, e.g. options = {{ ... }}")
    return ModelRoute(provider=spec["provider"], model=spec.get("model"), options=dict(options))


def config_problems(config: GatewayConfig, check: Callable[[ModelRoute], None]) -> list[str]:
    """Every configured model whose provider cannot be set up, one line each:
    `check(route)` raises what `create_llm` would (rt.check_llm)."""
    problems = []
    routes = [(f"[models.{name}]", route) for name, route in config.models.items()]
    for name, router in config.routers.items():
        routes += [
            (f"[routers.{name}] deployment {i}", d.route)
            for i, d in enumerate(router.deployments)
            if d.use is None  # a configured model is checked as one
        ]
    for where, route in routes:
        try:
            check(route)
        except ValidationError as exc:  # ConfigurationError included
            problems.append(f"{where}: {exc}")
    return problems


def check_config(config: GatewayConfig, check: Callable[[ModelRoute], None]) -> None:
    """ConfigurationError listing every problem of `config_problems`, if any."""
    problems = config_problems(config, check)
    if problems:
        listed = "\n  ".join(problems)
        raise ConfigurationError(f"the gateway config has {len(problems)} problem(s):\n  {listed}")


_KEY_FIELDS = (
    "name",
    "hash",
    "key",
    "models",
    "max_concurrent",
    "max_tokens",
    "events",
    "team",
    "rpm",
    "tpm",
    "admin",
    "tools",
)


def _key_policy(spec: dict[str, Any], index: int) -> KeyPolicy:
    refuse_unknown(f"[[keys]] entry {index}", spec, _KEY_FIELDS)
    if ("hash" in spec) == ("key" in spec):
        raise ConfigurationError("each [[keys]] entry needs exactly one of hash or key")
    where = (
        f"[[keys]] entry {index} ({spec['name']!r})"
        if "name" in spec
        else f"[[keys]] entry {index}"
    )
    if "hash" in spec:
        digest = check_hash(spec["hash"], f"{where}: hash")
    elif isinstance(spec["key"], str) and spec["key"]:
        digest = hash_key(spec["key"])
    else:
        raise ConfigurationError(f"{where}: key must be a non-empty string")
    models = spec.get("models")
    if models is not None and not (
        isinstance(models, list) and all(isinstance(m, str) and m for m in models)
    ):
        raise ConfigurationError("[[keys]] models must be a list of model names or patterns")
    tools = spec.get("tools", [])
    if not (isinstance(tools, list) and all(isinstance(t, str) and t for t in tools)):
        raise ConfigurationError(
            f'{where}: tools must be a list of tool names or patterns, e.g. ["files/*"]'
        )
    return KeyPolicy(
        hash=digest,
        tools=tools,
        name=str(spec.get("name", "")),
        models=models,
        max_concurrent=spec.get("max_concurrent"),
        max_tokens=spec.get("max_tokens"),
        events=spec.get("events", EVENTS_OWN),
        team=spec.get("team"),
        rpm=spec.get("rpm"),
        tpm=spec.get("tpm"),
        admin=bool(spec.get("admin", False)),
    )


def load_config(path: str | Path) -> GatewayConfig:
    """Read a TOML gateway config; raises ConfigurationError when it is invalid."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"cannot read gateway config {str(path)!r}: {exc}") from exc
    return config_from_mapping(data)
