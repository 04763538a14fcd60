"""The actor kernel, for actor authors: supervised actors on trio exchanging
messages (`Behaviour`, `ActorContext`, `ActorRef`, `Supervisor`, strategies,
back-off, `open_actor_system`), like `trio.lowlevel` is for trio. It knows
nothing of LLMs. See docs/kernel.md.
"""

from ._kernel import AbstractCoreActorsError as AbstractCoreActorsError
from ._kernel import ActorContext as ActorContext
from ._kernel import ActorCrashed as ActorCrashed
from ._kernel import ActorNotFound as ActorNotFound
from ._kernel import ActorRef as ActorRef
from ._kernel import ActorSystem as ActorSystem
from ._kernel import ActorUnavailable as ActorUnavailable
from ._kernel import AskTimeout as AskTimeout
from ._kernel import Behaviour as Behaviour
from ._kernel import ConsumerGone as ConsumerGone
from ._kernel import CrashReport as CrashReport
from ._kernel import GiveUp as GiveUp
from ._kernel import KernelError as KernelError
from ._kernel import MailboxClosed as MailboxClosed
from ._kernel import NameTaken as NameTaken
from ._kernel import Parked as Parked
from ._kernel import Strategy as Strategy
from ._kernel import StreamSink as StreamSink
from ._kernel import Supervisor as Supervisor
from ._kernel import SupervisorGaveUp as SupervisorGaveUp
from ._kernel import UnhandledMessage as UnhandledMessage
from ._kernel import ValidationError as ValidationError
from ._kernel import open_actor_system as open_actor_system

__all__ = [
    "AbstractCoreActorsError",
    "ActorContext",
    "ActorCrashed",
    "ActorNotFound",
    "ActorRef",
    "ActorSystem",
    "ActorUnavailable",
    "AskTimeout",
    "Behaviour",
    "ConsumerGone",
    "CrashReport",
    "GiveUp",
    "KernelError",
    "MailboxClosed",
    "NameTaken",
    "Parked",
    "Strategy",
    "StreamSink",
    "Supervisor",
    "SupervisorGaveUp",
    "UnhandledMessage",
    "ValidationError",
    "open_actor_system",
]
