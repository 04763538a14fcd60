"""Routers: a named, LLM-like handle over several deployments (fallbacks,
load balancing, cost-aware choice). Private; its public face is
`abstractcore_actors.routing`. See docs/routing.md."""

from ._actor import RouterActor as RouterActor
from ._deployment import Deployment as Deployment
from ._health import HealthBoard as HealthBoard
from ._semantic import PrepareRoutes as PrepareRoutes
from ._semantic import SemanticRoutes as SemanticRoutes
from ._start import start_router as start_router
from ._strategy import RoutingStrategy as RoutingStrategy
