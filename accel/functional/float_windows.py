"""Convolutions, fully connected layers and average pools that onnxruntime runs in float32.

An unfused QDQ conv is DequantizeLinear(x) and DequantizeLinear(w) (`f32(f32(w - zp) · s[o])`)
into ORT's float Conv (MLAS, `accel.functional.kernels.mlas_float`), the bias added, then
QuantizeLinear; a fused ReLU/ReLU6 clamps the codes, which equals clamping the float result
because quantization is monotonic. A fully connected layer is ORT's Gemm (alpha = beta = 1) with
the bias as C. Average pools and global pools follow `accel.functional.kernels.mlas_pool`; the
float op ORT chose (plain or NCHWc kernel, GlobalAveragePool or ReduceMean) is named in the
layer's attributes. Each builder returns None where accel does not reproduce the float op.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from accel.functional.conv_layer import conv_pads, fused_activation
from accel.functional.geometry import pad_to_windows, windows
from accel.functional.kernels.mlas_conv_transpose import conv_transpose
from accel.functional.kernels.mlas_float import conv2d, gemm
from accel.functional.kernels.mlas_pool import average_pool, mean_eigen
from accel.functional.requant import activation_bounds, dequantize_linear, quantize_linear
from accel.model.network import Layer
from accel.model.ops import Conv, ConvTranspose, FullyConnected
from accel.model.pool_ops import AvgPool, GlobalAvgPool, MaxPool
from accel.model.quantized import LayerAttributes, QuantizedWeights, QuantParams

Array = npt.NDArray[Any]
F32 = npt.NDArray[np.float32]
FloatLayer = Callable[[Sequence[Array], Sequence[QuantParams | None], QuantParams | None], Array]
CONV_OPS = frozenset(("Conv", "com.microsoft.FusedConv"))


def dequantize(x: Array, params: QuantParams | None) -> F32:
    """DequantizeLinear of codes; a float32 tensor (no quantization) as it is."""
    if params is None:
        return np.asarray(x, np.float32)
    return dequantize_linear(x, params.scale, params.zero_point)


def quantize(y: F32, params: QuantParams | None) -> Array:
    """QuantizeLinear to `params`; float32 unchanged when the output has no quantization."""
    if params is None:
        return np.asarray(y, np.float32)
    return quantize_linear(y, params.scale, params.zero_point, params.dtype)


def quantize_fused(layer: Layer, y: F32, params: QuantParams | None) -> Array:
    """QuantizeLinear of a conv, fc or add result after its fused ReLU/ReLU6 (float32 clamped
    when the output has no quantization: that is the raw result the next float op reads)."""
    # A fused ReLU/ReLU6 clamps; on codes that is the same as on the float result (quantization
    # is monotonic), and a float32 output gets the float clamp.
    activation = fused_activation(layer)
    if params is None:
        high = np.float32(6.0) if activation == "relu6" else np.float32(np.inf)
        return y if activation == "none" else np.clip(y, np.float32(0.0), high)
    codes = quantize(y, params)
    low, high_code = activation_bounds(activation, params.scale, params.zero_point,
                                       params.dtype, "onnx")  # fmt: skip
    return np.clip(codes, low, high_code).astype(codes.dtype)


def real_weights(weights: QuantizedWeights) -> F32:
    """DequantizeLinear of the 8-bit weights, per output channel: f32(f32(w − w_zp) · s)."""
    centred = weights.centred()
    shape = (-1,) + (1,) * (centred.ndim - 1)
    scales = np.asarray(weights.weight_scales, np.float32).reshape(shape)
    return np.asarray(centred.astype(np.float32) * scales, np.float32)


def array_layer(
    layer: Layer, op_name: str, attributes: LayerAttributes,
    weights: QuantizedWeights | None,
) -> FloatLayer | None:
    """A conv, transposed conv or fc layer as ORT's float Conv / ConvTranspose / Gemm, or None
    if accel does not reproduce it."""
    bias = attributes.get("float_bias")
    if weights is None or bias is None:
        return None
    w, b = real_weights(weights), np.asarray(bias, np.float32)
    op = layer.op
    if isinstance(op, Conv) and op_name in CONV_OPS:
        out = layer.output_shape
        pads = conv_pads(layer)

        def run_conv(inputs: Sequence[Array], params: Sequence[QuantParams | None],
                     y: QuantParams | None) -> Array:
            x = dequantize(inputs[0], params[0])
            result = conv2d(x, w, b, op.stride, pads, op.dilation, op.groups,
                            (out.height, out.width))  # fmt: skip
            return quantize_fused(layer, result, y)

        return run_conv
    if isinstance(op, ConvTranspose) and op_name == "ConvTranspose":
        out_hw = (layer.output_shape.height, layer.output_shape.width)

        def run_conv_transpose(inputs: Sequence[Array], params: Sequence[QuantParams | None],
                               y: QuantParams | None) -> Array:
            x = dequantize(inputs[0], params[0])
            return quantize_fused(layer, conv_transpose(x, w, b, op, out_hw), y)

        return run_conv_transpose
    onnx_gemm = attributes.get("gemm")
    if not isinstance(op, FullyConnected) or op_name != "Gemm" or onnx_gemm is None or (
            onnx_gemm["alpha"], onnx_gemm["beta"]) != (1.0, 1.0):  # fmt: skip
        return None
    trans_b = onnx_gemm["trans_b"]

    def run_fc(inputs: Sequence[Array], params: Sequence[QuantParams | None],
               y: QuantParams | None) -> Array:
        x = dequantize(inputs[0], params[0]).reshape(inputs[0].shape[0], -1)
        result = gemm(x, w, b, trans_b)
        return quantize_fused(layer, result, y).reshape(*result.shape, 1, 1)

    return run_fc


def pool_layer(layer: Layer, op_name: str) -> FloatLayer | None:
    """An average or global average pool as the float kernel ORT chose."""
    op = layer.op
    source = layer.input_shapes[0]
    out = layer.output_shape
    if isinstance(op, GlobalAvgPool) or (isinstance(op, AvgPool) and op_name == "ReduceMean"):
        if op_name == "ReduceMean":
            pool: Callable[[F32], F32] = mean_eigen
        elif op_name.endswith(("GlobalAveragePool", "AveragePool")):
            kernel = (source.height, source.width)

            def pool(x: F32) -> F32:
                return average_pool(x, op_name, kernel, (1, 1), (0, 0, 0, 0), (1, 1), False)
        else:
            return None
    elif isinstance(op, AvgPool) and op_name.endswith("AveragePool") and op.dilation == (1, 1):
        pads = op.pads(source.height, source.width)
        ceil = bool(op.ceil_mode)

        def pool(x: F32) -> F32:
            return average_pool(x, op_name, op.kernel, op.stride, pads, (out.height, out.width),
                                op.count_include_pad, ceil)  # fmt: skip
    else:
        return None

    def run_pool(inputs: Sequence[Array], params: Sequence[QuantParams | None],
                 y: QuantParams | None) -> Array:
        return quantize(pool(dequantize(inputs[0], params[0])), y)

    return run_pool


def maxpool_float(layer: Layer, x: F32) -> F32:
    """Max pooling of a float32 tensor (padding never wins)."""
    op = layer.op
    assert isinstance(op, MaxPool)
    out = layer.output_shape
    pads = op.pads(x.shape[2], x.shape[3])
    padded = pad_to_windows(x, pads, op.kernel, op.stride, op.dilation, (out.height, out.width),
                            -np.inf)  # fmt: skip
    views = windows(padded, op.kernel, op.stride, op.dilation, (out.height, out.width))
    return np.asarray(views.max(axis=(2, 3)), np.float32)
