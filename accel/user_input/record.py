"""Records: the frozen value classes of the chip and the operators, in plain Python.

A record is declared as a pydantic model is — typed fields, `Field(default, gt=..., ...)`,
`@field_validator` and `@model_validator(mode="after")` — but is an ordinary class: creating the
classes and building a record from values that need no conversion (the built-in networks, the
default chip) imports no pydantic. Input that needs converting or is wrong (a YAML chip or
workload, a string for an integer) is validated by pydantic through a model built from the
record's own field list the first time one is needed (`accel.user_input.schema`), so every
conversion and every error message are pydantic's. A record is immutable, equal to and hashed
with another of the same class and field values, and offers the pydantic calls the code uses:
`model_fields`, `model_fields_set`, `model_dump`, `model_copy(update=...)`, `model_construct`,
`model_validate` and `model_json_schema`.
"""

from __future__ import annotations

import inspect
import sys
import typing
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from accel.user_input.trusted import construct

_MISSING: Any = object()
_Func = TypeVar("_Func")
_R = TypeVar("_R", bound="Record")
# Constraints a field may carry, as pydantic's `Field` names them.
RULES = frozenset(("gt", "ge", "lt", "le", "allow_inf_nan", "min_length"))


class FieldSpec:
    """One field: its default (or default factory), description and constraints; `annotation`
    is the resolved type once `fields_of` has read the class's annotations."""

    def __init__(self, default: Any = _MISSING, *, default_factory: Callable[[], Any] | None = None,
                 description: str | None = None, **rules: Any) -> None:  # fmt: skip
        if set(rules) - RULES:
            raise TypeError(f"unknown field rule(s): {sorted(set(rules) - RULES)}")
        self.default = default
        self.default_factory = default_factory
        self.description = description
        self.rules: dict[str, Any] = rules
        self.annotation: Any = None

    def is_required(self) -> bool:
        return self.default is _MISSING and self.default_factory is None

    def default_value(self) -> Any:
        return self.default_factory() if self.default_factory is not None else self.default


def Field(default: Any = _MISSING, **kwargs: Any) -> Any:
    """A field's default, description and constraints (`gt`, `ge`, `lt`, `le`, `allow_inf_nan`,
    `min_length`), as pydantic's `Field` takes them."""
    return FieldSpec(default, **kwargs)


class Check:
    """A validator: `fields` and `mode` ("before" or "after") for a field validator, none and
    "model" for a model validator (mode="after", a method of the record)."""

    def __init__(self, func: Any, fields: tuple[str, ...], mode: str) -> None:
        self.func = func
        self.fields = fields
        self.mode = mode

    def raw(self) -> Callable[..., Any]:
        func = self.func
        return func.__func__ if isinstance(func, classmethod | staticmethod) else func


def field_validator(*fields: str, mode: str = "after") -> Callable[[_Func], _Func]:
    """A class method run on the named fields' values, before or after their type is checked;
    it may take (value) or (value, info) and returns the value to keep."""
    if mode not in ("before", "after"):
        raise TypeError(f"field_validator mode must be before or after, not {mode!r}")
    return lambda func: Check(func, fields, mode)  # type: ignore[return-value]


def model_validator(*, mode: str) -> Callable[[_Func], _Func]:
    """A method run on the built record; it raises ValueError or returns the record."""
    if mode != "after":
        raise TypeError(f"model_validator mode must be after, not {mode!r}")
    return lambda func: Check(func, (), "model")  # type: ignore[return-value]


def _as_field_check(owner: type, check: Check) -> Callable[[Any, Any], Any]:
    """`check` called as pydantic calls a field validator: on the class, with the info if the
    function takes one."""
    func = check.raw()
    if func.__code__.co_argcount == 3:
        return lambda value, info: func(owner, value, info)
    return lambda value, info: func(owner, value)


class _ModelFields:
    """`Record.model_fields`: the fields with their annotations resolved (on first use: a field
    may name a class defined after its own)."""

    def __get__(self, instance: Any, owner: type[Record]) -> dict[str, FieldSpec]:
        return fields_of(owner)


def fields_of(cls: type[Record]) -> dict[str, FieldSpec]:
    """The fields of `cls`, each `annotation` resolved."""
    if not cls.__dict__.get("_resolved"):
        hints = _field_hints(cls)
        for name, spec in cls._fields.items():
            spec.annotation = hints[name]
        cls._resolved = True
    return cls._fields


def _field_hints(cls: type[Record]) -> dict[str, Any]:
    """`typing.get_type_hints(cls)` for the fields alone: each class of the MRO's field
    annotations evaluated in one `eval` where it holds them (get_type_hints compiles every
    annotation of every base on its own, `Record`'s too: ~2 M instructions a class, ~45 M of a
    sweep's serial start). Anything but plain evaluated types (a nested string, `Annotated`)
    is left to get_type_hints."""
    hints: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        own = inspect.get_annotations(klass)
        names = [name for name in own if name in cls._fields]
        if not names:
            continue
        texts = [own[name] for name in names]
        if not all(isinstance(text, str) for text in texts):
            return typing.get_type_hints(cls)
        module = sys.modules[klass.__module__].__dict__
        code = "(" + "".join(f"{text},\n" for text in texts) + ")"
        values = eval(code, module, dict(vars(klass)))
        for name, value in zip(names, values, strict=True):
            if not _plain_hint(value):
                return typing.get_type_hints(cls)
            hints[name] = type(None) if value is None else value
    return hints


def _plain_hint(value: Any) -> bool:
    """A type as get_type_hints leaves it: no string or forward reference left in it, no
    `Annotated` (which it strips)."""
    if isinstance(value, str | typing.ForwardRef):
        return False
    origin = typing.get_origin(value)
    if origin is typing.Annotated:
        return False
    if origin is typing.Literal:  # its strings are values
        return True
    return all(_plain_hint(arg) for arg in typing.get_args(value))


