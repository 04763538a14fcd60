"""Type annotations -> the JSON schema OpenAI and Anthropic take for tool arguments.

Supported argument types (anything else is refused when the tool is
defined, naming the parameter, so a bad signature never reaches a model):

    str int float bool None Any
    X | None, Optional[X], X | Y          nullable / anyOf
    Literal["a", "b"], enum.Enum          enum
    list[T] tuple[T, ...] Sequence[T] set[T] frozenset[T]   array
    dict[str, T] Mapping[str, T]           object of T
    attrs classes                          nested object (recursively)
    Annotated[T, "description"]            T, described

A parameter with a default is not required; every object schema has
`additionalProperties: false` so the model is told not to invent names.
"""

from __future__ import annotations

import collections.abc
import enum
import types
import typing
from typing import Any

import attrs

from ._docstring import parse_docstring

JsonSchema = dict[str, Any]

ARRAY_ORIGINS: dict[object, type] = {
    list: list,
    tuple: tuple,
    set: set,
    frozenset: frozenset,
    collections.abc.Sequence: list,
    collections.abc.MutableSequence: list,
    collections.abc.Set: frozenset,
    collections.abc.MutableSet: set,
}
MAPPING_ORIGINS = (dict, collections.abc.Mapping, collections.abc.MutableMapping)
_PRIMITIVES: dict[object, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
_JSON_SCALARS = (str, int, float, bool, type(None))
SUPPORTED = (
    "str, int, float, bool, None, Any, Literal[...], an Enum, list[T], tuple[T, ...], "
    "set[T], dict[str, T], X | None, or an attrs class"
)


class UnsupportedType(Exception):
    """An annotation this module cannot describe (turned into a ValidationError)."""


def is_union(annotation: object) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def is_attrs_class(annotation: object) -> bool:
    return isinstance(annotation, type) and attrs.has(annotation)


def strip_annotated(annotation: Any) -> tuple[Any, str]:
    """`Annotated[T, "text", ...]` -> (T, "text"); anything else -> (it, "")."""
    if typing.get_origin(annotation) is typing.Annotated:
        texts = [m for m in annotation.__metadata__ if isinstance(m, str)]
        return annotation.__origin__, (texts[0] if texts else "")
    return annotation, ""


def init_fields(cls: type) -> list[tuple[attrs.Attribute[Any], str, Any]]:
    """An attrs class's constructor fields: (field, keyword name, resolved type)."""
    hints = typing.get_type_hints(cls, include_extras=True)
    return [
        (field, field.alias or field.name, hints.get(field.name, Any))
        for field in attrs.fields(cls)
        if field.init
    ]


def is_json_scalar(value: object) -> bool:
    if isinstance(value, enum.Enum):
        value = value.value
    return isinstance(value, _JSON_SCALARS)


def json_value(value: object) -> object:
    return value.value if isinstance(value, enum.Enum) else value


def _scalar_types(values: list[object]) -> str | list[str] | None:
    names: list[str] = []
    for value in values:
        name = "null" if value is None else _PRIMITIVES.get(type(value))
        if name is None:
            return None
        if name not in names:
            names.append(name)
    return names[0] if len(names) == 1 else names


def _enum_schema(values: list[object], what: str) -> JsonSchema:
    if not all(isinstance(v, _JSON_SCALARS) for v in values):
        raise UnsupportedType(f"{what} has values that are not JSON strings or numbers")
    schema: JsonSchema = {"enum": list(values)}
    json_type = _scalar_types(values)
    if json_type is not None:
        schema = {"type": json_type, **schema}
    return schema


def _nullable(schema: JsonSchema) -> JsonSchema:
    json_type = schema.get("type")
    if isinstance(json_type, str):
        nullable = {**schema, "type": [json_type, "null"]}
        if "enum" in schema and None not in schema["enum"]:
            nullable["enum"] = [*schema["enum"], None]
        return nullable
    if not schema:
        return schema  # Any already allows null
    return {"anyOf": [schema, {"type": "null"}]}


def annotation_schema(annotation: Any, seen: tuple[type, ...]) -> JsonSchema:
    """The JSON schema of one annotation; raises UnsupportedType."""
    annotation, description = strip_annotated(annotation)
    schema = _schema_of(annotation, seen)
    if description:
        schema["description"] = description
    return schema


def _schema_of(annotation: Any, seen: tuple[type, ...]) -> JsonSchema:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is Any:
        return {}
    if annotation is None or annotation is type(None):
        return {"type": "null"}
    if annotation in _PRIMITIVES:
        return {"type": _PRIMITIVES[annotation]}
    if is_union(annotation):
        options = [a for a in args if a is not type(None)]
        schemas = [annotation_schema(a, seen) for a in options]
        schema = schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
        return _nullable(schema) if len(options) < len(args) else schema
    if origin is typing.Literal:
        return _enum_schema(list(args), f"Literal{list(args)}")
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return _enum_schema([m.value for m in annotation], f"enum {annotation.__name__}")
    if is_attrs_class(annotation):
        return _attrs_schema(annotation, seen)
    if annotation in ARRAY_ORIGINS or origin in ARRAY_ORIGINS:
        return _array_schema(annotation, origin, args, seen)
    if annotation in MAPPING_ORIGINS or origin in MAPPING_ORIGINS:
        if args and args[0] is not str:
            raise UnsupportedType(
                f"{_name(annotation)}: JSON object keys are strings, use dict[str, T]"
            )
        values = annotation_schema(args[1], seen) if args else {}
        return {"type": "object", "additionalProperties": values} if values else {"type": "object"}
    raise UnsupportedType(f"{_name(annotation)} cannot be described as JSON")


def _array_schema(
    annotation: Any, origin: Any, args: tuple[Any, ...], seen: tuple[type, ...]
) -> JsonSchema:
    container = origin or annotation
    if container is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        raise UnsupportedType(
            f"{_name(annotation)}: fixed-length tuples are not supported; use tuple[T, ...], "
            "list[T] or an attrs class"
        )
    schema: JsonSchema = {"type": "array"}
    if args:
        items = annotation_schema(args[0], seen)
        if items:
            schema["items"] = items
    if ARRAY_ORIGINS[container] in (set, frozenset):
        schema["uniqueItems"] = True
    return schema


def _attrs_schema(cls: type, seen: tuple[type, ...]) -> JsonSchema:
    if cls in seen:
        raise UnsupportedType(
            f"attrs class {cls.__name__} refers to itself; a tool schema must be finite "
            "(flatten it, or take a list of a non-recursive class)"
        )
    doc = parse_docstring(cls.__doc__)
    properties: JsonSchema = {}
    required: list[str] = []
    try:
        fields = init_fields(cls)
    except Exception as exc:
        raise UnsupportedType(
            f"attrs class {cls.__name__}: cannot resolve its field types ({exc})"
        ) from None
    for field, key, field_type in fields:
        try:
            schema = annotation_schema(field_type, (*seen, cls))
        except UnsupportedType as exc:
            raise UnsupportedType(f"field {cls.__name__}.{key}: {exc}") from None
        description = field.metadata.get("description") or doc.parameters.get(key, "")
        if description and "description" not in schema:
            schema["description"] = description
        if field.default is attrs.NOTHING:
            required.append(key)
        elif not isinstance(field.default, attrs.Factory) and is_json_scalar(field.default):  # type: ignore[arg-type]
            schema["default"] = json_value(field.default)
        properties[key] = schema
    schema = {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    if doc.summary:
        schema["description"] = doc.summary
    return schema


def _name(annotation: object) -> str:
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return annotation.__name__
    return repr(annotation).replace("typing.", "")
