"""A response model -> its JSON schema, and parsed JSON -> an instance of it.

Accepted response models:

    an attrs class or a dataclass   fields typed with str int float bool None Any,
                                    X | None, Literal[...], an Enum, list[T],
                                    tuple[T, ...], set[T], dict[str, T], and nested
                                    attrs classes / dataclasses
    a pydantic model                if pydantic is installed (imported lazily)
    a JSON schema dict              {"type": "object", "properties": ...}; the
                                    value is then the validated dict itself

Anything else raises ValidationError when the call is made, naming what to
use instead.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import enum
import re
import sys
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import attrs

from ..errors import ValidationError
from ._jsonschema import Problem, Validator
from ._schema_check import schema_problem

T = TypeVar("T")
JsonSchema = dict[str, Any]

_PRIMITIVES: dict[object, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
_ARRAYS: dict[object, type] = {
    list: list,
    tuple: tuple,
    set: set,
    frozenset: frozenset,
    collections.abc.Sequence: list,
    collections.abc.Set: frozenset,
}
_MAPPINGS = (dict, collections.abc.Mapping)
SUPPORTED = (
    "an attrs class or dataclass whose fields are str, int, float, bool, None, Any, "
    "X | None, Literal[...], an Enum, list[T], tuple[T, ...], set[T], dict[str, T] or "
    "another attrs class / dataclass; a pydantic model; or a JSON schema dict"
)


class Invalid(Exception):
    """Parsed JSON that does not fit the response model: (path, problem) pairs."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems)
        self.problems = problems


class _Unsupported(Exception):
    pass


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
    if _is_record(model):
        try:
            schema = _record_schema(model, ())
        except _Unsupported as exc:
            raise ValidationError(
                f"cannot use {model.__name__} as a response model: {exc}. Use {SUPPORTED}"
            ) from None
        return ResponseModel(
            name=_name(model.__name__),
            schema=schema,
            validator=Validator(schema),
            build=lambda value: _convert(model, value, ""),
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


# -- attrs classes and dataclasses ------------------------------------------


def _is_record(model: object) -> bool:
    return isinstance(model, type) and (attrs.has(model) or dataclasses.is_dataclass(model))


def _fields(cls: type) -> list[tuple[str, Any, bool]]:
    """(keyword name, resolved type, required?) of a record's constructor fields."""
    try:
        hints = typing.get_type_hints(cls)
    except Exception as exc:  # a forward reference that does not resolve
        raise _Unsupported(f"its type hints do not resolve ({exc})") from None
    if attrs.has(cls):
        return [
            (f.alias or f.name, hints.get(f.name, Any), f.default is attrs.NOTHING)
            for f in attrs.fields(cls)
            if f.init
        ]
    return [
        (
            f.name,
            hints.get(f.name, Any),
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
        )
        for f in dataclasses.fields(cls)
        if f.init
    ]


def _record_schema(cls: type, seen: tuple[type, ...]) -> JsonSchema:
    if cls in seen:
        raise _Unsupported(f"{cls.__name__} refers to itself (recursive models are not supported)")
    properties: JsonSchema = {}
    required: list[str] = []
    for name, hint, needed in _fields(cls):
        try:
            properties[name] = _schema_of(hint, (*seen, cls))
        except _Unsupported as exc:
            raise _Unsupported(f"field {cls.__name__}.{name}: {exc}") from None
        if needed:
            required.append(name)
    schema: JsonSchema = {
        "type": "object",
        "title": cls.__name__,
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    if cls.__doc__ and not cls.__doc__.startswith(f"{cls.__name__}("):  # dataclass default doc
        schema["description"] = cls.__doc__.strip()
    return schema


def _is_union(hint: object) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def _schema_of(hint: Any, seen: tuple[type, ...]) -> JsonSchema:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return {}
    if hint is None or hint is type(None):
        return {"type": "null"}
    if hint in _PRIMITIVES:
        return {"type": _PRIMITIVES[hint]}
    if _is_union(hint):
        schemas = [_schema_of(a, seen) for a in args]
        return schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
    if origin is typing.Literal or (isinstance(hint, type) and issubclass(hint, enum.Enum)):
        values = list(args) if origin is typing.Literal else [m.value for m in hint]
        kinds = {json_name for v in values if (json_name := _scalar(v))}
        if len(kinds) != 1 or None in kinds:
            raise _Unsupported(f"{hint} mixes value types or has non-JSON values")
        return {"type": kinds.pop(), "enum": values}
    if origin in _ARRAYS:
        item = args[0] if args and not (origin is tuple and args[-1] is not Ellipsis) else Any
        if origin is tuple and args and args[-1] is not Ellipsis:
            raise _Unsupported(f"{hint}: use tuple[T, ...] (fixed-length tuples are not supported)")
        return {"type": "array", "items": _schema_of(item, seen)}
    if origin in _MAPPINGS or hint in (dict, collections.abc.Mapping):
        if args and args[0] is not str:
            raise _Unsupported(f"{hint}: JSON object keys are strings, use dict[str, T]")
        value = args[1] if len(args) == 2 else Any
        return {"type": "object", "additionalProperties": _schema_of(value, seen)}
    if _is_record(hint):
        return _record_schema(hint, seen)
    raise _Unsupported(f"{hint!r} has no JSON schema")


def _scalar(value: object) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    return {str: "string", int: "integer", float: "number"}.get(type(value))


def _convert(hint: Any, value: Any, path: str) -> Any:
    """A value already checked against the schema -> the annotated Python type."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any or hint is None or hint is type(None):
        return value
    if hint is float and isinstance(value, int):
        return float(value)
    if hint is int and isinstance(value, float):
        return int(value)
    if hint in _PRIMITIVES or origin is typing.Literal:
        return value
    if _is_union(hint):
        for option in args:
            if not Validator(_schema_of(option, ())).problems(value):
                return _convert(option, value, path)
        raise Invalid([(path or "the answer", f"does not fit {hint}")])
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(value)
    if origin in _ARRAYS:
        item = args[0] if args else Any
        items = [_convert(item, v, f"{path}[{i}]") for i, v in enumerate(value)]
        return _ARRAYS[origin](items)
    if origin in _MAPPINGS or hint in (dict, collections.abc.Mapping):
        inner = args[1] if len(args) == 2 else Any
        return {k: _convert(inner, v, f"{path}.{k}") for k, v in value.items()}
    if _is_record(hint):
        kwargs = {
            name: _convert(field_hint, value[name], f"{path}.{name}" if path else name)
            for name, field_hint, _ in _fields(hint)
            if name in value
        }
        try:
            return hint(**kwargs)
        except (TypeError, ValueError) as exc:  # the class's own validators said no
            raise Invalid([(path or "the answer", str(exc))]) from None
    return value
