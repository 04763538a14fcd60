"""Structured output: answers that fit a response model (attrs class, dataclass,
pydantic model or JSON schema), validated, retried with feedback, streamed
with progressive validation, or raced. See docs/structured.md.
"""

from ._generate import generate_structured as generate_structured
from ._result import StructuredAttempt as StructuredAttempt
from ._result import StructuredOutputError as StructuredOutputError
from ._result import StructuredResult as StructuredResult
from ._result import StructuredUsage as StructuredUsage
from ._schema import ResponseModel as ResponseModel
from ._schema import response_model as response_model
from ._stream import StructuredStream as StructuredStream
from ._stream import stream_structured as stream_structured
from ._view import Partial as Partial

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
