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
        lines = validation_messages(err, source, model)
        raise InputError(format_validation_error(err, source, model), lines) from None


def format_validation_error(err: ValidationError, source: str, model: type[BaseModel]) -> str:
    """One line for the first error pydantic found (and how many more there are)."""
    lines = validation_messages(err, source, model)
    more = len(lines) - 1
    suffix = f" (+{more} more error{'s' if more > 1 else ''})" if more else ""
    return f"{lines[0]}{suffix}"


def validation_messages(
    err: ValidationError, source: str, model: type[BaseModel]
) -> tuple[str, ...]:
    """One line per error pydantic found, a misspelt field first (it explains the others:
    a misspelling shows up as both an unknown and a missing field)."""
    errors = sorted(err.errors(), key=lambda e: e["type"] != "extra_forbidden")
    return tuple(f"{source}: {_message(error, model)}" for error in errors)


def _message(error: Any, model: type[BaseModel]) -> str:
    loc = [str(part) for part in error["loc"]]
    path = ".".join(loc) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{path} is not a known field{closest(loc[-1], _field_names(model, loc[:-1]))}"
    if kind == "missing":
        return f"{path} is required"
    if kind in ("value_error", "assertion_error"):
        message = str(error["ctx"]["error"]) if "ctx" in error else error["msg"]
        return f"{path}: {message}" if loc else str(message)
    return f"{path} must be {_rule(error)}, not {error.get('input')!r}"


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
