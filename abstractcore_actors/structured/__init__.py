"""Structured output: answers that fit a response model (attrs class, dataclass,
pydantic model or JSON schema), validated, retried with feedback, streamed
with progressive validation, or raced. See docs/structured.md.

The core lives in `abstractcore_actors.structured_core` (below sessions);
this package adds the concurrent mode, a race from `patterns`, on top.
"""

from ..structured_core import Partial as Partial
from ..structured_core import ResponseModel as ResponseModel
from ..structured_core import StructuredAttempt as StructuredAttempt
from ..structured_core import StructuredOutputError as StructuredOutputError
from ..structured_core import StructuredResult as StructuredResult
from ..structured_core import StructuredStream as StructuredStream
from ..structured_core import StructuredUsage as StructuredUsage
from ..structured_core import response_model as response_model
from ..structured_core import stream_structured as stream_structured
from ._generate import generate_structured as generate_structured

__all__ = [
    "Partial",
    "ResponseModel",
    "StructuredAttempt",
    "StructuredOutputError",
    "StructuredResult",
    "StructuredStream",
    "StructuredUsage",
    "generate_structured",
    "response_model",
    "stream_structured",
]
