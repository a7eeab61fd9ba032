"""A sweep file taken as written, without pydantic: the sweep's records (`accel.sweep.spec`) built
from input that pydantic would keep unchanged.

Importing pydantic and building its validators for the spec cost ~0.1 s of CPU at the start of
every `accel sweep`, before any worker has work. `plain_record` takes the values themselves where
pydantic would keep them — a str, an int (not a bool), a float (or an int, made a float), a
bool, None, lists and str-keyed dicts of such, nested records, anything for `Any`, and a union
member only when exactly one member takes the value without converting it (pydantic's smart
mode picks that one) — checks each field's constraints, runs the records' own field and model
validators, and builds the record. Anything else — an unknown or missing field, a value of
another type, a failed check or validator — returns None: pydantic then validates the input
itself (`accel.user_input.validate_model`), so every conversion and every error message stay
pydantic's. The chip's records do the same for their types (`accel.user_input.trusted`);
tests/test_sweep_spec.py holds this against pydantic on random sweep files.
"""

from __future__ import annotations

import math
import types
import typing
from typing import Any, TypeVar

_R = TypeVar("_R")


class _Refused(Exception):
    """Input left to pydantic."""


class _Info:
    """The part of pydantic's `ValidationInfo` a field validator may read."""

    mode = "python"
    context = None
    config = None

    def __init__(self, field_name: str, data: dict[str, Any]) -> None:
        self.field_name = field_name
        self.data = data


def plain_record(record: type[_R], data: Any) -> _R | None:
    """`record` built from `data` when pydantic would take `data` as it is, else None."""
    try:
        return _record(record, data)  # type: ignore[no-any-return]
    except _Refused:
        return None
    except (ValueError, TypeError, AssertionError, AttributeError, KeyError, IndexError):
        return None  # a validator refused: pydantic says so in its own words


def _record(record: Any, data: Any) -> Any:
    fields = record.model_fields
    if type(data) is not dict or not set(data) <= set(fields):
        raise _Refused
    values: dict[str, Any] = {}
    for name, field in fields.items():
        if name not in data:
            if field.is_required():
                raise _Refused
            continue
        before, after = record._field_checks.get(name, (None, None))
        value = data[name] if before is None else before(data[name], _Info(name, values))
        value = _checked(_value(field.annotation, value), field.rules)
        values[name] = value if after is None else after(value, _Info(name, values))
    built = record.model_construct(set(data), **values)
    for check in record._model_checks:
        if type(check(built)) is not record:
            raise _Refused
    return built


def _value(annotation: Any, value: Any) -> Any:
    """`value` as pydantic makes it for `annotation` when that is keeping it (an int for a
    float field made a float); raise _Refused where pydantic might convert or refuse it."""
    origin = typing.get_origin(annotation)
    if annotation is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        return _union(typing.get_args(annotation), value)
    if origin is list:
        if type(value) is not list:
            raise _Refused
        (item,) = typing.get_args(annotation)
        return [_value(item, v) for v in value]
    if origin is dict:
        key, item = typing.get_args(annotation)
        if type(value) is not dict or key is not str or any(type(k) is not str for k in value):
            raise _Refused
        return {k: _value(item, v) for k, v in value.items()}
    if isinstance(annotation, type) and hasattr(annotation, "_field_checks"):
        return value if type(value) is annotation else _record(annotation, value)
    if annotation is float and type(value) is int:
        return float(value)
    if annotation not in (str, int, float, bool, type(None)) or type(value) is not annotation:
        raise _Refused
    return value


def _union(members: tuple[Any, ...], value: Any) -> Any:
    """The one member that takes `value` without converting it (an int is no float here)."""
    results = []
    for member in members:
        if member is float and type(value) is int:
            continue
        try:
            results.append(_value(member, value))
        except _Refused:
            continue
    if len(results) != 1:
        raise _Refused
    return results[0]


def _checked(value: Any, rules: dict[str, Any]) -> Any:
    """`value` if it meets every constraint of its field (a finite number by default off)."""
    for rule, limit in rules.items():
        if rule == "gt":
            ok = value > limit
        elif rule == "ge":
            ok = value >= limit
        elif rule == "lt":
            ok = value < limit
        elif rule == "le":
            ok = value <= limit
        elif rule == "allow_inf_nan":
            ok = limit or not isinstance(value, float) or math.isfinite(value)
        elif rule == "min_length":
            ok = len(value) >= limit
        else:
            raise _Refused
        if not ok:
            raise _Refused
    if isinstance(value, float) and not math.isfinite(value):
        raise _Refused  # pydantic's rules for inf and nan are its own
    return value
