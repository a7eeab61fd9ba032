"""One layer of a quantized network as a .tflite model, for TFLite's reference kernels.

TFLite is NHWC with OHWI filters (depthwise: [1, KH, KW, C·multiplier]) and knows only SAME
and VALID padding. A layer whose padding is neither becomes an explicit PAD (zero point fill,
for convolutions) or PADV2 (type-minimum fill, for max pooling) followed by a VALID operator,
which is what TFLite converters emit too. Layers TFLite cannot express with its int8 reference
kernels (grouped non-depthwise conv, dilated pooling, average pooling with custom padding, uint8
activations, asymmetric weights, and the functions accel's tflite mode does not implement) give
None and stay unchecked. A global average pool that requantizes (or came from a MEAN) becomes
MEAN; concat inputs quantized unlike the output get a QUANTIZE each, as converters emit them;
activations and softmax are written by `accel.io.tflite_export_ops`, resizes, PReLU, the
depth/space moves and reduce_means by `accel.io.tflite_export_resample`. A transposed conv (no
groups, no dilation) is TRANSPOSE_CONV with VALID padding onto the full scatter plus its output
padding (there TFLite's kernel pads nothing at the start and adds the bias to the rows only
output padding reaches), then a SLICE that crops the padding: a copy of int8 codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from accel.functional.conv_layer import conv_pads
from accel.functional.geometry import Pads
from accel.functional.vector import is_tflite_mean
from accel.io.tflite_export_ops import LayerBuilder, tflite_unary
from accel.io.tflite_export_resample import resample_layer
from accel.io.tflite_flatbuffer import schema
from accel.model.conv_transpose import ConvTranspose
from accel.model.network import Layer
from accel.model.ops import Activation, Add, Concat, Conv, FullyConnected, Mul, Softmax
from accel.model.pool_ops import AvgPool, GlobalAvgPool, MaxPool
from accel.model.quantized import QuantizedNetwork
from accel.model.resample_ops import DepthToSpace, PRelu, ReduceMean, Resize, SpaceToDepth

FUSED = {None: 0, "relu": 1, "relu6": 3}  # TFLite ActivationFunctionType codes


@dataclass(frozen=True)
class LayerModel:
    """A one-layer model: fed with the layer's input tensors, returning its output."""

    model: bytes
    flat_input: bool  # the input is fed as (N, C·H·W) in NCHW flattening order (fc)
    flat_output: bool  # the output comes back as (N, channels)


def _padding(layer: Layer, pads: Pads) -> str | None:
    """SAME or VALID if one of them is exactly `pads`, else None (an explicit pad is needed)."""
    op, shape = layer.op, layer.input_shapes[0]
    assert isinstance(op, Conv | MaxPool | AvgPool)
    if pads == (0, 0, 0, 0):
        return "VALID"
    # TFLite's SAME puts the odd padding row/column at the end, as ONNX's SAME_UPPER.
    same = op.model_copy(update={"padding": "same"}).pads(shape.height, shape.width)
    return "SAME" if pads == same else None


def layer_model(qnet: QuantizedNetwork, layer: Layer, batch: int) -> LayerModel | None:
    """`layer` as a .tflite model, or None if TFLite's reference kernels cannot express it."""
    op = layer.op
    if not _int8_symmetric(qnet, layer):
        return None
    m = LayerBuilder(qnet, batch)
    s = layer.input_shapes[0]
    out = layer.output_shape
    if isinstance(op, FullyConnected):
        return _fully_connected(m, layer)
    if isinstance(op, Conv):
        if op.groups > 1 and not layer.is_depthwise:
            return None
        x = m.nhwc(layer.inputs[0], s.channels, s.height, s.width)
        return _conv(m, layer, x)
    if isinstance(op, ConvTranspose):
        return _transpose_conv(m, layer)
    inputs = [m.nhwc(name, sh.channels, sh.height, sh.width)
              for name, sh in zip(layer.inputs, layer.input_shapes, strict=True)]  # fmt: skip
    y = m.nhwc(layer.name, out.channels, out.height, out.width)
    if isinstance(op, GlobalAvgPool) and is_tflite_mean(
        m.qnet.activations[layer.inputs[0]], m.qnet.activations[layer.name],
        m.qnet.attributes.get(layer.name),
    ):
        axes = m.b.tensor(f"{layer.name}.axes", (2,), "int32", data=np.array([1, 2], np.int32))
        options = schema().ReducerOptionsT()
        options.keepDims = True
        m.b.operator("MEAN", [inputs[0], axes], [y], options)
    elif isinstance(op, MaxPool | AvgPool | GlobalAvgPool):
        built = _pool(m, layer, inputs[0], y)
        if not built:
            return None
    elif isinstance(op, Add | Mul) and len(inputs) == 2:
        options = schema().AddOptionsT() if isinstance(op, Add) else schema().MulOptionsT()
        options.fusedActivationFunction = FUSED[getattr(op, "activation", None)]
        m.b.operator("ADD" if isinstance(op, Add) else "MUL", inputs, [y], options)
    elif isinstance(op, Concat):
        options = schema().ConcatenationOptionsT()
        options.axis = 3
        m.b.operator("CONCATENATION", _requantized(m, layer, inputs), [y], options)
    elif isinstance(op, Activation | Softmax):
        if not tflite_unary(m, layer, inputs[0], y):
            return None
    elif isinstance(op, Resize | PRelu | DepthToSpace | SpaceToDepth | ReduceMean):
        if not resample_layer(m, layer, inputs[0], y):
            return None
    else:
        return None
    return LayerModel(m.b.finish(inputs, [y]), flat_input=False, flat_output=False)


