"""The schema engine, one for tools and structured output: describe a type hint
as JSON schema (`describe`, `record_schema`), turn parsed JSON back into the
annotated value (`convert`, raising `Invalid` with every problem's path),
validate JSON against a schema, complete or partial (`Validator`), and check
that a schema is one the validator can keep (`schema_problem`).

Private, and free of the rest of the package: tools and structured output
(and the gateway's `response_format`) sit on it.
"""

from ._check import SchemaProblem as SchemaProblem
from ._check import schema_problem as schema_problem
from ._convert import Invalid as Invalid
from ._convert import convert as convert
from ._convert import expected as expected
from ._convert import unexpected as unexpected
from ._describe import JsonSchema as JsonSchema
from ._describe import describe as describe
from ._describe import json_default as json_default
from ._describe import object_schema as object_schema
from ._describe import record_schema as record_schema
from ._docstring import Docstring as Docstring
from ._docstring import parse_docstring as parse_docstring
from ._streaming import StreamingValidator as StreamingValidator
from ._types import NO_DEFAULT as NO_DEFAULT
from ._types import SUPPORTED as SUPPORTED
from ._types import Field as Field
from ._types import UnsupportedType as UnsupportedType
from ._types import is_record as is_record
from ._types import is_union as is_union
from ._types import record_fields as record_fields
from ._types import strip_annotated as strip_annotated
from ._validator import Problem as Problem
from ._validator import Validator as Validator
from ._validator import format_problems as format_problems
from ._validator import json_type as json_type
from ._validator import resolve_pointer as resolve_pointer
