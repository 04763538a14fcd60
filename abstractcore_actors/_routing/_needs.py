"""What a request needs of a deployment, and whether a deployment has it."""

from __future__ import annotations

import attrs

from .._wire.openai_chat import estimate_prompt_tokens
from ..types import Request
from ._deployment import Deployment

# Room for an answer when a request sets no max_tokens: a deployment whose
# window the prompt alone fills is no fit.
_DEFAULT_ANSWER_ROOM = 256


@attrs.frozen(kw_only=True)
class Needs:
    """Tools present, images present, and the tokens the call will hold."""

    tools: bool = False
    vision: bool = False
    tokens: int = 0

    @classmethod
    def of(cls, request: Request) -> Needs:
        room = request.max_tokens if request.max_tokens is not None else _DEFAULT_ANSWER_ROOM
        return cls(
            tools=bool(request.tools),
            # images in the messages, or the caller says so (route_vision=True)
            vision=bool(request.extra.get("route_vision"))
            or any(m.images for m in request.messages),
            tokens=estimate_prompt_tokens(request) + room,
        )

    def misfit(self, deployment: Deployment, declared: frozenset[str]) -> str | None:
        """Why `deployment` cannot take this request, or None when it can.
        A tag is required only once some deployment of the router `declared` it."""
        if self.tools and "tools" in declared and "tools" not in deployment.tags:
            return "the request has tools and this deployment is not tagged 'tools'"
        if self.vision and "vision" in declared and "vision" not in deployment.tags:
            return "the request has images and this deployment is not tagged 'vision'"
        window = deployment.window
        if window is not None and self.tokens > window:
            return f"about {self.tokens} tokens do not fit its {window}-token context window"
        return None