def _requantized(m: LayerBuilder, layer: Layer, inputs: list[int]) -> list[int]:
    """Each concat input quantized unlike the output goes through a requantizing QUANTIZE."""
    y = m.qnet.activations[layer.name]
    out = []
    for name, shape, tensor in zip(layer.inputs, layer.input_shapes, inputs, strict=True):
        if m.qnet.activations[name] != y:
            nhwc = (m.batch, shape.height, shape.width, shape.channels)
            requantized = m.activation(f"{name}.requantized", nhwc, y)
            m.b.operator("QUANTIZE", [tensor], [requantized])
            tensor = requantized
        out.append(tensor)
    return out


def _int8_symmetric(qnet: QuantizedNetwork, layer: Layer) -> bool:
    # TFLite's per-channel integer kernels take int8 activations and zero-point-0 weights.
    tensors = [*layer.inputs, layer.name]
    if any(qnet.activations[name].dtype != "int8" for name in tensors):
        return False
    weights = qnet.weights.get(layer.name)
    if weights is not None and weights.weight.dtype != np.int8:
        return False  # uint8 weights (even with zero point 0) are no TFLite int8 filter
    zero_points = None if weights is None else weights.weight_zero_points
    return zero_points is None or not np.any(np.asarray(zero_points))


def _conv(m: LayerBuilder, layer: Layer, x: int) -> LayerModel:
    op, s, out = layer.op, layer.input_shapes[0], layer.output_shape
    assert isinstance(op, Conv)
    source = x
    pads = conv_pads(layer)
    padding = _padding(layer, pads)
    if padding is None:
        x = m.pad(x, layer.inputs[0], (m.batch, s.height, s.width, s.channels), pads, None)
        padding = "VALID"
    weights = m.qnet.weights[layer.name]
    w_scale = np.broadcast_to(np.asarray(weights.weight_scales, np.float32), (out.channels,))
    x_scale = m.qnet.activations[layer.inputs[0]].scale
    sc = schema()
    if layer.is_depthwise:
        w = weights.weight.transpose(1, 2, 3, 0)  # [1, KH, KW, C·mult]
        filt = m.b.tensor(f"{layer.name}.weight", w.shape, "int8", w_scale, None, axis=3, data=w)
        options, code = sc.DepthwiseConv2DOptionsT(), "DEPTHWISE_CONV_2D"
        options.depthMultiplier = out.channels // s.channels
    else:
        w = weights.weight.transpose(0, 2, 3, 1)  # OHWI
        filt = m.b.tensor(f"{layer.name}.weight", w.shape, "int8", w_scale, None, axis=0, data=w)
        options, code = sc.Conv2DOptionsT(), "CONV_2D"
    options.padding = getattr(sc.Padding, padding)
    options.strideH, options.strideW = op.stride
    options.dilationHFactor, options.dilationWFactor = op.dilation
    options.fusedActivationFunction = FUSED[op.activation]
    bias = _bias(m, layer, x_scale, w_scale)
    y = m.nhwc(layer.name, out.channels, out.height, out.width)
    m.b.operator(code, [x, filt, bias], [y], options)
    return LayerModel(m.b.finish([source], [y]), flat_input=False, flat_output=False)


