"""Per-operator translation of TFLite builtin operators into layers, keyed by operator name.

These are the operators of classification networks: convolutions, fully-connected layers, pools,
elementwise arithmetic, concatenation, reshapes, padding, activations and the QUANTIZE /
DEQUANTIZE renames. Transposed convolutions are `accel.io.tflite_transpose_conv`; resizes and the
other operators of detection and segmentation models are `accel.io.tflite_resample`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from accel.io.tflite_reader import Activation, TfliteImporter, nhwc_shape
from accel.model.ops import (
    Activation as ActivationOp,
)
from accel.model.ops import (
    Add,
    BatchNorm,
    Clip,
    Concat,
    Conv,
    Flatten,
    FullyConnected,
    Mul,
    Pad,
    Reshape,
    Softmax,
)
from accel.model.pool_ops import AvgPool, GlobalAvgPool, MaxPool

Converter = Callable[[TfliteImporter, Any, list[int]], None]
_PADDING = {0: "same", 1: "valid"}
_FUSED: dict[int, str | None] = {0: None, 1: "relu", 3: "relu6"}


def _options(op: Any, name: str) -> Any:
    module = __import__(f"tflite.{name}", fromlist=[name])
    options = getattr(module, name)()
    table = op.BuiltinOptions()
    options.Init(table.Bytes, table.Pos)
    return options


def _fused(imp: TfliteImporter, op: Any, options: Any) -> tuple[bool, str | None]:
    code = options.FusedActivationFunction()
    if code not in _FUSED:
        imp.unsupported(op, "fused activation", f"fused activation function {code}")
        return False, None
    return True, _FUSED[code]


def _conv(imp: TfliteImporter, op: Any, inputs: list[int], depthwise: bool) -> None:
    x = imp.activation(inputs[0], "a convolution")
    weight = imp.value(inputs[1])
    bias = imp.value(inputs[2]) if len(inputs) > 2 and inputs[2] >= 0 else None
    options = _options(op, "DepthwiseConv2DOptions" if depthwise else "Conv2DOptions")
    ok, activation = _fused(imp, op, options)
    if not ok:
        return
    dims = imp.dims(inputs[1])
    channels = imp.parts.shapes[x.source].channels
    order = (3, 0, 1, 2) if depthwise else (0, 3, 1, 2)  # → (out, in / groups, kh, kw)
    if depthwise:  # (1, KH, KW, C·m)
        out_channels, groups = dims[3], channels
    else:  # (O, KH, KW, I)
        out_channels, groups = dims[0], channels // dims[3]
    layer = Conv(
        out_channels=out_channels, kernel=(dims[1], dims[2]),
        stride=(options.StrideH(), options.StrideW()), padding=_PADDING[options.Padding()],
        dilation=(options.DilationHFactor(), options.DilationWFactor()), groups=groups,
        bias=bias is not None, activation=activation,
    )
    out = imp.add_layer(op, layer, [x])
    if isinstance(weight, np.ndarray):
        bias_array = bias if isinstance(bias, np.ndarray) else None
        imp.keep_weights(out.source, inputs[1], weight, bias_array, weight.transpose(order))


def _fully_connected(imp: TfliteImporter, op: Any, inputs: list[int]) -> None:
    x = imp.activation(inputs[0], "a fully-connected layer")
    weight = imp.value(inputs[1])
    bias = imp.value(inputs[2]) if len(inputs) > 2 and inputs[2] >= 0 else None
    ok, activation = _fused(imp, op, _options(op, "FullyConnectedOptions"))
    if not ok:
        return
    out_features = imp.dims(inputs[1])[0]
    out = imp.add_layer(op, FullyConnected(out_features=out_features, bias=bias is not None,
                                           activation=activation), [x])
    if not isinstance(weight, np.ndarray):
        return
    hwc = x.hwc or (x.dims[1:] if len(x.dims) == 4 else None)
    ordered = weight
    if hwc is not None and hwc[0] * hwc[1] > 1:  # HWC flattening order → CHW
        ordered = weight.reshape(weight.shape[0], *hwc).transpose(0, 3, 1, 2).reshape(
            weight.shape)
    imp.keep_weights(out.source, inputs[1], weight,
                     bias if isinstance(bias, np.ndarray) else None, ordered)


def _pool(imp: TfliteImporter, op: Any, inputs: list[int], average: bool) -> None:
    x = imp.activation(inputs[0], "a pooling layer")
    options = _options(op, "Pool2DOptions")
    ok, activation = _fused(imp, op, options)
    if not ok:
        return
    geometry = {"kernel": (options.FilterHeight(), options.FilterWidth()),
                "stride": (options.StrideH(), options.StrideW()),
                "padding": _PADDING[options.Padding()]}
    layer = AvgPool(**geometry) if average else MaxPool(**geometry)
    out = imp.add_layer(op, layer, [x], quant=None if average else x.quant)
    if activation:
        imp.unsupported(op, "pool with fused activation", f"fused {activation} after a pool")
    del out


def _mean(imp: TfliteImporter, op: Any, inputs: list[int]) -> None:
    x = imp.activation(inputs[0], "MEAN")
    axes = imp.value(inputs[1])
    rank = len(x.dims)
    if rank != 4 or not isinstance(axes, np.ndarray) or sorted(
            int(a) % rank for a in axes.reshape(-1)) != [1, 2]:
        imp.unsupported(op, "MEAN", "only a mean over height and width")
        return
    out = imp.add_layer(op, GlobalAvgPool(), [x])
    imp.parts.attributes.setdefault(out.source, {})["tflite_mean"] = True  # not AVERAGE_POOL_2D


def _binary(kind: str) -> Converter:
    def convert(imp: TfliteImporter, op: Any, inputs: list[int]) -> None:
        a, b = imp.value(inputs[0]), imp.value(inputs[1])
        options = _options(op, "AddOptions" if kind == "ADD" else "MulOptions")
        ok, activation = _fused(imp, op, options) if kind != "SUB" else (True, None)
        if not ok:
            return

        if isinstance(a, Activation) and isinstance(b, Activation):
            if kind == "SUB":
                imp.unsupported(op, kind, "SUB of two activations")
                return
            layer = Add(activation=activation) if kind == "ADD" else Mul()
            imp.add_layer(op, layer, [a, b])
            return
        x, constant = (a, b) if isinstance(a, Activation) else (b, a)
        if not isinstance(x, Activation) or not isinstance(constant, np.ndarray) or activation:
            imp.unsupported(op, kind, "a constant operand with a fused activation")
            return
        out = imp.add_layer(op, BatchNorm(), [x])
        real = imp.dequantized(inputs[1 if x is a else 0], constant).reshape(-1)
        sign = -1 if kind == "SUB" else 1
        imp.affine(out.source, real if kind == "MUL" else None,
                   sign * real if kind != "MUL" else None)

    return convert


def _concat(imp: TfliteImporter, op: Any, inputs: list[int]) -> None:
    tensors = [imp.activation(i, "CONCATENATION") for i in inputs]
    options = _options(op, "ConcatenationOptions")
    rank = len(tensors[0].dims)
    channel_axis = 3 if rank == 4 else 1
    ok, activation = _fused(imp, op, options)
    if not ok:
        return
    if options.Axis() % rank != channel_axis or activation:
        imp.unsupported(op, "CONCATENATION", f"axis {options.Axis()}; only channels")
        return
    imp.add_layer(op, Concat(), tensors)


def _reshape(imp: TfliteImporter, op: Any, inputs: list[int]) -> None:
    x = imp.activation(inputs[0], "RESHAPE")
    dims = imp.dims(int(op.Outputs(0)))

    target = nhwc_shape(dims)
    hwc = x.hwc or (x.dims[1:] if len(x.dims) == 4 else None)
    if target == imp.parts.shapes[x.source]:
        imp.values[int(op.Outputs(0))] = replace(x, dims=dims, hwc=hwc)
        return
    flat = (target.height, target.width) == (1, 1)
    layer = Flatten() if flat else Reshape(shape=(target.channels, target.height, target.width))
    out = imp.add_layer(op, layer, [x], quant=x.quant)
    imp.values[int(op.Outputs(0))] = replace(out, hwc=hwc if flat else None)


def _pad(imp: TfliteImporter, op: Any, inputs: list[int]) -> None:
    x = imp.activation(inputs[0], "PAD")
    paddings = imp.value(inputs[1])
    value = imp.value(inputs[2]) if len(inputs) > 2 else None
    if not isinstance(paddings, np.ndarray) or paddings.shape != (4, 2) or paddings[0].any():
        imp.unsupported(op, "PAD", "only height, width and channel padding of an NHWC tensor")
        return
    fill = 0.0 if not isinstance(value, np.ndarray) else float(value.reshape(-1)[0])
    if x.quant is not None and isinstance(value, np.ndarray):
        fill = (fill - x.quant.zero_point) * x.quant.scale
    (top, bottom), (left, right), (front, back) = paddings[1:].tolist()
    layer = Pad(padding=(top, bottom, left, right), channel_padding=(front, back), value=fill)
    imp.add_layer(op, layer, [x], quant=x.quant)


def _activation(function: str) -> Converter:
    def convert(imp: TfliteImporter, op: Any, inputs: list[int]) -> None:
        x = imp.activation(inputs[0], function)
        alpha = _options(op, "LeakyReluOptions").Alpha() if function == "leaky_relu" else 0.01
        imp.add_layer(op, ActivationOp(function=function, alpha=alpha), [x])

    return convert


def _relu_n1_to_1(imp: TfliteImporter, op: Any, inputs: list[int]) -> None:
    imp.add_layer(op, Clip(minimum=-1.0, maximum=1.0), [imp.activation(inputs[0], "RELU_N1_TO_1")])


def _softmax(imp: TfliteImporter, op: Any, inputs: list[int]) -> None:
    beta = float(_options(op, "SoftmaxOptions").Beta())
    imp.add_layer(op, Softmax(beta=beta), [imp.activation(inputs[0], "SOFTMAX")])


def _quantize(imp: TfliteImporter, op: Any, inputs: list[int]) -> None:
    """QUANTIZE / DEQUANTIZE of an activation: a rename recording its quantization."""
    x = imp.activation(inputs[0], "QUANTIZE")
    out = int(op.Outputs(0))
    quant = imp.quant(out) or x.quant
    if x.quant is not None and imp.quant(out) is not None and quant != x.quant:
        # Codes to codes of another quantization (before a CONCATENATION, say): a requantizing
        # identity move, which tflite mode computes as TFLite's QUANTIZE does.
        shape = imp.parts.shapes[x.source]
        layer = Reshape(shape=(shape.channels, shape.height, shape.width))
        imp.values[out] = replace(imp.add_layer(op, layer, [x], quant=quant), hwc=x.hwc)
        return
    if quant is not None:
        imp.parts.quant.setdefault(x.source, quant)
    if imp.graph.Tensors(out).Type() in (3, 9):  # the codes of a float tensor quantized here
        imp.parts.tensor_names.setdefault(x.source, str(out))
    imp.values[out] = replace(x, dims=imp.dims(out), quant=quant)


OPERATORS: dict[str, Converter] = {
    "CONV_2D": lambda imp, op, inputs: _conv(imp, op, inputs, depthwise=False),
    "DEPTHWISE_CONV_2D": lambda imp, op, inputs: _conv(imp, op, inputs, depthwise=True),
    "FULLY_CONNECTED": _fully_connected,
    "AVERAGE_POOL_2D": lambda imp, op, inputs: _pool(imp, op, inputs, average=True),
    "MAX_POOL_2D": lambda imp, op, inputs: _pool(imp, op, inputs, average=False),
    "MEAN": _mean,
    "ADD": _binary("ADD"),
    "MUL": _binary("MUL"),
    "SUB": _binary("SUB"),
    "CONCATENATION": _concat,
    "RESHAPE": _reshape,
    "SQUEEZE": _reshape,
    "PAD": _pad,
    "PADV2": _pad,
    "RELU": _activation("relu"),
    "RELU6": _activation("relu6"),
    "RELU_N1_TO_1": _relu_n1_to_1,
    "LOGISTIC": _activation("sigmoid"),
    "HARD_SWISH": _activation("hswish"),
    "LEAKY_RELU": _activation("leaky_relu"),
    "SOFTMAX": _softmax,
    "QUANTIZE": _quantize,
    "DEQUANTIZE": _quantize,
}
