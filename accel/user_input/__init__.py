"""The boundary where what a user writes becomes trusted data: reading files, parsing YAML,
turning validation failures into one-line messages.

Every file a user writes (chip, workload, sweep, SCALE-Sim config) is read by `read_user_file`
and every YAML document parsed by `parse_yaml` (through `load_yaml_mapping`), and every pydantic
validation goes through `validate_model` (or `format_validation_error`), so all of them fail the
same way: one line naming the file, the field path, the rule and the offending value, with a
suggestion for a misspelt field. It sits on the ground floor beside `accel.errors`, below the
chip config that uses it.
"""

from __future__ import annotations

import re
import types
import typing
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from accel.errors import InputError, closest, first_line
from accel.user_input.trusted import construct

Model = TypeVar("Model", bound=BaseModel)


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


def describe(err: Exception) -> str:
    """A third-party or validation exception as a short phrase: a pydantic error's first
    field, rule and value ("stride must be > 0, not 0"), else the exception's first line."""
    if isinstance(err, ValidationError):
        return _message(err.errors()[0], BaseModel) if err.errors() else "invalid values"
    return f"{type(err).__name__}: {first_line(err)}"


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


# A string PyYAML writes as it is (plain): printable ASCII without YAML indicators, no number,
# date, bool or null lookalike (those it quotes), no doubled or edge spaces.
_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.,+/()-]*(?: [A-Za-z0-9_.,+/()-]+)*")
_RESERVED_WORDS = frozenset(("yes", "no", "true", "false", "on", "off", "null", "y", "n"))
_YAML_WIDTH = 80  # PyYAML folds a plain scalar past this column


def dump_yaml_mapping(data: dict[str, Any]) -> str:
    """`yaml.safe_dump(data, sort_keys=False)`, written without PyYAML when `data` holds only
    mappings and scalars whose text is plain (the chip.yaml of a run); anything else goes to
    PyYAML. tests/test_user_input.py compares both on every chip config."""
    lines: list[str] = []
    if not data or not _dump_block(data, 0, lines):
        import yaml

        return str(yaml.safe_dump(data, sort_keys=False))
    return "".join(line + "\n" for line in lines)


def _dump_block(data: dict[str, Any], indent: int, lines: list[str]) -> bool:
    for key, value in data.items():
        name = _scalar(key)
        if name is None:
            return False
        head = " " * indent + name + ":"
        if len(head) >= _YAML_WIDTH:
            return False
        if isinstance(value, dict) and value:
            lines.append(head)
            if not _dump_block(value, indent + 2, lines):
                return False
            continue
        if isinstance(value, list | tuple) and value:
            lines.append(head)
            if not _dump_items(value, indent, lines):
                return False
            continue
        text = _empty(value) if isinstance(value, dict | list | tuple) else _scalar(value)
        if text is None or len(head) + 1 + len(text) > _YAML_WIDTH:
            return False
        lines.append(f"{head} {text}")
    return True


def _dump_items(items: list[Any] | tuple[Any, ...], indent: int, lines: list[str]) -> bool:
    """A sequence of scalars, one `- item` line each at the key's indent (PyYAML's block style)."""
    for item in items:
        text = _scalar(item)
        if text is None or indent + 2 + len(text) > _YAML_WIDTH:
            return False
        lines.append(" " * indent + "- " + text)
    return True


def _empty(value: dict[Any, Any] | list[Any] | tuple[Any, ...]) -> str:
    return "{}" if isinstance(value, dict) else "[]"


# The words PyYAML's resolver reads as a bool or null, which it writes single-quoted.
_QUOTED_WORDS = frozenset(
    variant for word in ("yes", "no", "true", "false", "on", "off", "null")
    for variant in (word, word.capitalize(), word.upper())
)


def _scalar(value: Any) -> str | None:
    """PyYAML's text of a scalar, or None where PyYAML might write it otherwise."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return ".nan"
        if value in (float("inf"), float("-inf")):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value).lower()
        return text.replace("e", ".0e", 1) if "." not in text and "e" in text else text
    if not isinstance(value, str) or not _PLAIN.fullmatch(value):
        return None
    if value[0].isdigit() and " " not in value:  # a number or a date, maybe
        return None
    if value in _QUOTED_WORDS:
        return f"'{value}'"
    return None if value.lower() in _RESERVED_WORDS else value
