"""Layers onnxruntime leaves in float32 between DequantizeLinear and QuantizeLinear.

When ORT cannot fuse a QDQ group into an integer kernel (see `accel.functional.ort_graph`), it
dequantizes the inputs (`f32(f32(q - zp) · s)`), runs the float op, and quantizes the result
(`rne(f32(y / s)) + zp`, saturated). For element-wise ops this is reproduced exactly here: one
float32 add or multiply per element (numpy rounds each to nearest even, as SSE/AVX do, with no
fused multiply-add to merge roundings), with the usual broadcasting. Max pooling and the ops that
only move codes (flatten, reshape, transpose, channel shuffle and slice) commute with
dequantization, and activations and concat already are tables of Q(f(DQ(code))), so the integer
engine's result is exactly theirs. Convolutions, fully connected layers and average pools
depend on MLAS's summation order, which `accel.functional.float_windows` reproduces. Anything
else (a float softmax, a Gemm with alpha or beta, a MatMul) is not: `float_function` returns
None, the engine computes the integer kernel, and the check reports where the two differ.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import numpy.typing as npt

from accel.functional.float_windows import array_layer, pool_layer
from accel.functional.qmodel import QuantizedWeights, QuantParams
from accel.functional.requant import dequantize_linear, quantize_linear
from accel.model.network import Layer
from accel.model.ops import Add, BatchNorm, Mul

IntArray = npt.NDArray[np.integer]
F32 = npt.NDArray[np.float32]
FLOAT_OP = "onnxruntime_float_op"  # attribute naming the float op ORT computes a layer with
FloatLayer = Callable[[Sequence[IntArray], Sequence[QuantParams], QuantParams], IntArray]

# Kinds whose integer form is, bit for bit, their DequantizeLinear → float op → QuantizeLinear:
# tables of Q(f(DQ(code))), and ops that move codes (max pooling commutes with dequantization;
# the importers give these layers their input's quantization).
EXACT_IN_INTEGER = frozenset((
    "activation", "concat", "clip", "maxpool", "flatten", "reshape", "transpose",
    "channel_shuffle", "channel_slice",
))  # fmt: skip


def dequantize(x: IntArray, params: QuantParams) -> F32:
    return dequantize_linear(x, params.scale, params.zero_point)


def quantize(y: F32, params: QuantParams) -> IntArray:
    return quantize_linear(y, params.scale, params.zero_point, params.dtype)


def _binary(operation: Callable[[F32, F32], F32]) -> FloatLayer:
    def run(inputs: Sequence[IntArray], params: Sequence[QuantParams], y: QuantParams) -> IntArray:
        total = dequantize(inputs[0], params[0])
        for x, p in zip(inputs[1:], params[1:], strict=True):
            total = operation(total, dequantize(x, p)).astype(np.float32)
        return quantize(total, y)

    return run


def _with_constant(attributes: Mapping[str, object]) -> FloatLayer:
    """A DQ(x) op DQ(constant) → Q group (a QDQ Add/Mul by a quantized constant)."""
    constant = np.asarray(attributes["constant"])
    constant_quant = attributes["constant_quant"]
    assert isinstance(constant_quant, QuantParams)
    first = bool(attributes.get("constant_first", False))

    def run(inputs: Sequence[IntArray], params: Sequence[QuantParams], y: QuantParams) -> IntArray:
        x = dequantize(inputs[0], params[0])
        c = _per_channel(dequantize(constant, constant_quant), x.ndim)
        a, b = (c, x) if first else (x, c)
        result = a + b if attributes["operation"] == "add" else a * b
        return quantize(np.broadcast_to(result, x.shape).astype(np.float32), y)

    return run


def _per_channel(values: F32, ndim: int) -> F32:
    flat = values.reshape(-1)
    return flat.reshape((1, flat.size) + (1,) * (ndim - 2)) if flat.size > 1 else flat.reshape(())


def float_function(
    layer: Layer, attributes: Mapping[str, object], weights: QuantizedWeights | None = None
) -> FloatLayer | None:
    """The exact float32 form of `layer` when ORT runs it unfused, or None if accel does not
    reproduce that float op (the engine then uses the integer kernel)."""
    op = layer.op
    op_name = str(attributes.get(FLOAT_OP, ""))
    if layer.uses_array:
        return array_layer(layer, op_name, attributes, weights)
    if layer.kind in ("avgpool", "global_avgpool"):
        return pool_layer(layer, op_name)
    if isinstance(op, Add):
        return _binary(np.add)
    if isinstance(op, Mul):
        return _binary(np.multiply)
    if isinstance(op, BatchNorm) and "operation" in attributes:
        return _with_constant(attributes)
    return None



def reproduced(
    layer: Layer, attributes: Mapping[str, object], weights: QuantizedWeights | None = None
) -> bool:
    """Whether the engine gives exactly ORT's float32 result for `layer` left unfused."""
    exact = layer.kind in EXACT_IN_INTEGER
    return exact or float_function(layer, attributes, weights) is not None
