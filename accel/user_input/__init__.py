"""The boundary where what a user writes becomes trusted data: reading files, parsing YAML,
turning validation failures into one-line messages.

Every file a user writes (chip, workload, sweep, SCALE-Sim config) is read by `read_user_file`
and every YAML document parsed by `parse_yaml` (through `load_yaml_mapping`), and every pydantic
validation goes through `validate_model` (or `format_validation_error`), so all of them fail the
same way: one line naming the file, the field path, the rule and the offending value, with a
suggestion for a misspelt field. It sits on the ground floor beside `accel.errors`, below the
chip config that uses it. The YAML accel writes back (a run's chip.yaml) is
`accel.user_input.yaml_dump`.
"""

from __future__ import annotations

import sys
import types
import typing
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from accel.errors import InputError, closest, first_line
from accel.user_input.trusted import construct

if TYPE_CHECKING:
    from pydantic import ValidationError

Model = TypeVar("Model")


MAX_YAML_BYTES = 4 << 20  # a chip, workload or sweep file is kilobytes; refuse megabytes
MAX_YAML_DEPTH = 50  # nesting of mappings and lists
MAX_YAML_VALUES = 200_000  # values after expanding aliases (a "billion laughs" file has 10**9)


def read_user_file(path: str | Path, what: str, limit: int = MAX_YAML_BYTES) -> str:
    """The text of a regular UTF-8 file of at most `limit` bytes, or a one-line error."""
    file = Path(path)
    if not file.exists():
        raise InputError(f"{what} file {str(path)!r} does not exist")
    if not file.is_file():
        raise InputError(f"{what} file {str(path)!r} must be a regular file, not a directory, "
                         "FIFO or device")  # fmt: skip
    try:
        size = file.stat().st_size
        if size > limit:
            raise InputError(f"{what} file {str(path)!r} must be at most {limit >> 20} MiB, "
                             f"not {size / (1 << 20):.1f} MiB")  # fmt: skip
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise InputError(f"{path}: must be UTF-8 text ({err.reason} at byte {err.start})") from None
    except OSError as err:
        raise InputError(f"{path}: cannot be read ({err.strerror or err})") from None


@cache
def _strict_loader() -> type[Any]:
    """PyYAML's safe loader that refuses duplicate keys and deep nesting (built on first use:
    a run of built-in networks on the default chip reads no YAML and never imports PyYAML)."""
    import yaml

    class StrictLoader(yaml.SafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if isinstance(key, typing.Hashable) and key in seen:
                    mark = key_node.start_mark
                    raise InputError(f"line {mark.line + 1}: duplicate key {key!r} (each key "
                                     "may appear once in a mapping)")  # fmt: skip
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    return StrictLoader


def _expanded_size(node: Any, sizes: dict[int, int], depth: int = 0) -> int:
    """How many values `node` stands for once every alias is expanded (shared nodes counted
    each time they are referred to), refusing nesting deeper than MAX_YAML_DEPTH."""
    import yaml

    if depth > MAX_YAML_DEPTH:
        raise InputError(f"line {node.start_mark.line + 1}: YAML must nest at most "
                         f"{MAX_YAML_DEPTH} levels deep")  # fmt: skip
    if id(node) in sizes:
        return sizes[id(node)]
    if isinstance(node, yaml.MappingNode):
        children = [child for pair in node.value for child in pair]
    elif isinstance(node, yaml.SequenceNode):
        children = list(node.value)
    else:
        children = []
    total = 1
    for child in children:
        total += _expanded_size(child, sizes, depth + 1)
        if total > MAX_YAML_VALUES:
            raise InputError(f"line {node.start_mark.line + 1}: YAML must expand to at most "
                             f"{MAX_YAML_VALUES:,} values (aliases included)")  # fmt: skip
    sizes[id(node)] = total
    return total


def parse_yaml(text: str, where: str) -> Any:
    """Parse YAML text safely: no duplicate keys, bounded nesting and alias expansion."""
    import yaml

    loader = _strict_loader()(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node, {})
        return loader.construct_document(node)
    except InputError as err:
        raise InputError(f"{where}: {err}") from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        place = f"{where}:{mark.line + 1}:{mark.column + 1}" if mark else where
        raise InputError(f"{place}: invalid YAML: {err.problem}") from None
    except yaml.YAMLError as err:
        raise InputError(f"{where}: invalid YAML: {str(err).splitlines()[0]}") from None
    except RecursionError:
        raise InputError(f"{where}: YAML must nest at most {MAX_YAML_DEPTH} levels deep") from None
    finally:
        loader.dispose()


def load_yaml_mapping(path: str | Path, what: str) -> dict[str, Any]:
    """Parse a YAML file whose top level must be a mapping."""
    data = parse_yaml(read_user_file(path, what), str(path))
    if not isinstance(data, dict):
        raise InputError(f"{path}: the top level must be a mapping, not {type(data).__name__}")
    return data


def validate_model(model: type[Model], data: Any, source: str) -> Model:
    """`model` validated from `data`; a failure is one `InputError` line naming `source`.
    Input that needs no conversion is taken without building pydantic's validators
    (`accel.user_input.trusted`); anything else, and every error, is pydantic's."""
    built = construct(model, data)
    if built is not None:
        return built  # type: ignore[no-any-return]
    from pydantic import ValidationError

    try:
        return model.model_validate(data)  # type: ignore[attr-defined, no-any-return]
    except ValidationError as err:
        lines = validation_messages(err, source, model)
        raise InputError(format_validation_error(err, source, model), lines) from None


def format_validation_error(err: ValidationError, source: str, model: type[Any]) -> str:
    """One line for the first error pydantic found (and how many more there are)."""
    lines = validation_messages(err, source, model)
    more = len(lines) - 1
    suffix = f" (+{more} more error{'s' if more > 1 else ''})" if more else ""
    return f"{lines[0]}{suffix}"


def describe(err: Exception) -> str:
    """A third-party or validation exception as a short phrase: a pydantic error's first
    field, rule and value ("stride must be > 0, not 0"), else the exception's first line."""
    if "pydantic" in sys.modules:  # else no pydantic error was ever raised
        from pydantic import ValidationError

        if isinstance(err, ValidationError):
            return _message(err.errors()[0], object) if err.errors() else "invalid values"
    return f"{type(err).__name__}: {first_line(err)}"


def validation_messages(
    err: ValidationError, source: str, model: type[Any]
) -> tuple[str, ...]:
    """One line per error pydantic found, a misspelt field first (it explains the others:
    a misspelling shows up as both an unknown and a missing field)."""
    errors = sorted(err.errors(), key=lambda e: e["type"] != "extra_forbidden")
    return tuple(f"{source}: {_message(error, model)}" for error in errors)


def _message(error: Any, model: type[Any]) -> str:
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


def _field_names(model: type[Any], loc: list[str]) -> list[str]:
    """Field names of the (nested) model that `loc` points into."""
    current: Any = model
    for part in loc:
        field = current.model_fields.get(part) if _is_model(current) else None
        if field is None:
            return []
        current = _unwrap_model(field.annotation)
    return list(current.model_fields) if _is_model(current) else []


def _is_model(obj: Any) -> bool:
    """A record or a pydantic model: a class with `model_fields`."""
    return isinstance(obj, type) and hasattr(obj, "model_fields")


def _unwrap_model(annotation: Any) -> Any:
    """The model inside `X | None` or `list[X]`, else the annotation itself."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list, tuple):
        for arg in typing.get_args(annotation):
            if _is_model(arg):
                return arg
    return annotation
