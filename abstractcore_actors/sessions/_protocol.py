"""The session actor's messages: one frozen class per request, dispatched with `match`.

- `RunTurn` (stream)  → Chunk, Chunk, …, then one `TurnEnded`
- `Inject` (ask)      → None, once the context is queued for the turn
- `CancelTurn` (ask)  → whether a turn was running
- `Revise` (ask)      → whether a running turn was revised
- `Clear`, `Restore`, `SetSystemPrompt` (ask) → None
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .._structured import StructuredResult
from ..types import GenerateResponse, Message
from ._state import SessionState
from ._structured_turn import StructuredTurn


@attrs.frozen(kw_only=True)
class RunTurn:
    """Add `messages` (the user's turn) and answer, running tools as the model asks."""

    turn_id: str
    messages: tuple[Message, ...]
    options: Mapping[str, Any] = attrs.field(factory=dict)
    timeout: float | None = None
    structured: StructuredTurn | None = None  # the final answer must fit a response model


@attrs.frozen(kw_only=True)
class TurnEnded:
    """The last item of a turn's stream: the whole turn's answer (and, for a
    structured turn, its validated result)."""

    response: GenerateResponse
    structured: StructuredResult[Any] | None = None


@attrs.frozen(kw_only=True)
class Inject:
    """Context for the running turn (at its next safe point) or else the next one."""

    messages: tuple[Message, ...]


@attrs.frozen(kw_only=True)
class CancelTurn:
    """End the running turn now, keeping its partial answer (marked cancelled)."""


@attrs.frozen(kw_only=True)
class Revise:
    """Replace the running turn's prompt and restart it, as one operation."""

    messages: tuple[Message, ...]


@attrs.frozen(kw_only=True)
class Clear:
    """Forget the history (and queued context); cancels a running turn first."""


@attrs.frozen(kw_only=True)
class Restore:
    """Replace the whole state (from `Session.load`); cancels a running turn first."""

    state: SessionState


@attrs.frozen(kw_only=True)
class SetSystemPrompt:
    """Use `prompt` as the system prompt from the next model call on."""

    prompt: str | None
