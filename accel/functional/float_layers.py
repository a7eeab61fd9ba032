"""Layers onnxruntime computes in float32: unfused QDQ groups and float tensors between them.

When ORT cannot fuse a QDQ group into an integer kernel (see `accel.check.ort_graph`), it
dequantizes the inputs (`f32(f32(q - zp) · s)`), runs the float op, and quantizes the result
(`rne(f32(y / s)) + zp`, saturated). A quantizer may also leave a tensor unquantized between two
such ops (a HardSwish feeding an AveragePool, for instance): the file then has no scale for it,
and accel keeps that tensor in float32 too. A `FloatLayer` therefore takes codes or float32
arrays (a None quantization means float32) and returns codes, or float32 when its own output
has no quantization.

Reproduced exactly: element-wise add and multiply (one float32 rounding per element, numpy
broadcasting; no fused multiply-add), activations (the float32 functions the integer tables are
built from), PReLU, max pooling, concatenation, nearest and bilinear resizes (ORT's float32
UpsampleBilinear) and the ops that only move values, following MLAS's
summation order (`accel.functional.float_windows`) convolutions, Gemm and average pools, and
BatchNormalization, LRN (`accel.functional.float_norms`) and Softmax
(`accel.functional.kernels.mlas_softmax`). Anything else (a Gemm with alpha or beta, a MatMul, a
per-channel float Mul/Add by a constant) is not: `float_function` returns None and the engine
either computes the integer kernel (the check then reports where it differs) or, for a float32
tensor, stops with an error naming the layer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from accel.functional import resample
from accel.functional.activation_tables import float_activation
from accel.functional.float_norms import batch_norm, lrn
from accel.functional.float_windows import (
    FloatLayer,
    array_layer,
    dequantize,
    maxpool_float,
    pool_layer,
    quantize,
    quantize_fused,
)
from accel.functional.kernels.mlas_pool import reduce_mean
from accel.functional.kernels.mlas_softmax import softmax
from accel.functional.tensor_layers import move_values
from accel.model.network import Layer
from accel.model.ops import Activation, Add, BatchNorm, Concat, LocalResponseNorm, Mul, Softmax
from accel.model.pool_ops import MaxPool
from accel.model.quantized import LayerAttributes, QuantizedWeights, QuantParams
from accel.model.resample_ops import PRelu, ReduceMean, Resize

Array = npt.NDArray[Any]
F32 = npt.NDArray[np.float32]

# Kinds whose integer form is, bit for bit, their DequantizeLinear → float op → QuantizeLinear:
# tables of Q(f(DQ(code))), and ops that move codes (max pooling commutes with dequantization;
# the importers give these layers their input's quantization).
EXACT_IN_INTEGER = frozenset((
    "activation", "concat", "clip", "maxpool", "flatten", "reshape", "transpose",
    "channel_shuffle", "channel_slice",
))  # fmt: skip


def _unary(function: Callable[[F32], F32]) -> FloatLayer:
    def run(inputs: Sequence[Array], params: Sequence[QuantParams | None],
            y: QuantParams | None) -> Array:
        return quantize(function(dequantize(inputs[0], params[0])), y)

    return run


def _binary(layer: Layer, operation: Callable[[F32, F32], F32]) -> FloatLayer:
    """Add or Mul of dequantized inputs; an add's fused ReLU applies before the result is
    quantized or handed raw to the next float op."""

    def run(inputs: Sequence[Array], params: Sequence[QuantParams | None],
            y: QuantParams | None) -> Array:
        total = dequantize(inputs[0], params[0])
        for x, p in zip(inputs[1:], params[1:], strict=True):
            total = operation(total, dequantize(x, p)).astype(np.float32)
        return quantize_fused(layer, total, y)

    return run


def _concat(inputs: Sequence[Array], params: Sequence[QuantParams | None],
            y: QuantParams | None) -> Array:
    parts = [dequantize(x, p) for x, p in zip(inputs, params, strict=True)]
    return quantize(np.concatenate(parts, axis=1), y)


def _with_constant(attributes: LayerAttributes) -> FloatLayer:
    """A DQ(x) op DQ(constant) → Q group (a QDQ Add/Mul by a quantized constant)."""
    constant = np.asarray(attributes["constant"])
    constant_quant = attributes["constant_quant"]
    first = bool(attributes.get("constant_first", False))

    def run(inputs: Sequence[Array], params: Sequence[QuantParams | None],
            y: QuantParams | None) -> Array:
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
    layer: Layer, attributes: LayerAttributes, weights: QuantizedWeights | None = None
) -> FloatLayer | None:
    """The exact float32 form of `layer` as ORT runs it, or None if accel does not reproduce
    that float op."""
    op = layer.op
    op_name = str(attributes.get("onnxruntime_float_op", ""))
    if layer.uses_array:
        return array_layer(layer, op_name, attributes, weights)
    if layer.kind in ("avgpool", "global_avgpool"):
        return pool_layer(layer, op_name)
    if isinstance(op, Add | Mul):
        return _binary(layer, np.add if isinstance(op, Add) else np.multiply)
    if isinstance(op, BatchNorm) and "operation" in attributes:
        return _with_constant(attributes)
    constants = attributes.get("batchnorm")
    if isinstance(op, BatchNorm) and constants is not None:
        return _unary(lambda x: batch_norm(x, constants))
    if isinstance(op, LocalResponseNorm):
        return _unary(lambda x: lrn(x, op.size, op.alpha, op.beta, op.bias))
    if isinstance(op, Softmax) and op.axis == 0:
        return _unary(softmax)
    if isinstance(op, Activation):
        return _unary(float_activation(op))
    if isinstance(op, MaxPool):
        return _unary(lambda x: maxpool_float(layer, x))
    if isinstance(op, Concat):
        return _concat
    if layer.op.moves_values:
        return _unary(lambda x: move_values(layer, x))
    if isinstance(op, Resize) and op.mode == "nearest":  # a copy, indexed as ORT indexes
        return _unary(lambda x: _nearest(x, op))
    if isinstance(op, Resize) and op.mode == "bilinear":  # ORT's float UpsampleBilinear
        return _unary(lambda x: _bilinear(x, op))
    if isinstance(op, ReduceMean):
        return _reduce_mean(op.axes)
    if isinstance(op, PRelu) and "slopes" in attributes:
        slopes = np.asarray(attributes["slopes"], np.float32)
        return _unary(lambda x: _prelu(x, slopes))
    return None


def _reduce_mean(axes: tuple[int, ...]) -> FloatLayer:
    """ORT's float ReduceMean in its summation order."""
    nchw = tuple(axis + 1 for axis in axes)
    return _unary(lambda x: reduce_mean(x, nchw))


