"""Small expressions in user files, evaluated safely.

Parameterised networks (MobileNet's width multiplier α and input resolution) write sizes as
`"${int(64 * alpha)}"`; sweep files write constraints such as `array.rows * array.cols <= 16384`
over dotted chip fields. Both are evaluated by walking the Python AST with a closed set of
operators and functions, so a user file can never run code, and within bounds, so a hostile
one can never hang or exhaust memory: at most `MAX_LENGTH` characters and `MAX_NODES` syntax
nodes, powers whose result stays below 2**`MAX_BITS`, every intermediate number finite and
below 2**`MAX_BITS`; a division by zero, an overflow or a wrong argument count is a one-line
error naming the expression.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from accel.errors import InputError, closest

Number = int | float
Value = int | float | str | bool | None
MAX_LENGTH = 2000  # characters in one expression
MAX_NODES = 400  # syntax nodes in one expression
MAX_BITS = 128  # every number an expression computes stays below 2**128 in magnitude


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round channels to a multiple of `divisor`, never more than 10% below `value`.

    The rule MobileNetV2/V3 use to keep channel counts hardware-friendly.
    """
    floor = divisor if min_value is None else min_value
    rounded = max(floor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


_FUNCTIONS: dict[str, Callable[..., Number]] = {
    "int": int,
    "round": round,
    "min": min,
    "max": max,
    "abs": abs,
    "ceil": math.ceil,
    "floor": math.floor,
    "make_divisible": make_divisible,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Number]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}


def evaluate(
    text: str,
    names: Mapping[str, Value],
    where: str,
    unknown: str = "a parameter of this network",
) -> Any:
    """Evaluate one expression (without the `${ }`); `unknown` says what a name should be."""
    shown = text if len(text) <= 80 else text[:77] + "..."
    if len(text) > MAX_LENGTH:
        raise InputError(f"{where}: expression must be at most {MAX_LENGTH} characters, not "
                         f"{len(text)} ({shown!r})")  # fmt: skip
    parsed = _parsed(text)
    if parsed is None:
        raise InputError(f"{where}: expression must be valid arithmetic, not {shown!r}")
    tree, nodes = parsed
    if nodes > MAX_NODES:
        raise InputError(f"{where}: expression must have at most {MAX_NODES} terms and "
                         f"operators, not {nodes} ({shown!r})")  # fmt: skip
    return _Evaluator(names, where, shown, unknown).eval(tree.body)


