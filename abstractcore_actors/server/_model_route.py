"""A public model name's target, as the gateway's config names it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs


@attrs.frozen(kw_only=True)
class ModelRoute:
    """A public model name's target: `rt.create_llm(provider, model, **options)`."""

    provider: str
    model: str | None = None
    options: Mapping[str, Any] = attrs.field(factory=dict)

    def __repr__(self) -> str:  # options may hold an api_key: never show values
        return f"ModelRoute(provider={self.provider!r}, model={self.model!r})"
