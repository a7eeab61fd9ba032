"""Validation without building pydantic's validators, for input that needs no conversion.

pydantic builds a model's validators the first time it validates one (a few milliseconds per
model class, and the first build scans the installed packages for pydantic plugins), which a
run that builds a network from a workload file, or a chip from a config, pays for every class.
`construct` takes the values themselves where pydantic would keep them unchanged — an `int`
(not a bool) for an int field, a `float` (or an int, made a float) for a float field, a bool,
a string of a `Literal`, None, tuples (or lists) of such, nested mappings of such — checks
every constraint of the field (`gt`, `ge`, `lt`, `le`, `allow_inf_nan`) and runs the model's own
field and model validators, then assembles the model as pydantic would. Anything else — an
unknown or missing field, a value of another type, a union it matches twice, a failed check or
validator, a validator shape it does not know — returns None, and pydantic validates the input
itself, so every conversion and every error message stay pydantic's.
tests/test_trusted_validation.py holds it against pydantic on random input.
"""

from __future__ import annotations

import inspect
import math
import types
import typing
from functools import cache
from typing import Any, Literal

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

_MISSING = object()


class _Refused(Exception):
    """Input this module leaves to pydantic."""


class _Info:
    """The part of pydantic's `ValidationInfo` a field validator may read."""

    mode = "python"
    context = None
    config = None

    def __init__(self, field_name: str, data: dict[str, Any]) -> None:
        self.field_name = field_name
        self.data = data


def construct(model: type[BaseModel], data: Any) -> Any:
    """`model.model_validate(data)` where `data` needs no conversion, else None."""
    try:
        return _construct(model, data)
    except _Refused:
        return None
    except (ValueError, TypeError, AssertionError, AttributeError, KeyError, IndexError):
        return None  # a validator refused: pydantic says so in its own words


def _construct(model: type[BaseModel], data: Any) -> Any:
    fields = model.model_fields
    if not isinstance(data, dict) or not set(data) <= set(fields) or not _plain_model(model):
        raise _Refused
    validators = _field_validators(model)
    if validators is None:
        raise _Refused
    values: dict[str, Any] = {}
    for name, field in fields.items():
        if name not in data:
            if field.is_required():
                raise _Refused
            continue
        value = data[name]
        before, after = validators.get(name, (None, None))
        if before is not None:
            value = before(value, _Info(name, values))
        value = _value(field.annotation, value, field)
        if after is not None:
            value = after(value, _Info(name, values))
        values[name] = value
    instance = model.model_construct(set(data), **values)
    for check in _model_validators(model):
        instance = check(instance)
        if type(instance) is not model:
            raise _Refused
    return instance


_PLAIN_CONFIG = frozenset(("frozen", "extra", "defer_build"))


@cache
def _plain_model(model: type[BaseModel]) -> bool:
    """A frozen model that forbids unknown fields, with no other setting, alias, serializer or
    old-style validator that validation would have to honour."""
    config = model.model_config
    if set(config) - _PLAIN_CONFIG or config.get("extra") != "forbid" or not config.get("frozen"):
        return False
    decorators = model.__pydantic_decorators__
    if decorators.validators or decorators.root_validators or decorators.field_serializers:
        return False
    if decorators.model_serializers or decorators.computed_fields:
        return False
    return all(field.alias is None and field.validation_alias is None
               for field in model.model_fields.values())  # fmt: skip


@cache
def _field_validators(model: type[BaseModel]) -> dict[str, tuple[Any, Any]] | None:
    """Field name → (before validator, after validator), each a function of (value, info);
    None if a validator is of a kind this module does not run."""
    found: dict[str, list[Any]] = {}
    for decorator in model.__pydantic_decorators__.field_validators.values():
        mode = decorator.info.mode
        if mode not in ("before", "after") or "*" in decorator.info.fields:
            return None
        slot = 0 if mode == "before" else 1
        for name in decorator.info.fields:
            pair = found.setdefault(name, [None, None])
            if pair[slot] is not None:
                return None
            pair[slot] = _with_info(decorator.func)
    return {name: (pair[0], pair[1]) for name, pair in found.items()}


@cache
def _model_validators(model: type[BaseModel]) -> tuple[Any, ...]:
    checks = []
    for decorator in model.__pydantic_decorators__.model_validators.values():
        if decorator.info.mode != "after" or len(inspect.signature(decorator.func).parameters) != 1:
            checks.append(_refuse)
        else:
            checks.append(decorator.func)
    return tuple(checks)


def _refuse(instance: Any) -> Any:
    raise _Refused


def _with_info(func: Any) -> Any:
    """`func` called as pydantic calls a field validator: with the info if it takes one."""
    takes_info = len(inspect.signature(func).parameters) == 2
    return func if takes_info else (lambda value, info: func(value))


def _value(annotation: Any, value: Any, field: FieldInfo | None) -> Any:
    """`value` as pydantic makes it for `annotation` when that is keeping it (an int made a
    float aside); raise _Refused where pydantic might convert or refuse it."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return _union(typing.get_args(annotation), value, field)
    if annotation in (int, float):
        return _constrained(_scalar(annotation, value), field)
    if field is not None and field.metadata:  # constraints on a string, tuple or model
        raise _Refused
    if annotation is type(None):
        if value is not None:
            raise _Refused
        return None
    if origin is Literal:
        if type(value) is not str or value not in typing.get_args(annotation):
            raise _Refused
        return value
    if origin is tuple:
        return _tuple(typing.get_args(annotation), value)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return value if type(value) is annotation else _construct(annotation, value)
    return _scalar(annotation, value)


def _union(members: tuple[Any, ...], value: Any, field: FieldInfo | None) -> Any:
    """A union member that takes `value` as it is; exactly one must (pydantic's smart mode
    picks an exact match; two would need its tie-break rules)."""
    results = []
    for member in members:
        try:
            results.append(_value(member, value, field if member is not type(None) else None))
        except _Refused:
            continue
    if len(results) != 1:
        raise _Refused
    return results[0]


def _tuple(args: tuple[Any, ...], value: Any) -> tuple[Any, ...]:
    if type(value) not in (tuple, list):
        raise _Refused
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(_value(args[0], item, None) for item in value)
    if len(value) != len(args):
        raise _Refused
    return tuple(_value(kind, item, None) for kind, item in zip(args, value, strict=True))


def _scalar(annotation: Any, value: Any) -> Any:
    if annotation is bool:
        if type(value) is not bool:
            raise _Refused
        return value
    if annotation is int:
        if type(value) is not int:
            raise _Refused
        return value
    if annotation is float:
        if type(value) is float:
            return value
        if type(value) is int:
            return float(value)
        raise _Refused
    if annotation is str:
        if type(value) is not str:
            raise _Refused
        return value
    raise _Refused


def _constrained(value: Any, field: FieldInfo | None) -> Any:
    """`value` if it meets every constraint of `field`."""
    for rule in () if field is None else field.metadata:
        if isinstance(rule, annotated_types.Gt):
            ok = value > rule.gt
        elif isinstance(rule, annotated_types.Ge):
            ok = value >= rule.ge
        elif isinstance(rule, annotated_types.Lt):
            ok = value < rule.lt
        elif isinstance(rule, annotated_types.Le):
            ok = value <= rule.le
        elif type(rule).__name__ == "AllowInfNan" and vars(rule) == {"allow_inf_nan": False}:
            ok = not isinstance(value, float) or math.isfinite(value)
        else:
            raise _Refused
        if not ok:
            raise _Refused
    if isinstance(value, float) and math.isnan(value):
        raise _Refused
    return value
