"""Element-wise activations and softmax of a quantized network as TFLite operators.

RELU / RELU6 / HARD_SWISH / LOGISTIC / LEAKY_RELU / SOFTMAX are TFLite builtins. h-sigmoid is
not: it is written as the ADD (constant 3, fused RELU6) → MUL (constant 1/6) pair a converter
emits for relu6(x + 3) / 6, with the intermediate and the constants quantized as
`accel.functional.tflite_activations` assumes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from accel.functional import tflite_activations as ta
from accel.functional.vector import SOFTMAX_BETA
from accel.io.tflite_flatbuffer import schema
from accel.model.network import Layer
from accel.model.ops import Activation, Softmax

if TYPE_CHECKING:
    from accel.io.tflite_export import _Model

_BUILTIN = {"relu": "RELU", "relu6": "RELU6", "hswish": "HARD_SWISH", "sigmoid": "LOGISTIC"}


def tflite_unary(m: _Model, layer: Layer, x: int, y: int) -> bool:
    """Append `layer` (an activation or softmax) reading tensor x into y; False if TFLite has
    no form of it."""
    op = layer.op
    if isinstance(op, Softmax):
        options = schema().SoftmaxOptionsT()
        options.beta = float(m.qnet.attributes.get(layer.name, {}).get(SOFTMAX_BETA, 1.0))  # type: ignore[arg-type]
        m.b.operator("SOFTMAX", [x], [y], options)
        return True
    assert isinstance(op, Activation)
    if op.function in _BUILTIN:
        m.b.operator(_BUILTIN[op.function], [x], [y])
        return True
    if op.function == "hsigmoid":
        _hard_sigmoid(m, layer, x, y)
        return True
    if op.function == "leaky_relu":
        options = schema().LeakyReluOptionsT()
        options.alpha = op.alpha
        m.b.operator("LEAKY_RELU", [x], [y], options)
        return True
    return False


def _constant(m: _Model, name: str, scale: float) -> int:
    code = np.array([ta.CONSTANT_CODE], np.int8)
    return m.b.tensor(name, (1,), "int8", scale, ta.CONSTANT_ZERO_POINT, data=code)


def _hard_sigmoid(m: _Model, layer: Layer, x: int, y: int) -> None:
    shape = layer.output_shape
    nhwc = (m.batch, shape.height, shape.width, shape.channels)
    mid = m.b.tensor(f"{layer.name}.relu6", nhwc, "int8", ta.HSIGMOID_MID_SCALE,
                     ta.HSIGMOID_MID_ZERO_POINT)  # fmt: skip
    three = _constant(m, f"{layer.name}.three", ta.HSIGMOID_CONSTANTS["three"][1])
    sixth = _constant(m, f"{layer.name}.sixth", ta.HSIGMOID_CONSTANTS["sixth"][1])
    add = schema().AddOptionsT()
    add.fusedActivationFunction = 3  # RELU6
    m.b.operator("ADD", [x, three], [mid], add)
    m.b.operator("MUL", [mid, sixth], [y], schema().MulOptionsT())
