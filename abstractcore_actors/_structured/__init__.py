"""Structured output, all of it: response models and their JSON schemas, the
provider modes, partial JSON parsing, results and errors, generation with
feedback (one call at a time, or raced: `_race.py`), streaming with
progressive validation, the sync stream, and `judge`.

A private package: its public face is `abstractcore_actors.structured`; the
layers above it (sessions, the gateway, the sync facade) import what they
need from here. It sits above `patterns` and below `tools` and `sessions`.
"""

from .._schema import Problem as Problem
from .._schema import SchemaProblem as SchemaProblem
from .._schema import schema_problem as schema_problem
from ._generate import generate_structured as generate_structured
from ._modes import Mode as Mode
from ._modes import ModeChoice as ModeChoice
from ._modes import answer_text as answer_text
from ._modes import attempt_request as attempt_request
from ._modes import check_base as check_base
from ._modes import feedback as feedback
from ._modes import pick_mode as pick_mode
from ._partial import json_text as json_text
from ._response_model import ResponseModel as ResponseModel
from ._response_model import response_model as response_model
from ._result import StructuredAttempt as StructuredAttempt
from ._result import StructuredOutputError as StructuredOutputError
from ._result import StructuredResult as StructuredResult
from ._result import StructuredUsage as StructuredUsage
from ._sequential import check_attempts as check_attempts
from ._sequential import generate_sequential as generate_sequential
from ._sequential import judge as judge
from ._sequential import llm_list as llm_list
from ._stream import StructuredStream as StructuredStream
from ._stream import stream_structured as stream_structured
from ._sync_stream import PartialsThenResult as PartialsThenResult
from ._sync_stream import SyncStructuredStream as SyncStructuredStream
from ._view import Partial as Partial
