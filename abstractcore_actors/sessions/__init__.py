"""Sessions (layer 5): a conversation as an actor — history, the tool loop,
and intervention (inject, revise, cancel, new tools) while a turn streams."""

from ._actor import SessionActor as SessionActor
from ._actor import SessionCore as SessionCore
from ._handle import Session as Session
from ._handle import TurnStream as TurnStream
from ._state import Entry as Entry
from ._state import SessionState as SessionState
from ._turn import TurnContext as TurnContext

__all__ = [
    "Entry",
    "Session",
    "SessionActor",
    "SessionCore",
    "SessionState",
    "TurnContext",
    "TurnStream",
]
