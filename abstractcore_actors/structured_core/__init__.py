"""The core of structured output, for the layers that sit below `patterns`.

Response models and their JSON schemas, the provider modes, partial JSON
parsing, the result and error types, one-call-at-a-time generation with
feedback, streaming with progressive validation, and `judge`. It imports
nothing above `providers`, so `sessions` can build structured turns on it.
The public API is `abstractcore_actors.structured`, which adds the
concurrent mode (a race, from `patterns`) on top of this.
"""

from ._generate import check_attempts as check_attempts
from ._generate import generate_sequential as generate_sequential
from ._generate import judge as judge
from ._generate import llm_list as llm_list
from ._jsonschema import Problem as Problem
from ._modes import Mode as Mode
from ._modes import ModeChoice as ModeChoice
from ._modes import answer_text as answer_text
from ._modes import attempt_request as attempt_request
from ._modes import check_base as check_base
from ._modes import feedback as feedback
from ._modes import pick_mode as pick_mode
from ._partial import json_text as json_text
from ._result import StructuredAttempt as StructuredAttempt
from ._result import StructuredOutputError as StructuredOutputError
from ._result import StructuredResult as StructuredResult
from ._result import StructuredUsage as StructuredUsage
from ._schema import ResponseModel as ResponseModel
from ._schema import response_model as response_model
from ._schema_check import SchemaProblem as SchemaProblem
from ._schema_check import schema_problem as schema_problem
from ._stream import StructuredStream as StructuredStream
from ._stream import stream_structured as stream_structured
from ._view import Partial as Partial