def _transpose_conv(m: LayerBuilder, layer: Layer) -> LayerModel | None:
    op, s, out = layer.op, layer.input_shapes[0], layer.output_shape
    assert isinstance(op, ConvTranspose)
    if op.groups > 1 or op.dilation != (1, 1):
        return None  # TRANSPOSE_CONV has neither
    x = m.nhwc(layer.inputs[0], s.channels, s.height, s.width)
    weights = m.qnet.weights[layer.name]
    w_scale = np.broadcast_to(np.asarray(weights.weight_scales, np.float32), (out.channels,))
    w = weights.weight.transpose(0, 2, 3, 1)  # OHWI
    filt = m.b.tensor(f"{layer.name}.weight", w.shape, "int8", w_scale, None, axis=0, data=w)
    bias = _bias(m, layer, m.qnet.activations[layer.inputs[0]].scale, w_scale)
    full = [(size - 1) * stride + kernel + extra for size, stride, kernel, extra in
            zip((s.height, s.width), op.stride, op.kernel, op.output_padding, strict=True)]
    scatter = (m.batch, full[0], full[1], out.channels)
    shape = m.b.tensor(f"{layer.name}.output_shape", (4,), "int32",
                       data=np.array(scatter, np.int32))  # fmt: skip
    cropped = op.padding != (0, 0, 0, 0)
    y = m.nhwc(layer.name, out.channels, out.height, out.width)
    full_y = m.activation(f"{layer.name}.full", scatter, m.qnet.activations[layer.name]) if (
        cropped) else y  # fmt: skip
    options = schema().TransposeConvOptionsT()
    options.padding = schema().Padding.VALID
    options.strideH, options.strideW = op.stride
    options.fusedActivationFunction = FUSED[op.activation]
    m.b.operator("TRANSPOSE_CONV", [shape, filt, x, bias], [full_y], options)
    if cropped:
        top, _, left, _ = op.padding
        begin = m.b.tensor(f"{layer.name}.begin", (4,), "int32",
                           data=np.array([0, top, left, 0], np.int32))  # fmt: skip
        size = m.b.tensor(f"{layer.name}.size", (4,), "int32",
                          data=np.array([m.batch, out.height, out.width, out.channels],
                                        np.int32))  # fmt: skip
        m.b.operator("SLICE", [full_y, begin, size], [y], schema().SliceOptionsT())
    return LayerModel(m.b.finish([x], [y]), flat_input=False, flat_output=False)


def _bias(m: LayerBuilder, layer: Layer, x_scale: float, w_scale: np.ndarray) -> int:
    # TFLite checks that the bias scale is the product of the input and weight scales.
    scale = (np.float64(x_scale) * w_scale.astype(np.float64)).astype(np.float32)
    bias = np.asarray(m.qnet.weights[layer.name].bias, np.int32)
    return m.b.tensor(f"{layer.name}.bias", bias.shape, "int32", scale, None, data=bias)


def _fully_connected(m: LayerBuilder, layer: Layer) -> LayerModel:
    op = layer.op
    assert isinstance(op, FullyConnected)
    weights = m.qnet.weights[layer.name]
    w = weights.weight.reshape(op.out_features, -1)
    w_scale = np.broadcast_to(np.asarray(weights.weight_scales, np.float32), (op.out_features,))
    x = m.activation(layer.inputs[0], (m.batch, w.shape[1]))
    filt = m.b.tensor(f"{layer.name}.weight", w.shape, "int8", w_scale, None, axis=0, data=w)
    bias = _bias(m, layer, m.qnet.activations[layer.inputs[0]].scale, w_scale)
    y = m.activation(layer.name, (m.batch, op.out_features))
    options = schema().FullyConnectedOptionsT()
    options.fusedActivationFunction = FUSED[op.activation]
    m.b.operator("FULLY_CONNECTED", [x, filt, bias], [y], options)
    return LayerModel(m.b.finish([x], [y]), flat_input=True, flat_output=True)


def _pool(m: LayerBuilder, layer: Layer, x: int, y: int) -> bool:
    op, s = layer.op, layer.input_shapes[0]
    sc = schema()
    options: Any = sc.Pool2DOptionsT()
    if isinstance(op, GlobalAvgPool):
        kernel, stride, padding = (s.height, s.width), (1, 1), "VALID"
    else:
        assert isinstance(op, MaxPool | AvgPool)
        if op.dilation != (1, 1):
            return False
        kernel, stride, pads = op.kernel, op.stride, op.fitted_pads(s.height, s.width)
        explicit = _padding(layer, pads)
        padding = explicit or "VALID"
        if explicit is None:
            if isinstance(op, AvgPool):
                return False  # TFLite averages over in-image taps only with SAME padding
            fill = m.qnet.activations[layer.inputs[0]].qmin
            shape = (m.batch, s.height, s.width, s.channels)
            x = m.pad(x, layer.inputs[0], shape, pads, fill)
    options.padding = getattr(sc.Padding, padding)
    options.strideH, options.strideW = stride
    options.filterHeight, options.filterWidth = kernel
    code = "MAX_POOL_2D" if isinstance(op, MaxPool) else "AVERAGE_POOL_2D"
    m.b.operator(code, [x], [y], options)
    return True
