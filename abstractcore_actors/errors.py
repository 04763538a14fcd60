"""The package's error tree (see each layer's module for its branch).

AbstractCoreActorsError
 ├── ValidationError            bad arguments: the message says how to fix them
 └── KernelError                the actor runtime (see kernel/_errors.py)
      ActorNotFound, NameTaken, MailboxClosed, ActorCrashed, AskTimeout,
      UnhandledMessage, SupervisorGaveUp
"""

from .kernel import AbstractCoreActorsError as AbstractCoreActorsError
from .kernel import ActorCrashed as ActorCrashed
from .kernel import ActorNotFound as ActorNotFound
from .kernel import AskTimeout as AskTimeout
from .kernel import KernelError as KernelError
from .kernel import MailboxClosed as MailboxClosed
from .kernel import NameTaken as NameTaken
from .kernel import SupervisorGaveUp as SupervisorGaveUp
from .kernel import UnhandledMessage as UnhandledMessage
from .kernel import ValidationError as ValidationError
