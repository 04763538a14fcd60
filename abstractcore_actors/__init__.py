"""abstractcore-actors: an actor-model concurrency runtime for LLM calls, on trio.

The public API is exactly what this module exports (a test checks it).
"""

from .kernel import AbstractCoreActorsError as AbstractCoreActorsError
from .kernel import ActorContext as ActorContext
from .kernel import ActorCrashed as ActorCrashed
from .kernel import ActorNotFound as ActorNotFound
from .kernel import ActorRef as ActorRef
from .kernel import AskTimeout as AskTimeout
from .kernel import Behaviour as Behaviour
from .kernel import CrashReport as CrashReport
from .kernel import KernelError as KernelError
from .kernel import MailboxClosed as MailboxClosed
from .kernel import NameTaken as NameTaken
from .kernel import Strategy as Strategy
from .kernel import Supervisor as Supervisor
from .kernel import SupervisorGaveUp as SupervisorGaveUp
from .kernel import UnhandledMessage as UnhandledMessage
from .kernel import ValidationError as ValidationError
from .runtime import Runtime as Runtime
from .runtime import open_runtime as open_runtime

__version__ = "0.1.0"
