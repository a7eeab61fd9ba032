"""Constant folding with numpy (accel.io.onnx_fold) gives onnx's reference evaluator's values
and dtypes, and leaves to the evaluator every node outside its rules."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from onnx import helper, numpy_helper

from accel.io.onnx_fold import fold
from accel.io.onnx_graph import evaluate_node
from accel.io.onnx_proto import Node, OperatorSetId
from accel.io.onnx_wire import decode

I64, F32 = np.int64, np.float32


def _node(op: str, inputs: int, **attributes: Any) -> Node:
    names = [f"in{i}" for i in range(inputs)]
    node: Node = decode(Node, helper.make_node(op, names, ["out"], **attributes)
                        .SerializeToString())  # fmt: skip
    return node


def _reference(node: Node, arrays: list[np.ndarray], opset: int) -> np.ndarray:
    (result,) = evaluate_node(node, arrays, [OperatorSetId(domain="", version=opset)])
    return result


# (op, attributes, inputs, opset): each folded by numpy exactly as the evaluator folds it.
FOLDED = [
    ("Constant", {"value": numpy_helper.from_array(np.arange(6, dtype=F32).reshape(2, 3))}, [],
     13),
    ("Constant", {"value": numpy_helper.from_array(np.array(7, I64))}, [], 11),
    ("Constant", {"value_float": 0.1}, [], 13), ("Constant", {"value_floats": [1.0, 2.5]}, [], 13),
    ("Constant", {"value_int": -3}, [], 13), ("Constant", {"value_ints": [1, -1]}, [], 13),
    ("Identity", {}, [np.array([1, 2], I64)], 13),
    ("Shape", {}, [np.zeros((2, 3, 4), F32)], 13),
    ("Gather", {}, [np.array([1, 48, 28, 28], I64), np.array(1, I64)], 13),
    ("Gather", {}, [np.array([1, 48, 28, 28], I64), np.array([-1, 0], I64)], 13),
    ("Gather", {"axis": 1}, [np.arange(12, dtype=F32).reshape(3, 4), np.array([[3], [0]], I64)],
     13),
    ("Gather", {"axis": -1}, [np.arange(6, dtype=I64).reshape(2, 3), np.array(2, np.int32)], 13),
    ("Unsqueeze", {"axes": [0]}, [np.array(5, I64)], 11),
    ("Unsqueeze", {"axes": [0, 2]}, [np.array([5, 6], I64)], 11),
    ("Unsqueeze", {"axes": [-1]}, [np.array([5, 6], I64)], 12),
    ("Unsqueeze", {}, [np.array(5, I64), np.array([0], I64)], 13),
    ("Unsqueeze", {}, [np.array([5, 6], I64), np.array([0, -1], I64)], 13),
    ("Squeeze", {}, [np.zeros((1, 3, 1), F32)], 11),
    ("Squeeze", {"axes": [0, 2]}, [np.zeros((1, 3, 1), F32)], 11),
    ("Squeeze", {}, [np.zeros((1, 3, 1), F32), np.array([-1], I64)], 13),
    ("Squeeze", {}, [np.zeros((1, 3, 1), F32)], 13),
    ("Concat", {"axis": 0}, [np.array([1], I64), np.array([-1, 7], I64)], 13),
    ("Concat", {"axis": -1}, [np.ones((2, 1), F32), np.zeros((2, 3), F32)], 13),
    ("Cast", {"to": 1}, [np.array([3, -4], I64)], 13),
    ("Cast", {"to": 7}, [np.array([2.7, -2.7, 0.5], F32)], 13),
    ("Cast", {"to": 9}, [np.array([0.0, 2.0], F32)], 13),
    ("Cast", {"to": 10}, [np.array([1e-3, 70000.0], F32)], 13),
    ("Reshape", {}, [np.arange(24, dtype=F32).reshape(2, 3, 4), np.array([0, -1], I64)], 13),
    ("Reshape", {"allowzero": 0}, [np.arange(6, dtype=I64), np.array([3, 2], I64)], 14),
    ("Reshape", {"allowzero": 1}, [np.zeros((0, 3), F32), np.array([3, 0], I64)], 14),
    ("Add", {}, [np.array([[1], [2]], I64), np.array([10, 20, 30], I64)], 13),
    ("Sub", {}, [np.array(5, I64), np.array(7, I64)], 13),
    ("Mul", {}, [np.array([1.5, -2.0], F32), np.array(3.0, F32)], 13),
    ("Div", {}, [np.array([7, -7, 7, -7, 6], I64), np.array([2, 2, -2, -2, 3], I64)], 13),
    ("Div", {}, [np.array([224], I64), np.array(2, I64)], 13),
    ("Div", {}, [np.array([1.0, -1.0, 0.0], F32), np.array([0.0, 3.0, 0.0], F32)], 13),
    ("Div", {}, [np.array([-128, 127], np.int8), np.array([3, -3], np.int8)], 13),
]  # fmt: skip


@pytest.mark.filterwarnings("ignore:(divide by zero|invalid value|overflow):RuntimeWarning")
@pytest.mark.parametrize(("op", "attributes", "inputs", "opset"), FOLDED,
                         ids=[f"{case[0]}-{i}" for i, case in enumerate(FOLDED)])  # fmt: skip
def test_numpy_folds_as_the_reference_evaluator(op: str, attributes: dict[str, Any],
                                                inputs: list[np.ndarray], opset: int) -> None:
    node = _node(op, len(inputs), **attributes)
    folded = fold(node, inputs, opset)
    assert folded is not None
    expected = _reference(node, inputs, opset)
    assert (folded[0].dtype, folded[0].shape) == (expected.dtype, expected.shape)
    assert folded[0].tobytes() == expected.tobytes()


# Nodes numpy leaves to the evaluator: other operators, inputs, attributes or results.
LEFT = [
    ("Range", {}, [np.array(0, I64), np.array(4, I64), np.array(1, I64)], 13),
    ("Slice", {}, [np.arange(4, dtype=I64), np.array([1], I64), np.array([3], I64)], 13),
    ("Constant", {"value_int": 3}, [], 11),  # value_int arrived in opset 12
    ("Constant", {"value_string": "x"}, [], 13),
    ("Shape", {"start": 1}, [np.zeros((2, 3), F32)], 15),
    ("Gather", {}, [np.arange(3, dtype=I64), np.array(5, I64)], 13),  # out of range
    ("Gather", {}, [np.arange(3, dtype=I64), np.array(1.0, F32)], 13),
    ("Unsqueeze", {}, [np.array(5, I64)], 13),  # axes became an input in opset 13
    ("Concat", {"axis": 0}, [np.ones((1, 1), I64), np.ones(1, I64)], 13),  # ranks differ
    ("Cast", {"to": 8}, [np.array([1], I64)], 13),  # to strings
    ("Cast", {"to": 16}, [np.array([1.0], F32)], 13),  # to bfloat16
    ("Add", {}, [np.array([1], I64), np.array([1], np.int32)], 13),  # types differ
    ("Add", {}, [np.array([True]), np.array([False])], 13),
    ("Div", {}, [np.array([1], I64), np.array([0], I64)], 13),  # integer division by zero
    ("Reshape", {}, [np.arange(6, dtype=I64), np.array([4, -1], I64)], 13),
    ("Mul", {}, [np.zeros((1 << 15, 1), F32), np.zeros((1, 1 << 14), F32)], 13),  # 2**29
]  # fmt: skip


@pytest.mark.parametrize(("op", "attributes", "inputs", "opset"), LEFT,
                         ids=[f"{case[0]}-{i}" for i, case in enumerate(LEFT)])  # fmt: skip
def test_nodes_outside_the_rules_are_left_to_the_evaluator(
        op: str, attributes: dict[str, Any], inputs: list[np.ndarray], opset: int) -> None:
    assert fold(_node(op, len(inputs), **attributes), inputs, opset) is None


def test_an_absent_optional_input_or_another_domain_is_left_to_the_evaluator() -> None:
    assert fold(_node("Squeeze", 2), [np.zeros((1, 2), F32), None], 13) is None
    node = decode(Node, helper.make_node("Identity", ["a"], ["b"], domain="com.microsoft")
                  .SerializeToString())  # fmt: skip
    assert fold(node, [np.zeros(2, F32)], 13) is None


@settings(max_examples=60, deadline=None)
@given(op=st.sampled_from(["Add", "Sub", "Mul", "Div"]),
       dtype=st.sampled_from([np.int64, np.int32, np.float32]),
       shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3),
       data=st.data())  # fmt: skip
def test_arithmetic_on_random_constants_folds_as_the_evaluator(
        op: str, dtype: type, shapes: Any, data: st.DataObject) -> None:  # fmt: skip
    elements = (st.integers(-1000, 1000) if dtype != np.float32
                else st.floats(-1e3, 1e3, width=32))  # fmt: skip
    a, b = (data.draw(hnp.arrays(dtype, shape, elements=elements))
            for shape in shapes.input_shapes)  # fmt: skip
    if op == "Div":
        b = np.where(b == 0, dtype(7), b).astype(dtype)
    node = _node(op, 2)
    folded = fold(node, [a, b], 13)
    assert folded is not None
    expected = _reference(node, [a, b], 13)
    assert (folded[0].dtype, folded[0].shape, folded[0].tobytes()) == (
        expected.dtype, expected.shape, expected.tobytes())
