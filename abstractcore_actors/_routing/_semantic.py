"""Semantic routing: a router whose deployments are routes, chosen by what
the request means.

Each route is a deployment with example utterances (`Deployment.examples`).
The examples are embedded once, the first time the router is used (or when
the gateway starts), and kept; a request is embedded (its last user message)
and goes to the route it is most like — by cosine similarity to the mean of
the route's example vectors ("centroid", the default: 0.99 accuracy on the
labelled set against 0.96 for "max", the nearest example) — if that
similarity reaches the threshold, else to the default route. The
default route is also the fallback when the chosen one fails. Every choice
is a `RouteChosen` event carrying each route's score.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs
import trio

from ..errors import ConfigurationError, ValidationError
from ..types import Request
from ._deployment import Deployment, DeploymentState
from ._strategy import Choice, Plan

if TYPE_CHECKING:
    from .._providers import LLM

Scores = tuple[tuple[str, float], ...]  # (route label, best cosine), best first


@attrs.frozen
class PrepareRoutes:
    """Ask a semantic router to embed its examples now (the gateway does at
    start-up, so a missing embedding model stops it there, not at a request)."""


def _numpy() -> Any:
    try:
        import numpy
    except ImportError:  # pragma: no cover - numpy comes with the `local` extra
        raise ConfigurationError(
            "semantic routing needs numpy: pip install 'abstractcore-actors[local]'"
        ) from None
    return numpy


def _unit(np: Any, matrix: Any) -> Any:
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)


def request_text(request: Request) -> str:
    """What a request is about: its last user message (else its last message)."""
    for message in reversed(request.messages):
        if message.role == "user" and message.content:
            return message.content
    return request.messages[-1].content if request.messages else ""


@attrs.define(eq=False)
class SemanticRoutes:
    """The routes' example vectors and how to choose among them. Made by
    `rt.router(..., strategy="semantic")`; it outlives the router actor's
    restarts, so the examples are embedded once."""

    embedder: LLM
    labels: tuple[str, ...]
    examples: tuple[tuple[str, ...], ...]  # per route
    threshold: float
    default: str
    aggregate: str = "centroid"  # or "max": the nearest example's similarity
    _matrix: Any = None  # unit vectors, row-wise: one per route (centroid) or example (max)
    _owner: Any = None  # route index of each row
    _lock: trio.Lock = attrs.field(factory=trio.Lock)

    @classmethod
    def build(
        cls,
        deployments: Sequence[Deployment],
        embedder: LLM | None,
        threshold: float,
        default: str | None,
        aggregate: str = "centroid",
    ) -> SemanticRoutes:
        """Check the routes (raises ValidationError saying what to fix)."""
        if aggregate not in ("centroid", "max"):
            raise ValidationError(f"aggregate must be 'centroid' or 'max' (got {aggregate!r})")
        if embedder is None:
            raise ValidationError(
                'a semantic router needs embedder=: an LLM that embeds, e.g. rt.create_llm("local")'
            )
        if not (isinstance(threshold, int | float) and -1 <= threshold <= 1):
            raise ValidationError(
                f"threshold must be a cosine similarity, -1 to 1 (got {threshold!r})"
            )
        labels = tuple(d.label for d in deployments)
        if default is None:
            default = labels[0]
        if default not in labels:
            raise ValidationError(
                f"default={default!r} is not one of the routes ({', '.join(labels)})"
            )
        for d in deployments:
            if not d.examples and d.label != default:
                raise ValidationError(
                    f"route {d.label!r} has no examples: give it examples=[...] of requests "
                    "it should take (only the default route may have none)"
                )
        return cls(
            embedder=embedder,
            labels=labels,
            examples=tuple(d.examples for d in deployments),
            threshold=float(threshold),
            default=default,
            aggregate=aggregate,
        )

    async def ready(self) -> None:
        """Embed the examples, once (concurrent first calls wait for the one)."""
        async with self._lock:
            if self._matrix is not None:
                return
            np = _numpy()
            texts = [text for route in self.examples for text in route]
            owner = [i for i, route in enumerate(self.examples) for _ in route]
            vectors: list[tuple[float, ...]] = []
            for start in range(0, len(texts), 256):
                answer = await self.embedder.embed(texts[start : start + 256])
                vectors.extend(answer.vectors)
            matrix = _unit(np, np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1))
            owners = np.asarray(owner, dtype=np.intp)
            if self.aggregate == "centroid" and len(texts):
                routes = sorted(set(owner))
                matrix = _unit(np, np.stack([matrix[owners == i].mean(axis=0) for i in routes]))
                owners = np.asarray(routes, dtype=np.intp)
            self._matrix, self._owner = matrix, owners

    async def scores(self, text: str) -> Scores:
        """Each route's best cosine similarity to `text`, best first."""
        await self.ready()
        np = _numpy()
        if not text.strip() or self._matrix.shape[0] == 0:
            return ()
        answer = await self.embedder.embed(text)
        vector = np.asarray(answer.vectors[0], dtype=np.float32)
        vector /= max(float(np.linalg.norm(vector)), 1e-12)
        similarity = self._matrix @ vector
        best = np.full(len(self.labels), -np.inf, dtype=np.float32)
        np.maximum.at(best, self._owner, similarity)
        found = [(self.labels[i], float(best[i])) for i in range(len(self.labels)) if best[i] > -2]
        return tuple(sorted(found, key=lambda pair: -pair[1]))

    def plan(self, states: Sequence[DeploymentState], scores: Scores) -> Plan:
        """The chosen route, then the default as its fallback."""
        by_label = {s.label: s for s in states}
        default = by_label[self.default]
        if scores and scores[0][1] >= self.threshold:
            label, score = scores[0]
            chosen = Choice(
                by_label[label], f"semantic: {score:.3f} >= threshold {self.threshold:g}"
            )
        else:
            best = f"best {scores[0][0]} {scores[0][1]:.3f}" if scores else "nothing to compare"
            chosen = Choice(default, f"semantic: default ({best} < threshold {self.threshold:g})")
        order = [chosen]
        if chosen.state is not default:
            order.append(Choice(default, "semantic: the default route, as fallback"))
        return Plan(order=tuple(order), skipped=())
