"""The actor kernel: supervised actors on trio, exchanging messages. No LLM knowledge.

A private package: its public face is `abstractcore_actors.kernel`; the
runtime's own layers import from here (which also holds what only they use).
See docs/kernel.md for the model, the supervision strategies and the
cancellation contract.
"""

from ._backoff import GiveUp as GiveUp
from ._backoff import Parked as Parked
from ._behaviour import ActorContext as ActorContext
from ._behaviour import Behaviour as Behaviour
from ._behaviour import BehaviourFactory as BehaviourFactory
from ._errors import AbstractCoreActorsError as AbstractCoreActorsError
from ._errors import ActorCrashed as ActorCrashed
from ._errors import ActorNotFound as ActorNotFound
from ._errors import ActorUnavailable as ActorUnavailable
from ._errors import AskTimeout as AskTimeout
from ._errors import ConsumerGone as ConsumerGone
from ._errors import KernelError as KernelError
from ._errors import MailboxClosed as MailboxClosed
from ._errors import NameTaken as NameTaken
from ._errors import SupervisorGaveUp as SupervisorGaveUp
from ._errors import UnhandledMessage as UnhandledMessage
from ._errors import ValidationError as ValidationError
from ._hibernation import DEFAULT_HIBERNATE_AFTER as DEFAULT_HIBERNATE_AFTER
from ._protocol import StreamSink as StreamSink
from ._ref import ActorRef as ActorRef
from ._restart_policy import CrashReport as CrashReport
from ._restart_policy import Strategy as Strategy
from ._supervisor import Supervisor as Supervisor
from ._system import ActorSystem as ActorSystem
from ._system import open_actor_system as open_actor_system
