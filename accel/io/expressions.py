"""Arithmetic in workload files: `"${int(64 * alpha)}"` evaluated over the network's parameters.

Parameterised networks (MobileNet's width multiplier α and input resolution) write sizes as small
expressions. They are evaluated by walking the Python AST with a closed set of operators and
functions, so a workload file can never run code.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from typing import Any

from accel.errors import InputError, closest

Number = int | float


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
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Number]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}


def evaluate(text: str, names: Mapping[str, Number], where: str) -> Number:
    """Evaluate one expression (without the `${ }`)."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        raise InputError(f"{where}: expression must be valid arithmetic, not {text!r}") from None
    return _eval(tree.body, names, where, text)


def _eval(node: ast.AST, names: Mapping[str, Number], where: str, text: str) -> Number:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return node.value
    if isinstance(node, ast.Name):
        if node.id not in names:
            hint = closest(node.id, names)
            raise InputError(f"{where}: {node.id!r} is not a parameter of this network{hint}")
        return names[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left = _eval(node.left, names, where, text)
        right = _eval(node.right, names, where, text)
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_eval(node.operand, names, where, text)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
    ):
        args = [_eval(arg, names, where, text) for arg in node.args]
        return _FUNCTIONS[node.func.id](*args)
    raise InputError(
        f"{where}: expression may use numbers, parameters, + - * / // % ** and "
        f"{', '.join(_FUNCTIONS)}, not {text!r}"
    )


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
