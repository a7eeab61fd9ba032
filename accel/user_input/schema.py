"""pydantic's view of a record: the model that validates input a record cannot take as it is.

Imported only when such input arrives (a YAML chip or workload, a value needing conversion, an
error to word): `schema_model(Record)` builds, once per class, a frozen pydantic model with the
record's own fields, constraints, descriptions and validators, and a record class used as a
field's type validates through its model and becomes the record (`core_schema`), so a nested
error keeps pydantic's location (`sram.ifmap.size_kib`).
"""

from __future__ import annotations

from typing import Any, TypeVar

import pydantic
from pydantic_core import core_schema as cs

# A record class: accel.user_input.record imports this module when it needs pydantic, so this
# module reads a record's class attributes without importing it.
_R = TypeVar("_R")


_MODELS: dict[type[Any], type[pydantic.BaseModel]] = {}


def schema_model(record: type[Any]) -> type[pydantic.BaseModel]:
    """The frozen pydantic model that validates input for `record` (built once per class)."""
    if record not in _MODELS:
        _MODELS[record] = _build(record)
    return _MODELS[record]


def _build(record: type[Any]) -> type[pydantic.BaseModel]:
    definitions: dict[str, Any] = {}
    for name, spec in record.model_fields.items():
        options: dict[str, Any] = dict(spec.rules)
        if spec.description is not None:
            options["description"] = spec.description
        if spec.default_factory is not None:
            options["default_factory"] = spec.default_factory
        elif not spec.is_required():
            options["default"] = spec.default
        definitions[name] = (spec.annotation, pydantic.Field(**options))
    validators: dict[str, Any] = {}
    for attribute, check in record._checks.items():
        if check.mode == "model":
            validators[attribute] = pydantic.model_validator(mode="after")(
                _model_check(record, check.raw())
            )
        else:
            mode: Any = check.mode
            decorate: Any = pydantic.field_validator(*check.fields, mode=mode)
            validators[attribute] = decorate(classmethod(check.raw()))
    model: type[pydantic.BaseModel] = pydantic.create_model(
        record.__name__,
        __config__=pydantic.ConfigDict(frozen=True, extra="forbid"),
        __doc__=record.__doc__,
        __module__=record.__module__,
        __validators__=validators,
        **definitions,
    )
    return model


def _model_check(record: type[Any], check: Any) -> Any:
    """A pydantic model validator running `check` on the record the model's values make."""

    def run(model: Any) -> Any:
        check(_record(record, model))
        return model

    return run


def _record(record: type[_R], model: pydantic.BaseModel) -> _R:
    values = {name: getattr(model, name) for name in record.model_fields}  # type: ignore[attr-defined]
    return record.model_construct(model.model_fields_set, **values)  # type: ignore[attr-defined, no-any-return]


def validate(record: type[_R], data: Any) -> _R:
    """`data` validated by pydantic as a `record` (raises pydantic's ValidationError)."""
    if type(data) is record:
        return data
    return _record(record, schema_model(record).model_validate(data))


def core_schema(record: type[Any], handler: Any) -> Any:
    """pydantic's schema of a field whose type is `record`: a record passes as it is, anything
    else is validated by the record's model and made the record."""
    inner = handler(schema_model(record))

    def to_record(value: Any, validate_inner: Any) -> Any:
        if type(value) is record:
            return value
        return _record(record, validate_inner(value))

    return cs.no_info_wrap_validator_function(to_record, inner)
