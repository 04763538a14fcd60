"""A response model -> its JSON schema, and parsed JSON -> an instance of it.

Accepted response models:

    an attrs class or a dataclass   described and built by the schema engine
                                    (`_schema`: the same as tool arguments):
                                    str int float bool None Any, X | None,
                                    Literal[...], an Enum, list[T], tuple[T, ...],
                                    set[T], dict[str, T], nested records, and
                                    Annotated[T, "description"]
    a pydantic model                if pydantic is installed (imported lazily)
    a JSON schema dict              {"type": "object", "properties": ...}; the
                                    value is then the validated dict itself

Anything else raises ValidationError when the call is made, naming what to
use instead.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import attrs

from .._schema import (
    SUPPORTED as _FIELD_TYPES,
)
from .._schema import (
    Invalid,
    Problem,
    UnsupportedType,
    Validator,
    convert,
    is_record,
    record_schema,
    schema_problem,
)
from ..errors import ValidationError

T = TypeVar("T")
JsonSchema = dict[str, Any]

SUPPORTED = (
    f"an attrs class or dataclass whose fields are {_FIELD_TYPES}; a pydantic model; "
    "or a JSON schema dict"
)


@attrs.frozen(kw_only=True, eq=False)
class ResponseModel(Generic[T]):
    """What the model must produce: a name, a JSON schema, and how to build a T."""

    name: str
    schema: JsonSchema
    validator: Validator
    build: Callable[[Any], T]

    def problems(self, value: object, *, complete: bool = True) -> list[Problem]:
        """What is wrong with `value` by the schema (a partial one: `complete=False`)."""
        return self.validator.problems(value, complete=complete)

    def parse(self, value: object) -> T:
        """The instance for a parsed JSON value; raises Invalid."""
        problems = self.problems(value)
        if problems:
            raise Invalid(problems)
        return self.build(value)


def response_model(model: Any) -> ResponseModel[Any]:
    """Describe `model` (see the module docstring); raises ValidationError."""
    if isinstance(model, ResponseModel):
        return model
    if isinstance(model, Mapping):
        return _from_dict_schema(model)
    if isinstance(model, type) and _is_pydantic(model):
        return _from_pydantic(model)
    if is_record(model):
        try:
            # no `default`s: OpenAI's strict structured outputs refuse the keyword
            schema = {"title": model.__name__, **record_schema(model, defaults=False)}
        except UnsupportedType as exc:
            raise ValidationError(
                f"cannot use {model.__name__} as a response model: {exc}. Use {SUPPORTED}"
            ) from None
        return ResponseModel(
            name=_name(model.__name__),
            schema=schema,
            validator=Validator(schema),
            build=lambda value: convert(model, value),
        )
    raise ValidationError(f"cannot use {model!r} as a response model. Use {SUPPORTED}")


def _name(text: str) -> str:
    # OpenAI and Anthropic both take ^[a-zA-Z0-9_-]{1,64}$ for schema / tool names.
    return re.sub(r"[^a-zA-Z0-9_-]", "_", text)[:64] or "answer"


def _from_dict_schema(schema: Mapping[str, Any]) -> ResponseModel[Any]:
    if schema.get("type") != "object" and "properties" not in schema:
        raise ValidationError(
            'a JSON schema response model must describe an object: {"type": "object", '
            '"properties": {...}} (wrap a single value in a property)'
        )
    problem = schema_problem(schema)
    if problem is not None:
        path, what = problem
        raise ValidationError(f"the JSON schema is malformed: {path} {what}")
    copied = dict(schema)
    return ResponseModel(
        name=_name(str(copied.get("title") or "answer")),
        schema=copied,
        validator=Validator(copied),
        build=lambda value: value,
    )


def _is_pydantic(model: type) -> bool:
    pydantic = sys.modules.get("pydantic")  # pydantic stays optional: never import it here
    return pydantic is not None and issubclass(model, pydantic.BaseModel)


def _from_pydantic(model: Any) -> ResponseModel[Any]:
    import pydantic

    try:
        schema = model.model_json_schema()
    except pydantic.PydanticUserError as exc:  # e.g. a field of an arbitrary class
        raise ValidationError(
            f"cannot make a JSON schema of {model.__name__}: {exc}. Use {SUPPORTED}"
        ) from None

    def build(value: Any) -> Any:
        try:
            return model.model_validate(value)
        except pydantic.ValidationError as exc:
            raise Invalid(
                [(".".join(map(str, e["loc"])) or "the answer", e["msg"]) for e in exc.errors()]
            ) from None

    return ResponseModel(
        name=_name(model.__name__), schema=schema, validator=Validator(schema), build=build
    )
