"""`LayerBuilder`, the state of one layer's TFLite model (activations in NHWC with the network's
quantization), and the element-wise activations and softmax of a quantized network as TFLite
operators.

RELU / RELU6 / HARD_SWISH / LOGISTIC / TANH / LEAKY_RELU / SOFTMAX are TFLite builtins. h-sigmoid is
not: it is written as the ADD (constant 3, fused RELU6) → MUL (constant 1/6) pair a converter
emits for relu6(x + 3) / 6, with the intermediate and the constants quantized as
`accel.functional.tflite_activations` assumes.
"""

from __future__ import annotations

import numpy as np

from accel.functional import tflite_activations as ta
from accel.functional.geometry import Pads
from accel.io.tflite_flatbuffer import TfliteBuilder, schema
from accel.model.network import Layer
from accel.model.ops import Activation, Softmax
from accel.model.quantized import QuantizedNetwork, QuantParams


class LayerBuilder:
    """Builder state for one layer: activations in NHWC, with the network's quantization."""

    def __init__(self, qnet: QuantizedNetwork, batch: int) -> None:
        self.qnet, self.batch, self.b = qnet, batch, TfliteBuilder()

    def activation(
        self, name: str, shape: tuple[int, ...], params: QuantParams | None = None
    ) -> int:
        p = params or self.qnet.activations[name]
        return self.b.tensor(name, shape, p.dtype, p.scale, p.zero_point)

    def nhwc(self, name: str, c: int, h: int, w: int) -> int:
        return self.activation(name, (self.batch, h, w, c))

    def pad(self, x: int, source: str, shape: tuple[int, int, int, int], pads: Pads,
            fill: int | None) -> int:  # fmt: skip
        """PAD (fill = zero point) or PADV2 (fill given) of tensor `source` before a VALID op."""
        top, bottom, left, right = pads
        amounts = np.array([[0, 0], [top, bottom], [left, right], [0, 0]], np.int32)
        paddings = self.b.tensor(f"{source}.paddings", (4, 2), "int32", data=amounts)
        n, h, w, c = shape
        p = self.qnet.activations[source]
        out = self.activation(f"{source}.padded", (n, h + top + bottom, w + left + right, c), p)
        if fill is None:
            self.b.operator("PAD", [x, paddings], [out], schema().PadOptionsT())
        else:
            value = self.b.tensor(f"{source}.fill", (1,), p.dtype, p.scale, p.zero_point,
                                  data=np.array([fill], p.dtype))  # fmt: skip
            self.b.operator("PADV2", [x, paddings, value], [out], schema().PadV2OptionsT())
        return out


_BUILTIN = {"relu": "RELU", "relu6": "RELU6", "hswish": "HARD_SWISH", "sigmoid": "LOGISTIC",
            "tanh": "TANH"}


def tflite_unary(m: LayerBuilder, layer: Layer, x: int, y: int) -> bool:
    """Append `layer` (an activation or softmax) reading tensor x into y; False if TFLite has
    no form of it."""
    op = layer.op
    if isinstance(op, Softmax):
        options = schema().SoftmaxOptionsT()
        options.beta = float(op.beta)
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


def _constant(m: LayerBuilder, name: str, scale: float) -> int:
    code = np.array([ta.CONSTANT_CODE], np.int8)
    return m.b.tensor(name, (1,), "int8", scale, ta.CONSTANT_ZERO_POINT, data=code)


def _hard_sigmoid(m: LayerBuilder, layer: Layer, x: int, y: int) -> None:
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
