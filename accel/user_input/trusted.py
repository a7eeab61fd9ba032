"""Building a record from values that need no conversion, without pydantic.

`construct` takes the values themselves where pydantic would keep them unchanged — an `int`
(not a bool) for an int field, a `float` (or an int, made a float) for a float field, a bool,
a string of a `Literal`, None, anything for `Any`, tuples (or lists) and lists of such,
str-keyed dicts of such, nested records — checks every constraint of the field (`gt`, `ge`,
`lt`, `le`, `allow_inf_nan`, `min_length`) and runs
the record's own field and model validators, then assembles the record as pydantic would.
Anything else — an unknown or missing field, a value of another type, a union it matches twice,
a failed check or validator — returns None, and pydantic validates the input itself
(`accel.user_input.schema`), so every conversion and every error message stay pydantic's.
tests/test_trusted_validation.py holds it against pydantic on random input.
"""

from __future__ import annotations

import math
import types
import typing
from typing import Any, Literal


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


def construct(model: type[Any], data: Any) -> Any:
    """`model.model_validate(data)` where `model` is a record and `data` needs no conversion,
    else None."""
    if not hasattr(model, "_field_checks"):
        return None  # a pydantic model: pydantic validates it
    try:
        return _construct(model, data)
    except _Refused:
        return None
    except (ValueError, TypeError, AssertionError, AttributeError, KeyError, IndexError):
        return None  # a validator refused: pydantic says so in its own words


def _construct(model: Any, data: Any) -> Any:
    fields = model.model_fields
    if not isinstance(data, dict) or not set(data) <= set(fields):
        raise _Refused
    validators = model._field_checks
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
    return _checked(model, model.model_construct(set(data), **values))


def _checked(model: Any, instance: Any) -> Any:
    """`instance` through its model validators; _Refused where one returns another type."""
    for check in model._model_checks:
        instance = check(instance)
        if type(instance) is not model:
            raise _Refused
    return instance


def replaced(record: Any, updates: dict[tuple[str, ...], Any]) -> Any:
    """`record` with the values at `updates`' field paths replaced, the record `construct`
    builds from its dump with those values, but keeping each record no path enters as it is and
    checking only the values that changed (with its model validators) where the record has no
    field validators (one may read other fields); or None where that is not sure to be the
    same (a path that is not a record's field, one path inside another, input `construct`
    leaves to pydantic): the caller then builds it from the dump. Each rebuilt nested record is
    interned (`_interned`): a sweep's points rebuild equal sections, and the memory model's and
    energy's memo keys then match them by identity instead of field by field."""
    model = type(record)
    fields = getattr(model, "_fields", None)
    if not isinstance(fields, dict):
        return None
    changed: dict[str, Any] = {}
    inner: dict[str, dict[tuple[str, ...], Any]] = {}
    for path, value in updates.items():
        if not path or path[0] not in fields:
            return None
        if len(path) == 1:
            changed[path[0]] = value
        else:
            inner.setdefault(path[0], {})[path[1:]] = value
    for name, nested in inner.items():
        child = record.__dict__[name]
        if name in changed or not isinstance(getattr(type(child), "_fields", None), dict):
            return None
        child = replaced(child, nested)
        if child is None:
            return None
        changed[name] = _interned(child)
    if model._field_checks:
        return construct(model, {**record.__dict__, **changed})
    try:
        return _rebuilt(model, record, changed)
    except (_Refused, ValueError, TypeError, AssertionError, AttributeError, KeyError, IndexError):
        return None


def _rebuilt(model: Any, record: Any, changed: dict[str, Any]) -> Any:
    """`record` with the `changed` values, each checked as `_construct` checks it."""
    specs = model.model_fields
    values = dict(record.__dict__)
    for name, value in changed.items():
        values[name] = _value(specs[name].annotation, value, specs[name])
    return _checked(model, model.model_construct(set(specs), **values))


# Records `replaced` rebuilt, each equal one once (cleared when full: a sweep rebuilds a few
# sections per point, and a long sweep must not keep every point's).
_INTERNED: dict[Any, Any] = {}
_MAX_INTERNED = 4096