class Record:
    """The base of a frozen record class (see the module's docstring)."""

    __slots__ = ("__dict__", "_fields_set", "_hash")
    _fields_set: frozenset[str]
    _hash: int
    _fields: ClassVar[dict[str, FieldSpec]] = {}
    _resolved: ClassVar[bool] = False
    # Field name → (before, after) validator, each a function of (value, info); model validators.
    _field_checks: ClassVar[dict[str, tuple[Any, Any]]] = {}
    _model_checks: ClassVar[tuple[Any, ...]] = ()
    _checks: ClassVar[dict[str, Check]] = {}
    model_fields: ClassVar[dict[str, FieldSpec]] = _ModelFields()  # type: ignore[assignment]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fields = dict(cls._fields)
        for name, annotation in inspect.get_annotations(cls).items():
            if str(annotation).startswith(("ClassVar", "typing.ClassVar")):
                continue
            value = cls.__dict__.get(name, _MISSING)
            fields[name] = value if isinstance(value, FieldSpec) else FieldSpec(value)
            if value is not _MISSING:
                delattr(cls, name)
        cls._fields = fields
        cls._resolved = False
        checks = dict(cls._checks)
        for name, value in list(cls.__dict__.items()):
            if isinstance(value, Check):
                checks[name] = value
                setattr(cls, name, value.func)
        cls._checks = checks
        found: dict[str, list[Any]] = {}
        for check in checks.values():
            slot = 0 if check.mode == "before" else 1
            for name in check.fields:
                pair = found.setdefault(name, [None, None])
                if pair[slot] is not None:
                    raise TypeError(f"{cls.__name__}.{name} has two {check.mode} validators")
                pair[slot] = _as_field_check(cls, check)
        cls._field_checks = {name: (pair[0], pair[1]) for name, pair in found.items()}
        cls._model_checks = tuple(c.func for c in checks.values() if c.mode == "model")

    def __init__(self, /, **data: Any) -> None:
        cls = type(self)
        built = _DEFAULTS.get(cls) if not data else None
        if built is None:
            built = construct(cls, data)
            if built is None:
                from accel.user_input.schema import validate

                built = validate(cls, data)
            if not data:
                _DEFAULTS[cls] = built
        object.__setattr__(self, "__dict__", dict(built.__dict__))
        object.__setattr__(self, "_fields_set", built._fields_set)

    @classmethod
    def model_construct(cls: type[_R], _fields_set: set[str] | None = None, **values: Any) -> _R:
        """A record of `values` (the defaults for the rest), not validated."""
        record = cls.__new__(cls)
        given = dict(values)
        for name, spec in cls._fields.items():
            if name not in given:
                given[name] = spec.default_value()
        object.__setattr__(record, "__dict__", {name: given[name] for name in cls._fields})
        names = frozenset(values if _fields_set is None else _fields_set)
        object.__setattr__(record, "_fields_set", names)
        return record

    @classmethod
    def model_validate(cls: type[_R], data: Any) -> _R:
        """`data` validated by pydantic (raises pydantic's ValidationError)."""
        from accel.user_input.schema import validate

        return validate(cls, data)

    @classmethod
    def model_json_schema(cls) -> dict[str, Any]:
        from accel.user_input.schema import schema_model

        return schema_model(cls).model_json_schema()

    @property
    def model_fields_set(self) -> set[str]:
        return set(self._fields_set)

    def model_copy(self: _R, *, update: dict[str, Any] | None = None) -> _R:
        """A copy with the fields in `update` replaced, not validated (as pydantic's)."""
        copy = type(self).__new__(type(self))
        object.__setattr__(copy, "__dict__", {**self.__dict__, **(update or {})})
        object.__setattr__(copy, "_fields_set", self._fields_set | frozenset(update or ()))
        return copy

    def model_dump(self, *, mode: str = "python", exclude_defaults: bool = False) -> dict[str, Any]:
        """The fields as a dict, records as dicts; mode="json" makes tuples lists (as
        pydantic's `model_dump`; it keeps an infinite float a float)."""
        fields = type(self)._fields
        return {name: _dumped(value, mode) for name, value in self.__dict__.items()
                if not exclude_defaults or value != fields[name].default_value()}  # fmt: skip

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: {name} cannot be set")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: {name} cannot be deleted")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        """Computed once: a record is immutable, and the memory model's memo keys hash a chip's
        records (each hashing its nested records) thousands of times per simulation."""
        try:
            return self._hash
        except AttributeError:
            value = hash(type(self)) + hash(tuple(self.__dict__.values()))
            object.__setattr__(self, "_hash", value)
            return value

    def __repr__(self) -> str:
        values = ", ".join(f"{name}={value!r}" for name, value in self.__dict__.items())
        return f"{type(self).__name__}({values})"

    def __getstate__(self) -> tuple[dict[str, Any], frozenset[str]]:
        return self.__dict__, self._fields_set

    def __setstate__(self, state: tuple[dict[str, Any], frozenset[str]]) -> None:
        object.__setattr__(self, "__dict__", dict(state[0]))
        object.__setattr__(self, "_fields_set", state[1])

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from accel.user_input.schema import core_schema

        return core_schema(cls, handler)


# Each record class built with no values, once (a record is immutable: copies may share it).
_DEFAULTS: dict[type, Record] = {}


def _dumped(value: Any, mode: str) -> Any:
    if isinstance(value, Record):
        return value.model_dump(mode=mode)
    if isinstance(value, tuple | list):
        items = [_dumped(item, mode) for item in value]
        return items if mode == "json" or isinstance(value, list) else tuple(items)
    return value
