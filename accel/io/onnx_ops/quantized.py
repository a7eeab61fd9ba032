"""Quantized ONNX nodes (QOperator form and integer ops) as the layers of their float forms.

QOperator nodes take int8/uint8 tensors with their (scale, zero point) as extra inputs and name
the output's quantization; each becomes the same layer as its float form, and the output's
quantization is recorded for the int8 datapath. ConvInteger / MatMulInteger (dynamic
quantization) produce int32 accumulators whose run-time rescale folds into them. The contrib
operators onnxruntime's quantizer emits live in the `com.microsoft` domain.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from accel.io.imported import Affine, AffineOrigin
from accel.io.onnx_ops.array import conv_layer, fc_layer
from accel.io.onnx_ops.vector import pool_layer
from accel.io.onnx_reader import Converter, OnnxImporter
from accel.io.onnx_values import Const, Tensor, attr
from accel.io.onnx_weights import quantized_weights
from accel.model.ops import Activation, Add, BatchNorm, Concat, Mul, Softmax
from accel.model.pool_ops import GlobalAvgPool


def qlinear_conv(imp: OnnxImporter, node: Any, index: int) -> None:
    x, weight = imp.quantized_tensor(node, 0, 1), imp.const(node, 3)
    assert weight is not None
    has_bias = len(node.input) > 8 and bool(node.input[8])
    out = conv_layer(imp, node, index, x, weight, has_bias, quant=imp.quant_of(node, 6))
    _keep_qoperator_weights(imp, node, out.source, 3, 8 if has_bias else None, transpose=False)


def conv_integer(imp: OnnxImporter, node: Any, index: int) -> None:
    imp.parts.dynamic_quantization = True
    weight = imp.const(node, 1)
    assert weight is not None
    conv_layer(imp, node, index, imp.tensor(node, 0), weight, has_bias=False)


def qlinear_matmul(imp: OnnxImporter, node: Any, index: int) -> None:
    weight = imp.const(node, 3)
    if weight is None or len(weight.dims) != 2:
        return imp.unsupported(node, index, "only activation × constant 2-D weights")
    out = fc_layer(imp, node, index, imp.quantized_tensor(node, 0, 1), weight.dims[1],
                   weight.dims[0], False, quant=imp.quant_of(node, 6))
    _keep_qoperator_weights(imp, node, out.source, 3, None, transpose=True)
    return None


def matmul_integer(imp: OnnxImporter, node: Any, index: int) -> None:
    imp.parts.dynamic_quantization = True
    weight = imp.const(node, 1)
    if weight is None or len(weight.dims) != 2:
        return imp.unsupported(node, index, "only activation × constant 2-D weights")
    fc_layer(imp, node, index, imp.tensor(node, 0), weight.dims[1], weight.dims[0], False)
    return None


def qgemm(imp: OnnxImporter, node: Any, index: int) -> None:
    """com.microsoft QGemm: A, a_scale, a_zp, B, b_scale, b_zp, [C], [y_scale, y_zp]."""
    weight = imp.const(node, 3)
    if attr(node, "transA", 0) or weight is None or len(weight.dims) != 2:
        return imp.unsupported(node, index, "only A·B with A an activation and B constant")
    trans_b = bool(attr(node, "transB", 0))
    out_features, in_features = weight.dims if trans_b else weight.dims[::-1]
    has_bias = len(node.input) > 6 and bool(node.input[6])
    alpha = attr(node, "alpha", 1.0)
    if alpha != 1.0:  # same cycles; the engine's requantization has no alpha term
        imp.parts.functional_gaps.append(f"node {node.name!r} (QGemm with alpha={alpha:g})")
    quant = imp.quant_of(node, 7) if len(node.input) > 7 and node.input[7] else None
    out = fc_layer(imp, node, index, imp.quantized_tensor(node, 0, 1), out_features,
                   in_features, has_bias, quant=quant)
    _keep_qoperator_weights(imp, node, out.source, 3, 6 if has_bias else None,
                            transpose=not trans_b)
    return None


def _keep_qoperator_weights(
    imp: OnnxImporter, node: Any, name: str, weight_index: int, bias_index: int | None,
    transpose: bool,
) -> None:
    values = imp.optional_array(node, weight_index)
    scales = imp.optional_array(node, weight_index + 1)
    zeros = imp.optional_array(node, weight_index + 2)
    bias = imp.optional_array(node, bias_index) if bias_index is not None else None
    if values is None or scales is None or (bias_index is not None and bias is None):
        return
    weights = quantized_weights(values, scales, zeros, bias, transpose)
    if weights is not None:
        imp.parts.qweights[name] = weights


def qlinear_binary(kind: str) -> Converter:
    """com.microsoft QLinearAdd / QLinearMul: A, A_s, A_zp, B, B_s, B_zp, C_s, C_zp."""

    def convert(imp: OnnxImporter, node: Any, index: int) -> None:
        a, b = imp.value(node.input[0], node), imp.value(node.input[3], node)
        quant = imp.quant_of(node, 6)
        if isinstance(a, Tensor) and isinstance(b, Tensor):
            a, b = imp.quantized_tensor(node, 0, 1), imp.quantized_tensor(node, 3, 4)
            op = Add() if kind == "Add" else Mul()
            imp.add_layer(node, index, op, [a, b], quant=quant)
            return
        x, constant_index = (a, 3) if isinstance(a, Tensor) else (b, 0)
        constant = imp.value(node.input[constant_index], node)
        if not isinstance(x, Tensor) or not isinstance(constant, Const):
            imp.unsupported(node, index, "operands that are neither activations nor constants")
            return
        constant_quant = imp.quant_of(node, constant_index + 1)
        if constant.array is None or constant_quant is None:
            imp.unsupported(node, index, "a constant without its data or one scale and zero point")
            return
        x = imp.quantized_tensor(node, 3 - constant_index, 4 - constant_index)
        out = imp.add_layer(node, index, BatchNorm(), [x], quant=quant)
        real = _dequantized(imp, node, constant_index)
        origin: AffineOrigin = "bias" if kind == "Add" else "scale"
        imp.parts.affines[out.source] = Affine(
            real if kind == "Mul" else None, real if kind == "Add" else None, origin
        )
        imp.parts.attributes[out.source] = {
            "operation": "add" if kind == "Add" else "mul",
            "constant": constant.array,
            "constant_quant": constant_quant,
            "constant_first": constant_index == 0,
        }

    return convert


def _dequantized(imp: OnnxImporter, node: Any, index: int) -> np.ndarray | None:
    values = imp.optional_array(node, index)
    quant = imp.quant_of(node, index + 1)
    if values is None or quant is None:
        return None
    real = (values.astype(np.float64) - quant.zero_point) * quant.scale
    return np.asarray(real, np.float32).reshape(-1)


def qlinear_average_pool(imp: OnnxImporter, node: Any, index: int) -> None:
    x = imp.quantized_tensor(node, 0, 1)
    if attr(node, "channels_last", 0):
        return imp.unsupported(node, index, "channels_last=1; only NCHW")
    pool_layer(imp, node, index, x, average=True, quant=imp.quant_of(node, 3))
    return None


def qlinear_global_average_pool(imp: OnnxImporter, node: Any, index: int) -> None:
    if attr(node, "channels_last", 0):
        return imp.unsupported(node, index, "channels_last=1; only NCHW")
    imp.add_layer(node, index, GlobalAvgPool(), [imp.quantized_tensor(node, 0, 1)],
                  quant=imp.quant_of(node, 3))
    return None


def qlinear_concat(imp: OnnxImporter, node: Any, index: int) -> None:
    """com.microsoft QLinearConcat: Y_s, Y_zp, then (X, X_s, X_zp) per input."""
    tensors = [imp.quantized_tensor(node, i, i + 1) for i in range(2, len(node.input), 3)]
    axis = attr(node, "axis", 1) % len(tensors[0].dims)
    if axis != 1:
        return imp.unsupported(node, index, f"concatenation along axis {axis}; only channels")
    imp.add_layer(node, index, Concat(), tensors, quant=imp.quant_of(node, 0))
    return None


def qlinear_activation(function: str) -> Converter:
    """com.microsoft QLinearSigmoid / QLinearLeakyRelu: X, X_s, X_zp, Y_s, Y_zp."""

    def convert(imp: OnnxImporter, node: Any, index: int) -> None:
        op = Activation(function=function, alpha=float(attr(node, "alpha", 0.01)))
        x = imp.quantized_tensor(node, 0, 1)
        imp.add_layer(node, index, op, [x], quant=imp.quant_of(node, 3))

    return convert


def qlinear_softmax(imp: OnnxImporter, node: Any, index: int) -> None:
    imp.add_layer(node, index, Softmax(), [imp.quantized_tensor(node, 0, 1)],
                  quant=imp.quant_of(node, 3))