def _nearest(x: F32, op: Resize) -> F32:
    resized: F32 = resample.resize_nearest(x, op, "onnx")  # type: ignore[arg-type,assignment]
    return resized


def _bilinear(x: F32, op: Resize) -> F32:
    resized: F32 = resample.resize_bilinear_onnx(x, op)
    return resized


def _prelu(x: F32, slopes: F32) -> F32:
    """ORT's float PRelu: `x > 0 ? x : x·slope` (slope broadcast per channel)."""
    slope = np.broadcast_to(slopes.reshape(-1), (x.shape[1],)).reshape(1, -1, 1, 1)
    return np.where(x > 0, x, x * slope).astype(np.float32)


def float_only(layer: Layer, attributes: LayerAttributes) -> bool:
    """Whether `layer` has no integer kernel in onnx mode, so that onnxruntime always computes
    it in float32: a float BatchNormalization (not a QLinearAdd/QLinearMul by a constant), LRN."""
    op = layer.op
    return isinstance(op, LocalResponseNorm) or (
        isinstance(op, BatchNorm) and "operation" not in attributes)


def reproduced(
    layer: Layer, attributes: LayerAttributes, weights: QuantizedWeights | None = None
) -> bool:
    """Whether the engine gives exactly ORT's float32 result for `layer` left unfused."""
    exact = layer.kind in EXACT_IN_INTEGER
    return exact or float_function(layer, attributes, weights) is not None
