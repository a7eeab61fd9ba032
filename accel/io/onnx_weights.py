"""The int8 numbers of a quantized ONNX model, in the form the chip stores them.

QOperator nodes (QLinearConv, QLinearMatMul, QGemm) carry 8-bit weights (int8, or uint8 with a
nonzero zero point from older quantizers), their scales and zero points (one, or one per output
channel), and an int32 bias as inputs. In QDQ form the weights are 8-bit initializers feeding a
DequantizeLinear and the bias an int32 initializer (scale = ifmap scale × weight scale) feeding
another; a float bias is quantized here the way onnxruntime's quantizer does
(`round(bias / (ifmap_scale · weight_scale))`, half to even). Conv weights keep ONNX's
(out, in / groups, kh, kw) layout; fc weights are stored (out_features, in_features), so a
MatMul's (K, N) matrix is transposed. A BatchNormalization keeps its four inputs as
onnxruntime reads them (dequantized the way its DequantizeLinear computes), for layers that
onnxruntime runs in float32.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from accel.model.quantized import BatchNormConstants, QuantizedWeights, QuantParams

if TYPE_CHECKING:
    from accel.io.onnx_reader import OnnxImporter
    from accel.io.onnx_values import Const, Tensor


def quantized_weights(
    values: np.ndarray,
    scales: np.ndarray,
    zero_points: np.ndarray | None,
    bias: np.ndarray | None,
    transpose: bool,
) -> QuantizedWeights | None:
    """int8 or uint8 weights with per-channel (or one) scale and zero point, or None for
    other integer types or a scale / zero point count that is neither one nor per channel."""
    if values.dtype not in (np.int8, np.uint8):
        return None  # 4- or 16-bit weights: not what the 8-bit datapath stores
    weight = np.ascontiguousarray(values.T if transpose else values)
    channels = weight.shape[0]
    scale = np.asarray(scales, np.float32).reshape(-1)
    zero = np.zeros(scale.shape, np.int32) if zero_points is None else zero_points
    if {scale.size, np.asarray(zero).size} - {1, channels}:
        return None  # quantized along another axis: not one scale per output channel
    int_bias = np.zeros(channels, np.int32) if bias is None else np.asarray(bias).reshape(-1)
    return QuantizedWeights(
        weight.copy(),  # the chip's own copy, not a view of the file's buffer
        scale,
        np.broadcast_to(int_bias.astype(np.int32), (channels,)).copy(),
        np.asarray(zero, np.int32).reshape(-1),
    )


def keep_qdq_weights(
    imp: OnnxImporter,
    name: str,
    x: Tensor,
    weight: Const,
    bias: Const | None,
    transpose: bool = False,
) -> None:
    """Record a QDQ layer's 8-bit weights (those behind its weight's DequantizeLinear)."""
    q = weight.quantized
    if q is None:
        return
    if q.scale.size > 1 and q.axis != (1 if transpose else 0):
        # Scales along K (or a conv's input channels) are not what the requantization applies.
        imp.parts.functional_gaps.append(
            f"node {name!r} (weights quantized along axis {q.axis}, not the output channels)")
        return
    int_bias = _qdq_bias(bias, x.quant, q.scale)
    if bias is not None and int_bias is None:
        return  # a float bias with an unknown ifmap scale cannot be put in int32 units
    weights = quantized_weights(q.values, q.scale, q.zero_point, int_bias, transpose)
    if weights is not None:
        imp.parts.qweights[name] = weights
        real = _real_bias(bias, weights.weight.shape[0])
        if real is not None:  # what onnxruntime adds if it leaves this layer in float32
            imp.parts.attributes.setdefault(name, {})["float_bias"] = real


def _real_bias(bias: Const | None, channels: int) -> np.ndarray | None:
    """The float32 bias an unfused QDQ layer adds: DequantizeLinear of the int32 bias as
    onnxruntime computes it, ``f32(f32(b - zp) · s)``, or the float bias itself."""
    if bias is None:
        return np.zeros(channels, np.float32)
    if bias.quantized is None:
        return None if bias.array is None else np.asarray(bias.array, np.float32).reshape(-1)
    q = bias.quantized
    centred = (q.values.astype(np.int64) - q.zero_point.astype(np.int64)).astype(np.float32)
    real: np.ndarray = centred * np.asarray(q.scale, np.float32)
    return real.astype(np.float32).reshape(-1)


def _qdq_bias(
    bias: Const | None, ifmap: QuantParams | None, weight_scale: np.ndarray
) -> np.ndarray | None:
    if bias is None:
        return None
    if bias.quantized is not None:
        return bias.quantized.values.astype(np.int32)
    if bias.array is None or ifmap is None:
        return None
    scale = np.float32(ifmap.scale) * np.asarray(weight_scale, np.float32).reshape(-1)
    quantized: np.ndarray = np.rint(bias.array.reshape(-1) / scale).astype(np.int32)
    return quantized


def keep_batchnorm_constants(imp: OnnxImporter, name: str, node: Any, epsilon: float) -> None:
    """Record a BatchNormalization's scale, bias, mean and variance for its float32 form."""
    values = [imp.const(node, index) for index in range(1, 5)]
    arrays = [_as_read(value) for value in values if value is not None]
    if len(arrays) != 4 or any(array is None for array in arrays):
        return  # data in a missing external file: the layer keeps no float form
    scale, bias, mean, variance = (np.asarray(array, np.float32) for array in arrays)
    constants = BatchNormConstants(scale, bias, mean, variance, float(np.float32(epsilon)))
    imp.parts.attributes.setdefault(name, {})["batchnorm"] = constants


def _as_read(value: Const) -> np.ndarray | None:
    """A constant as onnxruntime feeds it to a float op: DequantizeLinear of stored integers is
    ``f32(f32(q - zp) · s)`` (per element of a per-channel scale), a float array as it is."""
    q = value.quantized
    if q is None:
        return None if value.array is None else np.asarray(value.array, np.float32).reshape(-1)
    flat = q.values.astype(np.int64).reshape(-1)
    centred = (flat - q.zero_point.astype(np.int64).reshape(-1)).astype(np.float32)
    scaled: np.ndarray = centred * np.asarray(q.scale, np.float32).reshape(-1)
    return scaled.astype(np.float32)
