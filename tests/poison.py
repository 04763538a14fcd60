"""Fault injection: a bug outside a provider call's containment.

`ProviderActor.receive` raises (crashing the real actor) for a non-streamed
call whose prompt says POISON; every other call runs as usual. Used to drive
a provider actor past its restart intensity, so it is parked.
"""

from __future__ import annotations

from typing import Any

import pytest

from abstractcore_actors._providers import ProviderActor
from abstractcore_actors._providers._calls import GenerateCall

POISON = "POISON"
ROOT_INTENSITY = 10  # open_runtime's root supervisor: 10 crashes within 60 s


def poison_provider_actors(monkeypatch: pytest.MonkeyPatch) -> None:
    original = ProviderActor.receive

    async def receive(self: ProviderActor, message: object, ctx: Any) -> Any:
        if isinstance(message, GenerateCall) and any(
            POISON in m.content for m in message.request.messages
        ):
            raise RuntimeError("a bug outside the call's containment")
        return await original(self, message, ctx)

    monkeypatch.setattr(ProviderActor, "receive", receive)
