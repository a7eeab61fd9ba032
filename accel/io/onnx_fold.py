"""Constant nodes folded with numpy: the shape arithmetic exporters emit before a Reshape
(Shape → Gather → Unsqueeze → Concat, a Cast, a Div by a constant) and Constant nodes.

Each rule computes what the operator's ONNX definition says, in the numpy steps onnx's reference
evaluator takes for it (so the folded values and their dtypes are the evaluator's,
`tests/test_onnx_fold.py` checks each rule against it). `fold` returns None for anything
outside the rules (another operator, an input type or attribute form they do not cover, a
value that does not evaluate, a result above the size limit): the importer then hands the node
to the reference evaluator, which needs the onnx package, and reports its errors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from accel.io.onnx_graph import tensor_array
from accel.io.onnx_proto import Node, attribute_value

Arrays = Sequence[np.ndarray | None]
# Constant folding evaluates shape arithmetic and small constants: 2**28 elements (1 GiB as
# float32) is far above any real one, and far below what would exhaust the machine.
MAX_FOLDED_ELEMENTS = 1 << 28
_Rule = Callable[[Node, list[np.ndarray], int], np.ndarray | None]

# TensorProto.DataType → numpy type, for Cast targets numpy holds exactly.
_CAST_TYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32,
               7: np.int64, 9: np.bool_, 10: np.float16, 11: np.float64, 12: np.uint32,
               13: np.uint64}  # fmt: skip


def fold(node: Node, arrays: Arrays, opset: int) -> list[np.ndarray] | None:
    """The outputs of `node` whose inputs are the constants `arrays` (None for an absent
    optional input), or None to leave the node to onnx's reference evaluator (and the
    importer's size check). `opset` is the model's default-domain operator set."""
    rule = _RULES.get(node.op_type)
    if rule is None or node.domain not in ("", "ai.onnx") or len(node.output) != 1:
        return None
    present = [array for array in arrays if array is not None]
    if len(present) != len(arrays):
        return None
    try:
        result = rule(node, present, opset)
    except (ValueError, TypeError, IndexError, KeyError, OverflowError):  # AxisError too
        return None  # the evaluator reports it in its own words
    if result is None or result.size > MAX_FOLDED_ELEMENTS:
        return None
    return [result]


def _attributes(node: Node) -> dict[str, object]:
    return {attribute.name: attribute_value(attribute) for attribute in node.attribute}


def _constant(node: Node, inputs: list[np.ndarray], opset: int) -> np.ndarray | None:
    attributes = _attributes(node)
    if inputs or len(attributes) != 1:
        return None
    name, value = next(iter(attributes.items()))
    if name == "value" and value is not None:
        return tensor_array(value)  # type: ignore[arg-type]
    types = {"value_float": np.float32, "value_floats": np.float32, "value_int": np.int64,
             "value_ints": np.int64}  # fmt: skip
    return np.array(value, types[name]) if name in types and opset >= 12 else None


def _identity(node: Node, inputs: list[np.ndarray], opset: int) -> np.ndarray:
    (data,) = inputs
    return data.copy()


def _shape(node: Node, inputs: list[np.ndarray], opset: int) -> np.ndarray | None:
    (data,) = inputs
    return None if node.attribute else np.array(data.shape, np.int64)


def _gather(node: Node, inputs: list[np.ndarray], opset: int) -> np.ndarray | None:
    data, indices = inputs
    if indices.dtype.kind not in "iu":
        return None
    axis = int(_attributes(node).get("axis", 0))  # type: ignore[call-overload]
    kept = data.size // data.shape[axis] if data.shape[axis] else 0
    if indices.size * kept > MAX_FOLDED_ELEMENTS:
        return None  # left to the importer's size check
    return np.asarray(np.take(data, indices, axis))


def _axes(node: Node, inputs: list[np.ndarray], opset: int) -> tuple[int, ...] | None:
    """Unsqueeze's and Squeeze's axes: an attribute before opset 13, an input from it."""
    if opset < 13:
        axes = _attributes(node).get("axes")
        return tuple(axes) if isinstance(axes, list) and axes and len(inputs) == 1 else None
    if len(inputs) != 2 or node.attribute:
        return None
    return tuple(int(axis) for axis in inputs[1].reshape(-1)) if inputs[1].ndim == 1 else None


def _unsqueeze(node: Node, inputs: list[np.ndarray], opset: int) -> np.ndarray | None:
    axes = _axes(node, inputs, opset)
    if axes is None:
        return None
    if opset >= 13:
        return np.expand_dims(inputs[0], axis=axes)
    result = inputs[0]
    for axis in axes:  # one at a time, in the attribute's order
        result = np.expand_dims(result, axis=axis)
    return result


def _squeeze(node: Node, inputs: list[np.ndarray], opset: int) -> np.ndarray | None:
    if len(inputs) == 1 and not node.attribute:
        return np.asarray(np.squeeze(inputs[0]))
    axes = _axes(node, inputs, opset)
    if axes is None:
        return None
    if opset >= 13:
        return np.asarray(np.squeeze(inputs[0], axis=axes))
    result = inputs[0]
    for axis in reversed(axes):
        result = np.squeeze(result, axis=axis)
    return np.asarray(result)


def _concat(node: Node, inputs: list[np.ndarray], opset: int) -> np.ndarray | None:
    axis = _attributes(node).get("axis")
    if not isinstance(axis, int) or not inputs or any(
            not -a.ndim <= axis < a.ndim for a in inputs):  # fmt: skip
        return None
    return np.concatenate(inputs, axis)


def _cast(node: Node, inputs: list[np.ndarray], opset: int) -> np.ndarray | None:
    (data,) = inputs
    attributes = _attributes(node)
    to = attributes.get("to")
    target = _CAST_TYPES.get(to) if isinstance(to, int) else None
    if target is None or set(attributes) != {"to"} or data.dtype.kind not in "biuf":
        return None
    return data.astype(target)


def _reshape(node: Node, inputs: list[np.ndarray], opset: int) -> np.ndarray | None:
    data, shape = inputs
    allow_zero = _attributes(node).get("allowzero", 0) == 1 and opset >= 14
    if opset < 5 or shape.dtype != np.int64 or shape.ndim != 1:
        return None
    target = shape.copy()
    if not allow_zero:
        zeros = np.flatnonzero(shape == 0)
        target[zeros] = np.array(data.shape)[zeros]
    return np.reshape(data, target)


def _binary(operation: str) -> _Rule:
    def rule(node: Node, inputs: list[np.ndarray], opset: int) -> np.ndarray | None:
        a, b = inputs
        if a.dtype != b.dtype or a.dtype.kind not in "iuf" or node.attribute:
            return None
        shape = np.broadcast_shapes(a.shape, b.shape)
        if int(np.prod(shape, dtype=np.int64)) > MAX_FOLDED_ELEMENTS:
            return None
        if operation == "Div" and a.dtype.kind in "iu":
            if not b.all():
                return None  # a division by zero: the evaluator's warning and result
            # integer division truncates toward zero
            quotient, remainder = np.floor_divide(a, b), np.remainder(a, b)
            result = quotient + ((remainder != 0) & ((a < 0) ^ (b < 0))).astype(quotient.dtype)
        else:
            function = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply,
                        "Div": np.divide}[operation]  # fmt: skip
            result = function(a, b)
        result = np.asarray(result)
        return result if result.dtype == a.dtype else None

    return rule


_RULES: dict[str, _Rule] = {
    "Constant": _constant, "Identity": _identity, "Shape": _shape, "Gather": _gather,
    "Unsqueeze": _unsqueeze, "Squeeze": _squeeze, "Concat": _concat, "Cast": _cast,
    "Reshape": _reshape, "Add": _binary("Add"), "Sub": _binary("Sub"), "Mul": _binary("Mul"),
    "Div": _binary("Div"),
}
