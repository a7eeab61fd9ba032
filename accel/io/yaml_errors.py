"""Reading YAML files and turning validation failures into one-line messages.

Every file a user writes (chip, workload, sweep) goes through `load_yaml_mapping`, and every
pydantic validation through `validate_model` (or `format_validation_error`), so all of them
fail the same way: one line naming the file, the field path, the rule and the offending value,
with a suggestion for a misspelt field.
"""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from accel.errors import InputError, closest

Model = TypeVar("Model", bound=BaseModel)


def load_yaml_mapping(path: str | Path, what: str) -> dict[str, Any]:
    """Parse a YAML file whose top level must be a mapping."""
    file = Path(path)
    if not file.is_file():
        raise InputError(f"{what} file {str(path)!r} does not exist")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise InputError(f"{where}: invalid YAML: {err.problem}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: invalid YAML: {err}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: the top level must be a mapping, not {type(data).__name__}")
    return data


def validate_model(model: type[Model], data: Any, source: str) -> Model:
    """`model` validated from `data`; a failure is one `InputError` line naming `source`."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise InputError(format_validation_error(err, source, model)) from None


def format_validation_error(err: ValidationError, source: str, model: type[BaseModel]) -> str:
    """One line for the first error pydantic found (and how many more there are)."""
    # A misspelt field shows up as both "extra" and "missing": report the misspelling.
    errors = sorted(err.errors(), key=lambda e: e["type"] != "extra_forbidden")
    first = errors[0]
    loc = [str(part) for part in first["loc"]]
    path = ".".join(loc) or "(top level)"
    kind = first["type"]
    value = first.get("input")
    if kind == "extra_forbidden":
        hint = closest(loc[-1], _field_names(model, loc[:-1]))
        message = f"{path} is not a known field{hint}"
    elif kind == "missing":
        message = f"{path} is required"
    elif kind in ("value_error", "assertion_error"):
        message = str(first["ctx"]["error"]) if "ctx" in first else first["msg"]
        message = f"{path}: {message}" if loc else message
    else:
        message = f"{path} must be {_rule(first)}, not {value!r}"
    more = len(err.errors()) - 1
    suffix = f" (+{more} more error{'s' if more > 1 else ''})" if more else ""
    return f"{source}: {message}{suffix}"


def _rule(error: Any) -> str:
    ctx = error.get("ctx", {})
    rules = {
        "greater_than": "> {gt}",
        "greater_than_equal": ">= {ge}",
        "less_than": "< {lt}",
        "less_than_equal": "<= {le}",
        "literal_error": "one of {expected}",
        "int_parsing": "an integer",
        "int_type": "an integer",
        "int_from_float": "a whole number",
        "float_parsing": "a number",
        "float_type": "a number",
        "bool_parsing": "true or false",
        "bool_type": "true or false",
        "string_type": "a string",
        "model_type": "a mapping",
        "dict_type": "a mapping",
        "list_type": "a list",
        "too_short": "a list of at least {min_length} item(s)",
    }
    template = rules.get(error["type"])
    if template is None:
        return str(error["msg"]).removeprefix("Input should be ")
    return template.format(**{key: _number(value) for key, value in ctx.items()})


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _field_names(model: type[BaseModel], loc: list[str]) -> list[str]:
    """Field names of the (nested) model that `loc` points into."""
    current: Any = model
    for part in loc:
        field = current.model_fields.get(part) if _is_model(current) else None
        if field is None:
            return []
        current = _unwrap_model(field.annotation)
    return list(current.model_fields) if _is_model(current) else []


def _is_model(obj: Any) -> bool:
    return isinstance(obj, type) and issubclass(obj, BaseModel)


def _unwrap_model(annotation: Any) -> Any:
    """The model inside `X | None` or `list[X]`, else the annotation itself."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list, tuple):
        for arg in typing.get_args(annotation):
            if _is_model(arg):
                return arg
    return annotation
