"""`start_router`: check a router's deployments and start its actor (what
`rt.router(...)` does), returning the `LLM` handle that goes wherever an
LLM goes."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .._kernel import ActorSystem, GiveUp
from .._pricing import PriceBook
from .._providers import LLM, ProviderConfig
from ..errors import ValidationError
from ..events import EventBus
from ._actor import RouterActor
from ._deployment import Deployment
from ._health import HealthBoard
from ._semantic import SemanticRoutes
from ._strategy import RoutingStrategy


def start_router(
    actors: ActorSystem,
    events: EventBus,
    prices: PriceBook,
    name: str,
    deployments: Sequence[Deployment | LLM],
    *,
    strategy: RoutingStrategy | str,
    min_tier: int,
    seed: int | None,
    health: HealthBoard | None,
    embedder: LLM | Callable[[], LLM],
    threshold: float,
    default: str | None,
    aggregate: str,
) -> LLM:
    """`embedder`: an LLM, or how to make the default one (only a semantic
    router needs one, so only it makes one)."""
    chosen = RoutingStrategy.parse(strategy)
    items = [d if isinstance(d, Deployment) else Deployment(llm=d) for d in deployments]
    if not items:
        raise ValidationError(f"router {name!r} needs at least one deployment")
    labels = [d.label for d in items]
    doubled = sorted({label for label in labels if labels.count(label) > 1})
    if doubled:
        raise ValidationError(
            f"router {name!r} lists {', '.join(doubled)} twice; give each a distinct name="
        )
    semantic = None
    if chosen is RoutingStrategy.SEMANTIC:
        vectors = embedder if isinstance(embedder, LLM) else embedder()
        semantic = SemanticRoutes.build(items, vectors, threshold, default, aggregate)
    elif any(d.examples for d in items):
        raise ValidationError(
            f"router {name!r}: examples= are for strategy='semantic' (this one is "
            f"{chosen.value!r}); drop them or choose the semantic strategy"
        )
    ref = actors.root.spawn_nowait(
        lambda: RouterActor(
            name,
            items,
            chosen,
            events,
            min_tier=min_tier,
            seed=seed,
            health=health,
            semantic=semantic,
        ),
        name=f"router:{name}",
        concurrency=None,
        mailbox_size=256,
        give_up=GiveUp.BACK_OFF,
    )
    return LLM(ref, ProviderConfig(provider="router", model=name), prices)
