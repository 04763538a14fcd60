"""Structured output: answers that fit a response model (attrs class, dataclass,
pydantic model or JSON schema), validated, retried with feedback, streamed
with progressive validation, or raced. See docs/structured.md.

The public face of the private package `_structured`.
"""

from ._structured import Partial as Partial
from ._structured import ResponseModel as ResponseModel
from ._structured import StructuredAttempt as StructuredAttempt
from ._structured import StructuredOutputError as StructuredOutputError
from ._structured import StructuredResult as StructuredResult
from ._structured import StructuredStream as StructuredStream
from ._structured import StructuredUsage as StructuredUsage
from ._structured import generate_structured as generate_structured
from ._structured import response_model as response_model
from ._structured import stream_structured as stream_structured

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