@lru_cache(maxsize=512)
def _parsed(text: str) -> tuple[ast.Expression, int] | None:
    """`text`'s syntax tree and its node count, or None when it is not Python; kept because a
    network repeats its expressions (MobileNetV2: 72, 16 of them distinct) and parsing is most
    of their cost. The evaluator only reads the tree."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return None
    return tree, sum(1 for _ in ast.walk(tree))


def evaluate_condition(text: str, names: Mapping[str, Value], where: str, unknown: str) -> bool:
    """Evaluate a comparison such as `array.rows * array.cols <= 16384` to True or False."""
    result = evaluate(text, names, where, unknown)
    if not isinstance(result, bool):
        raise InputError(f"{where}: condition must compare values (<, <=, ==, ...), not {text!r}")
    return result


class _Evaluator:
    """Walks an expression's AST; anything outside the allowed node kinds is an error."""

    def __init__(self, names: Mapping[str, Value], where: str, text: str, unknown: str) -> None:
        self.names, self.where, self.text, self.unknown = names, where, text, unknown

    def eval(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float | str | None):
            return self._bounded(node.value) if _is_number(node.value) else node.value
        if isinstance(node, ast.Name | ast.Attribute):
            return self._lookup(node)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left, right = self._number(node.left), self._number(node.right)
            if isinstance(node.op, ast.Pow):
                self._check_power(left, right)
            return self._apply(_BINARY[type(node.op)], left, right)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -self._number(node.operand)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return not self.eval(node.operand)
        if isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
            return self._compare(node)
        if isinstance(node, ast.BoolOp):
            values = (bool(self.eval(value)) for value in node.values)
            return all(values) if isinstance(node.op, ast.And) else any(values)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _FUNCTIONS
            and not node.keywords
        ):
            args = [self._number(arg) for arg in node.args]
            return self._apply(_FUNCTIONS[node.func.id], *args)
        raise self._error()

    def _apply(self, function: Callable[..., Any], *args: Number) -> Number:
        """`function(*args)`, its failures and out-of-range results as one-line errors."""
        try:
            result = function(*args)
        except ZeroDivisionError:
            raise InputError(f"{self.where}: expression divides by zero in {self.text!r}") from None
        except (OverflowError, ValueError, TypeError) as err:
            raise InputError(f"{self.where}: expression cannot be computed in {self.text!r} "
                             f"({err})") from None  # fmt: skip
        bounded: Number = self._bounded(result)
        return bounded

    def _bounded(self, value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            raise InputError(f"{self.where}: expression must stay finite, not {value} in "
                             f"{self.text!r}")  # fmt: skip
        if _is_number(value) and abs(value) >= 2.0**MAX_BITS:
            raise InputError(f"{self.where}: expression values must stay below 2**{MAX_BITS} "
                             f"in magnitude in {self.text!r}")  # fmt: skip
        return value

    def _check_power(self, base: Number, exponent: Number) -> None:
        """Refuse a power whose result would pass 2**MAX_BITS before computing it."""
        if abs(base) > 1 and exponent > 0 and exponent * math.log2(abs(base)) >= MAX_BITS:
            raise InputError(f"{self.where}: expression values must stay below 2**{MAX_BITS} "
                             f"in magnitude in {self.text!r}")  # fmt: skip
        if base == 0 and exponent < 0:
            raise InputError(f"{self.where}: expression divides by zero in {self.text!r}")

    def _lookup(self, node: ast.Name | ast.Attribute) -> Value:
        parts: list[str] = []
        current: ast.AST = node
        while isinstance(current, ast.Attribute):
            parts.append(current.attr)
            current = current.value
        if not isinstance(current, ast.Name):
            raise self._error()
        name = ".".join([current.id, *reversed(parts)])
        if name not in self.names:
            hint = closest(name, self.names) if len(name) <= 80 else ""
            shown = name if len(name) <= 80 else name[:77] + "..."
            raise InputError(f"{self.where}: {shown!r} is not {self.unknown}{hint}")
        return self.names[name]

    def _number(self, node: ast.AST) -> Number:
        value = self.eval(node)
        # Strings and None never enter arithmetic: "x" * 10**9 must not build a huge string.
        if not isinstance(value, int | float):
            raise InputError(
                f"{self.where}: arithmetic needs numbers, not {value!r} in {self.text!r}"
            )
        return value

    def _compare(self, node: ast.Compare) -> bool:
        left = self.eval(node.left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self.eval(comparator)
            try:
                holds = _COMPARE[type(op)](left, right)
            except TypeError:
                raise InputError(
                    f"{self.where}: cannot compare {left!r} with {right!r} in {self.text!r}"
                ) from None
            if not holds:
                return False
            left = right
        return True

    def _error(self) -> InputError:
        return InputError(
            f"{self.where}: expression may use numbers, parameters, + - * / // % **, comparisons, "
            f"and/or/not and {', '.join(_FUNCTIONS)}, not {self.text!r}"
        )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def substitute(value: Any, names: Mapping[str, Number], where: str) -> Any:
    """Replace every `"${...}"` string inside `value` (recursively) by its number."""
    if isinstance(value, str) and value.startswith("${") and value.endswith("}"):
        result = evaluate(value[2:-1], names, where)
        return int(result) if isinstance(result, float) and result.is_integer() else result
    if isinstance(value, list):
        return [substitute(item, names, where) for item in value]
    if isinstance(value, dict):
        return {key: substitute(item, names, where) for key, item in value.items()}
    return value
