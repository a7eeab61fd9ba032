"""The 256-entry table an int8 activation layer is evaluated with, in the chip's requantization
mode (the lookup itself is `accel.functional.lookup.apply_lookup_table`).

`onnx` mode builds the table as onnxruntime does, `Q(f(DQ(code)))` with `f` the float32 function
onnxruntime's CPU kernels compute (`float_activation`, which the float path runs too); `tflite`
mode fills it with TFLite's reference integer kernels (ReLU/ReLU6 clamps, HARD_SWISH, h-sigmoid,
LOGISTIC, LEAKY_RELU, TANH) and refuses, as an `InputError` naming the layer, the quantizations
those kernels do not accept.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from accel.errors import InputError
from accel.functional import lookup, prelu_tanh, tflite_activations
from accel.functional.requant import QuantMode, activation_bounds
from accel.model.network import Layer
from accel.model.ops import Activation
from accel.model.quantized import QuantParams

IntArray = npt.NDArray[np.integer]
F32 = npt.NDArray[np.float32]

# The only int8 output quantization TFLite's LOGISTIC and SOFTMAX accept.
TFLITE_PROBABILITY = QuantParams(1.0 / 256.0, -128, "int8")


def float_activation(op: Activation) -> Callable[[F32], F32]:
    """The float32 function of an activation, as onnxruntime's float kernels compute it."""
    functions: dict[str, Callable[[F32], F32]] = {
        "relu": lambda v: np.maximum(v, np.float32(0.0)),
        "relu6": lambda v: np.clip(v, np.float32(0.0), np.float32(6.0)),
        "hswish": lookup.hard_swish_f32,
        "hsigmoid": lookup.hard_sigmoid_f32,
        "sigmoid": lookup.mlas_logistic,
        "leaky_relu": lambda v: lookup.leaky_relu_f32(v, op.alpha),
        "tanh": prelu_tanh.mlas_tanh,
        "hard_sigmoid": lambda v: lookup.hard_sigmoid_f32(v, op.alpha, op.beta),
    }
    return functions[op.function]


def activation_table(layer: Layer, x: QuantParams, y: QuantParams, mode: QuantMode) -> IntArray:
    """The 256-entry table an activation layer is evaluated with (raw byte → output code)."""
    op = layer.op
    assert isinstance(op, Activation)
    if mode == "tflite":
        return _tflite_table(layer, op, x, y)
    return lookup.build_lookup_table(
        float_activation(op), x.scale, x.zero_point, y.scale, y.zero_point, y.dtype
    )


def _tflite_table(layer: Layer, op: Activation, x: QuantParams, y: QuantParams) -> IntArray:
    codes = np.arange(256, dtype=np.uint8).view(np.dtype(x.dtype))
    if op.function in ("relu", "relu6"):
        if x != y:
            raise InputError(f"layer {layer.name!r}: a tflite {op.function} must keep its input "
                             f"quantization, not {x} -> {y}")  # fmt: skip
        lo, hi = activation_bounds(op.function, y.scale, y.zero_point, y.dtype, "tflite")
        return np.clip(codes, lo, hi).astype(x.dtype)
    if x.dtype != "int8" or y.dtype != "int8":
        raise InputError(f"layer {layer.name!r}: tflite {op.function} must be int8 to int8, "
                         f"not {x.dtype} -> {y.dtype}")  # fmt: skip
    if op.function == "tanh" and y != prelu_tanh.TFLITE_TANH_OUTPUT:
        raise InputError(f"layer {layer.name!r}: a tflite tanh output must be quantized as "
                         f"{prelu_tanh.TFLITE_TANH_OUTPUT}, not {y}")  # fmt: skip
    if op.function == "sigmoid" and y != TFLITE_PROBABILITY:
        raise InputError(f"layer {layer.name!r}: a tflite sigmoid output must be quantized as "
                         f"{TFLITE_PROBABILITY}, not {y}")  # fmt: skip
    kernels: dict[str, Callable[[], IntArray]] = {
        "hswish": lambda: tflite_activations.hard_swish_tflite(
            codes, x.scale, x.zero_point, y.scale, y.zero_point),
        "hsigmoid": lambda: tflite_activations.hard_sigmoid_tflite(
            codes, x.scale, x.zero_point, y.scale, y.zero_point),
        "sigmoid": lambda: tflite_activations.logistic_tflite(codes, x.scale, x.zero_point),
        "leaky_relu": lambda: tflite_activations.leaky_relu_tflite(
            codes, x.scale, x.zero_point, y.scale, y.zero_point, op.alpha),
        "tanh": lambda: prelu_tanh.tanh_tflite(codes, x.scale, x.zero_point),
    }  # fmt: skip
    if op.function not in kernels:
        raise InputError(f"layer {layer.name!r}: tflite mode has no {op.function} kernel, "
                         f"only {', '.join(['relu', 'relu6', *kernels])}")  # fmt: skip
    try:
        return kernels[op.function]()
    except ValueError as err:
        raise InputError(f"layer {layer.name!r}: {err}") from None
