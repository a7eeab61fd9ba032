"""YAML text as PyYAML's `safe_dump(data, sort_keys=False)` writes it, without PyYAML: the
chip.yaml every run writes beside its results, which a user reads back as a chip file.

A mapping of mappings, lists and scalars is written in block style when every key and scalar is
text PyYAML writes plain (or a bool/null word it single-quotes) and no line passes the column
where PyYAML folds; anything else goes to PyYAML itself. So a plain run never imports PyYAML,
and the file is byte for byte what PyYAML would write (tests/test_yaml_dump.py compares both
on every chip config and on random mappings).
"""

from __future__ import annotations

import re
from typing import Any

# A string PyYAML writes as it is (plain): printable ASCII without YAML indicators, no number,
# date, bool or null lookalike (those it quotes), no doubled or edge spaces.
_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.,+/()-]*(?: [A-Za-z0-9_.,+/()-]+)*")
_RESERVED_WORDS = frozenset(("yes", "no", "true", "false", "on", "off", "null", "y", "n"))
_YAML_WIDTH = 80  # PyYAML folds a plain scalar past this column


def dump_yaml_mapping(data: dict[str, Any]) -> str:
    """`yaml.safe_dump(data, sort_keys=False)`, written without PyYAML when `data` holds only
    mappings and scalars whose text is plain (the chip.yaml of a run); anything else goes to
    PyYAML."""
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
