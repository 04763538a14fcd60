"""Deployment health shared by the routers of several replicas.

A router keeps its own cooldowns (`DeploymentState`); with a board, it
also publishes each cooldown it starts and reads the others' before it
plans, so a deployment one replica found failing is left alone by all of
them for as long. Reads are cached for `REFRESH` seconds: a routing
decision does not wait on the board every call. A board that cannot be
reached answers nothing and takes nothing: routing goes on, on local
knowledge only.
"""

from __future__ import annotations

from typing import Protocol

REFRESH = 0.5  # seconds a router reuses what it read from the board


class HealthBoard(Protocol):
    async def cooling(self, router: str) -> dict[str, float]:
        """Deployment label -> until when (epoch seconds) it cools down."""
        ...

    async def cool(self, router: str, deployment: str, until: float) -> None: ...

    async def clear(self, router: str, deployment: str) -> None: ...
