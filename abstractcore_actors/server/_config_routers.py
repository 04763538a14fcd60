"""`[routers.NAME]` of the gateway's TOML: a router over deployments.

    [routers.main]
    strategy = "fallback"        # weighted | least_busy | lowest_latency | cheapest
    min_tier = 0                 # cheapest: never below this tier

    [[routers.main.deployments]]
    use = "fast"                 # a configured [models.fast] ...
    weight = 2

    [[routers.main.deployments]]
    provider = "anthropic"       # ... or a provider, model and options of its own
    model = "claude-sonnet-4-5"
    options = { max_retries = 1 }
    tags = ["tools", "long-context"]
    tier = 2
    context_window = 200000
    name = "claude"
    price = { input = 3, output = 15 }   # over genai-prices' figure for its model

A semantic router chooses by meaning (docs/routing.md, "Semantic routes"):

    [routers.support]
    strategy = "semantic"
    threshold = 0.25             # cosine similarity a route must reach (the default)
    default = "general"          # the route below the threshold (and the fallback)
    embedding_model = "embed"    # a configured model; default: the local one

    [[routers.support.routes]]
    target = "coder"             # a configured model or another router
    examples = ["fix my python loop", "why does this bash script fail"]

    [[routers.support.routes]]
    target = "general"

A router is a public name like a model: listed in /v1/models, allowed per
key, usable inside virtual models (`race:main,other`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .._pricing import Price
from .._routing import RoutingStrategy
from ..errors import ConfigurationError, ValidationError
from ._config_fields import refuse_unknown
from ._model_route import ModelRoute

_ROUTER_FIELDS = ("strategy", "min_tier", "deployments")
_SEMANTIC_FIELDS = ("strategy", "routes", "threshold", "default", "embedding_model")
_ROUTE_FIELDS = ("target", "examples", "name")
_DEPLOYMENT_FIELDS = (
    "use",
    "provider",
    "model",
    "options",
    "name",
    "weight",
    "tags",
    "tier",
    "context_window",
    "price",
)


@attrs.frozen(kw_only=True)
class DeploymentSpec:
    """One deployment: the model route it calls, and what the router should know."""

    route: ModelRoute
    use: str | None = None  # the configured model it names, if any
    name: str = ""
    weight: float = 1.0
    tags: tuple[str, ...] = ()
    tier: int = 0
    context_window: int | None = None
    price: Mapping[str, Any] | None = None  # USD per 1M tokens, for this deployment's model
    examples: tuple[str, ...] = ()  # a semantic route's


@attrs.frozen(kw_only=True)
class RouterSpec:
    strategy: str = "fallback"
    min_tier: int = 0
    deployments: tuple[DeploymentSpec, ...] = ()
    # a semantic router's
    threshold: float = 0.25
    default: str | None = None
    embedding_model: str | None = None  # a configured model; None: the local one


def parse_routers(raw: object, models: Mapping[str, ModelRoute]) -> dict[str, RouterSpec]:
    """Every `[routers.NAME]`; raises ConfigurationError naming the first problem."""
    if not isinstance(raw, Mapping):
        raise ConfigurationError("[routers] must be a table of [routers.NAME] tables")
    names = {str(name) for name in raw}
    parsed = {
        str(name): _semantic(str(name), spec, models, names)
        if isinstance(spec, Mapping) and spec.get("strategy") == "semantic"
        else _router(str(name), spec, models)
        for name, spec in raw.items()
    }
    _refuse_circles(parsed)
    return parsed


def _refuse_circles(routers: Mapping[str, RouterSpec]) -> None:
    """A semantic route may target another router, but never back to itself."""

    def visit(name: str, path: tuple[str, ...]) -> None:
        if routers[name].strategy != "semantic":
            return  # other routers' deployments name configured models only
        for d in routers[name].deployments:
            target = d.use
            if target is not None and target in routers:
                if target in path:
                    circle = " -> ".join((*path, target))
                    raise ConfigurationError(f"[routers]: routes go round in a circle: {circle}")
                visit(target, (*path, target))

    for name in routers:
        visit(name, (name,))


def _semantic(
    name: str, spec: Mapping[str, Any], models: Mapping[str, ModelRoute], routers: set[str]
) -> RouterSpec:
    where = f"[routers.{name}]"
    refuse_unknown(
        where,
        spec,
        _SEMANTIC_FIELDS,
        "a semantic router takes [[routes]], threshold, default and embedding_model "
        "(deployments are for the other strategies)",
    )
    routes = spec.get("routes")
    if not isinstance(routes, list) or not routes:
        raise ConfigurationError(
            f"{where} needs [[routers.{name}.routes]] entries, each a target and its examples"
        )
    found = []
    for i, route in enumerate(routes):
        at = f"{where} route {i}"
        if not isinstance(route, Mapping):
            raise ConfigurationError(f"{at} must be a table with target and examples")
        refuse_unknown(at, route, _ROUTE_FIELDS)
        target = route.get("target")
        if target == name or target not in (*models, *routers):
            listed = ", ".join(sorted({*models, *routers} - {name})) or "none"
            raise ConfigurationError(
                f"{at}: target = {target!r} is not a configured model or another router "
                f"(configured: {listed})"
            )
        examples = route.get("examples", [])
        if not isinstance(examples, list) or not all(
            isinstance(e, str) and e.strip() for e in examples
        ):
            raise ConfigurationError(f"{at}: examples must be a list of non-empty strings")
        model = models.get(target) or ModelRoute(provider="router", model=target)
        found.append(
            DeploymentSpec(
                route=model,
                use=target,
                name=str(route.get("name", target)),
                examples=tuple(examples),
            )
        )
    labels = [d.name for d in found]
    doubled = sorted({label for label in labels if labels.count(label) > 1})
    if doubled:
        raise ConfigurationError(f"{where} lists {', '.join(doubled)} twice; name each route")
    default = spec.get("default", labels[0])
    if default not in labels:
        raise ConfigurationError(
            f"{where}: default = {default!r} is not one of its routes ({', '.join(labels)})"
        )
    for d in found:
        if not d.examples and d.name != default:
            raise ConfigurationError(
                f"{where}: route {d.name!r} needs examples (only the default may have none)"
            )
    threshold = spec.get("threshold", 0.25)
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not -1 <= threshold <= 1
    ):
        raise ConfigurationError(f"{where}: threshold must be a cosine similarity from -1 to 1")
    embedding = spec.get("embedding_model")
    if embedding is not None and embedding not in models:
        raise ConfigurationError(
            f"{where}: embedding_model = {embedding!r} is not a configured model"
        )
    return RouterSpec(
        strategy="semantic",
        deployments=tuple(found),
        threshold=float(threshold),
        default=str(default),
        embedding_model=embedding,
    )


def _router(name: str, spec: object, models: Mapping[str, ModelRoute]) -> RouterSpec:
    where = f"[routers.{name}]"
    if not isinstance(spec, Mapping):
        raise ConfigurationError(f"{where} must be a table with strategy and [[deployments]]")
    refuse_unknown(where, spec, _ROUTER_FIELDS)
    strategy = str(spec.get("strategy", "fallback"))
    try:
        RoutingStrategy.parse(strategy)
    except ValidationError as exc:
        raise ConfigurationError(f"{where}: {exc}") from None
    min_tier = spec.get("min_tier", 0)
    if isinstance(min_tier, bool) or not isinstance(min_tier, int):
        raise ConfigurationError(f"{where}: min_tier must be a whole number")
    deployments = spec.get("deployments")
    if not isinstance(deployments, list) or not deployments:
        raise ConfigurationError(f"{where} needs at least one [[routers.{name}.deployments]] entry")
    found = tuple(
        _deployment(f"{where} deployment {i}", d, models) for i, d in enumerate(deployments)
    )
    labels = [d.name or d.use or f"{d.route.provider}/{d.route.model}" for d in found]
    doubled = sorted({label for label in labels if labels.count(label) > 1})
    if doubled:
        raise ConfigurationError(
            f"{where} lists {', '.join(doubled)} twice; give each deployment a distinct name"
        )
    return RouterSpec(strategy=strategy, min_tier=min_tier, deployments=found)


def _deployment(where: str, spec: object, models: Mapping[str, ModelRoute]) -> DeploymentSpec:
    if not isinstance(spec, Mapping):
        raise ConfigurationError(f"{where} must be a table")
    refuse_unknown(where, spec, _DEPLOYMENT_FIELDS)
    use = spec.get("use")
    if use is not None:
        if set(spec) & {"provider", "model", "options"}:
            raise ConfigurationError(
                f"{where}: use = {use!r} names a configured model; drop provider/model/options"
            )
        if use not in models:
            listed = ", ".join(sorted(models)) or "none"
            raise ConfigurationError(
                f"{where}: use = {use!r} is not a configured model (configured: {listed})"
            )
        route = models[use]
    else:
        provider = spec.get("provider")
        if not isinstance(provider, str) or not provider:
            raise ConfigurationError(
                f'{where} needs use = "<a configured model>" or provider = "..."'
            )
        options = spec.get("options", {})
        if not isinstance(options, Mapping):
            raise ConfigurationError(f"{where}: options must be a table, e.g. options = {{ ... }}")
        route = ModelRoute(provider=provider, model=spec.get("model"), options=dict(options))
    weight = spec.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not weight > 0:
        raise ConfigurationError(f"{where}: weight must be a number > 0")
    tags = spec.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
        raise ConfigurationError(f'{where}: tags must be a list of strings, e.g. ["tools"]')
    tier = spec.get("tier", 0)
    window = spec.get("context_window")
    if isinstance(tier, bool) or not isinstance(tier, int):
        raise ConfigurationError(f"{where}: tier must be a whole number")
    if window is not None and (
        isinstance(window, bool) or not isinstance(window, int) or window < 1
    ):
        raise ConfigurationError(f"{where}: context_window must be a whole number of tokens")
    price = spec.get("price")
    if price is not None:
        try:
            Price.parse(price, f"{where}: price")
        except ValidationError as exc:
            raise ConfigurationError(str(exc)) from None
    return DeploymentSpec(
        price=price,
        route=route,
        use=use,
        name=str(spec.get("name", "")),
        weight=float(weight),
        tags=tuple(tags),
        tier=tier,
        context_window=window,
    )
