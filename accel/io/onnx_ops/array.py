"""ONNX nodes that run on the MAC array: Conv, Gemm and MatMul in their float form.

Each becomes a conv or fc layer whose shape comes from the weight initializer's dims; the float
weights are kept for calibration, and QDQ weights (int8 initializers behind a DequantizeLinear)
for the int8 datapath. The QOperator and integer forms reuse `conv_layer` and `fc_layer`
(`accel.io.onnx_ops.quantized`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from accel.io.onnx_reader import OnnxImporter
from accel.io.onnx_values import Const, Tensor, attr
from accel.io.onnx_weights import keep_qdq_weights
from accel.model.ops import Conv, FullyConnected
from accel.model.quantized import FloatWeights, QuantParams

_AUTO_PAD = {"SAME_UPPER": "same_upper", "SAME_LOWER": "same_lower", "VALID": "valid"}


def window(imp: OnnxImporter, node: Any, kernel: tuple[int, ...]) -> dict[str, Any]:
    """Kernel, stride, padding, dilation and ceil_mode of a 2-D conv or pool node."""
    if len(kernel) != 2:
        raise imp.error(node, f"must be 2-D (NCHW); only 2-D windows are supported, not {kernel}")
    pads = list(attr(node, "pads", [0, 0, 0, 0]))
    auto_pad = attr(node, "auto_pad", "NOTSET")
    padding = _AUTO_PAD.get(auto_pad, (pads[0], pads[2], pads[1], pads[3]))
    return {
        "kernel": kernel,
        "stride": tuple(attr(node, "strides", [1, 1])),
        "padding": padding,
        "dilation": tuple(attr(node, "dilations", [1, 1])),
        "ceil_mode": bool(attr(node, "ceil_mode", 0)),
    }


def conv_layer(
    imp: OnnxImporter,
    node: Any,
    index: int,
    x: Tensor,
    weight: Const,
    has_bias: bool,
    quant: QuantParams | None = None,
) -> Tensor:
    """A Conv/ConvInteger/QLinearConv node as a conv layer (weights' dims give the shape)."""
    if len(weight.dims) != 4 or len(x.dims) != 4:
        raise imp.error(node, "must be a 2-D convolution on an NCHW tensor")
    kernel = tuple(attr(node, "kernel_shape", weight.dims[2:]))
    geometry = window(imp, node, kernel)
    geometry.pop("ceil_mode")
    op = Conv(out_channels=weight.dims[0], groups=attr(node, "group", 1), bias=has_bias,
              **geometry)
    if weight.dims[1] * op.groups != imp.parts.shapes[x.source].channels:
        raise imp.error(node, f"weights of shape {weight.dims} must fit "
                        f"{imp.parts.shapes[x.source].channels} input channels")
    return imp.add_layer(node, index, op, [x], quant=quant)


def conv(imp: OnnxImporter, node: Any, index: int) -> None:
    weight, bias = imp.const(node, 1), imp.const(node, 2)
    assert weight is not None
    out = conv_layer(imp, node, index, imp.tensor(node), weight, bias is not None)
    _keep_float_weights(imp, out.source, weight, bias)
    keep_qdq_weights(imp, out.source, imp.tensor(node), weight, bias)


def _keep_float_weights(
    imp: OnnxImporter, name: str, weight: Const, bias: Const | None, transpose: bool = False
) -> None:
    if weight.array is None or (bias is not None and bias.array is None):
        return
    array = weight.array.T if transpose else weight.array
    channels = array.shape[0]
    bias_array = np.zeros(channels, np.float32) if bias is None else bias.array
    imp.parts.float_weights[name] = FloatWeights(
        np.ascontiguousarray(array, np.float32),
        np.broadcast_to(np.asarray(bias_array, np.float32).reshape(-1), (channels,)).copy(),
    )


def fc_layer(
    imp: OnnxImporter,
    node: Any,
    index: int,
    x: Tensor,
    out_features: int,
    in_features: int,
    has_bias: bool,
    quant: QuantParams | None = None,
) -> Tensor:
    if len(x.dims) != 2:
        raise imp.error(node, f"must multiply a (batch, features) matrix, not one of dims {x.dims}")
    if in_features != x.dims[1]:
        raise imp.error(node, f"weights must have {x.dims[1]} input features, not {in_features}")
    return imp.add_layer(node, index, FullyConnected(out_features=out_features, bias=has_bias),
                         [x], rank=2, quant=quant)


def gemm(imp: OnnxImporter, node: Any, index: int) -> None:
    weight, bias = imp.const(node, 1), imp.const(node, 2)
    if attr(node, "transA", 0) or weight is None or len(weight.dims) != 2:
        return imp.unsupported(node, index, "only A·B with A an activation and B constant")
    trans_b = bool(attr(node, "transB", 0))
    out_features, in_features = weight.dims if trans_b else weight.dims[::-1]
    out = fc_layer(imp, node, index, imp.tensor(node), out_features, in_features,
                   bias is not None)
    alpha, beta = attr(node, "alpha", 1.0), attr(node, "beta", 1.0)
    scaled_w = replace(weight, array=None if weight.array is None else weight.array * alpha)
    scaled_b = None if bias is None else replace(
        bias, array=None if bias.array is None else bias.array * beta)
    _keep_float_weights(imp, out.source, scaled_w, scaled_b, transpose=not trans_b)
    keep_qdq_weights(imp, out.source, imp.tensor(node), weight, bias, transpose=not trans_b)
    if out.source in imp.parts.qweights:  # how onnxruntime would run it in float32
        imp.parts.attributes.setdefault(out.source, {})["gemm"] = {
            "trans_b": trans_b, "alpha": float(alpha), "beta": float(beta)}


def matmul(imp: OnnxImporter, node: Any, index: int) -> None:
    weight = imp.values.get(node.input[1])
    if not isinstance(weight, Const) or len(weight.dims) != 2:
        return imp.unsupported(node, index, "only activation × constant 2-D weights")
    out = fc_layer(imp, node, index, imp.tensor(node), weight.dims[1], weight.dims[0], False)
    _keep_float_weights(imp, out.source, weight, None, transpose=True)
    keep_qdq_weights(imp, out.source, imp.tensor(node), weight, None, transpose=True)