def _interned(record: Any) -> Any:
    found = _INTERNED.get(record)
    if found is not None and found._fields_set == record._fields_set:
        return found
    if len(_INTERNED) >= _MAX_INTERNED:
        _INTERNED.clear()
    _INTERNED[record] = record
    return record


# id(annotation) → (the annotation, kept so that its id stays its own; typing.get_origin and
# typing.get_args of it), worked out once per annotation object: a workload's every layer checks
# the same few annotations of the same few records. By identity: hashing a `Literal` walks its
# values, and `int | None` equals `Optional[int]`, whose origin differs.
_PARTS: dict[int, tuple[Any, Any, tuple[Any, ...]]] = {}


def _parts(annotation: Any) -> tuple[Any, tuple[Any, ...]]:
    found = _PARTS.get(id(annotation))
    if found is None or found[0] is not annotation:
        found = (annotation, typing.get_origin(annotation), typing.get_args(annotation))
        _PARTS[id(annotation)] = found
    return found[1], found[2]


def _value(annotation: Any, value: Any, field: Any) -> Any:
    """`value` as pydantic makes it for `annotation` when that is keeping it (an int made a
    float aside); raise _Refused where pydantic might convert or refuse it."""
    if annotation is Any:
        return value
    origin, args = _parts(annotation)
    if origin in (typing.Union, types.UnionType):
        return _union(args, value, field)
    if annotation in (int, float):
        return _constrained(_scalar(annotation, value), field)
    rules = {} if field is None else field.rules
    if origin in (tuple, list) and set(rules) <= {"min_length"}:
        items = _sequence(origin, args, value)
        if len(items) < rules.get("min_length", 0):
            raise _Refused
        return items
    if rules:  # constraints on a string, a mapping or a record
        raise _Refused
    if origin is dict:
        return _mapping(args, value)
    if annotation is type(None):
        if value is not None:
            raise _Refused
        return None
    if origin is Literal:
        if type(value) is not str or value not in args:
            raise _Refused
        return value
    if isinstance(annotation, type) and hasattr(annotation, "_field_checks"):
        return value if type(value) is annotation else _construct(annotation, value)
    return _scalar(annotation, value)


def _union(members: tuple[Any, ...], value: Any, field: Any) -> Any:
    """The union member that takes `value` as it is: pydantic's smart mode picks the one exact
    match (an int for `int | float`), else the one member that converts it (an int made a
    float for `float | None`); two would need its tie-break rules."""
    results = []
    for member in members:
        try:
            taken = _value(member, value, field if member is not type(None) else None)
        except _Refused:
            continue
        results.append((member is float and type(value) is int, taken))
    exact = [taken for converted, taken in results if not converted]
    chosen = exact or [taken for _, taken in results]
    if len(chosen) != 1:
        raise _Refused
    return chosen[0]


def _sequence(origin: type, args: tuple[Any, ...], value: Any) -> tuple[Any, ...] | list[Any]:
    """A tuple field takes a tuple or a list; a list field only a list (pydantic would turn a
    tuple into one)."""
    if type(value) not in ((tuple, list) if origin is tuple else (list,)):
        raise _Refused
    if origin is list:
        return [_value(args[0], item, None) for item in value]
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(_value(args[0], item, None) for item in value)
    if len(value) != len(args):
        raise _Refused
    return tuple(_value(kind, item, None) for kind, item in zip(args, value, strict=True))


def _mapping(args: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """A str-keyed mapping of values taken as they are (other keys pydantic may convert)."""
    key, item = args
    if type(value) is not dict or key is not str or any(type(k) is not str for k in value):
        raise _Refused
    return {k: _value(item, v, None) for k, v in value.items()}


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


def _constrained(value: Any, field: Any) -> Any:
    """`value` if it meets every constraint of `field`."""
    for rule, limit in ({} if field is None else field.rules).items():
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
        else:
            raise _Refused
        if not ok:
            raise _Refused
    if isinstance(value, float) and math.isnan(value):
        raise _Refused
    return value
