"""Routing, prices and what calls cost: `Deployment` and `RoutingStrategy` for
`rt.router(...)`, `Price` and `PriceBook` for `open_runtime(prices=...)`,
and `Cost` / `RouteAttempt`, what answers carry. See docs/routing.md.
"""

from ._pricing import ModelFacts as ModelFacts
from ._pricing import Price as Price
from ._pricing import PriceBook as PriceBook
from ._pricing import PriceTier as PriceTier
from ._routing import Deployment as Deployment
from ._routing import RoutingStrategy as RoutingStrategy
from .types import Cost as Cost
from .types import RouteAttempt as RouteAttempt

__all__ = [
    "Cost",
    "Deployment",
    "ModelFacts",
    "Price",
    "PriceBook",
    "PriceTier",
    "RouteAttempt",
    "RoutingStrategy",
]
