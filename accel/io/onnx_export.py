"""Export a quantized network as an ONNX model in QOperator form, for onnxruntime to check.

The model takes float32 NCHW images, quantizes them with QuantizeLinear, and computes every layer
with onnxruntime's integer operators: QLinearConv (fc layers as 1×1 QLinearConv on a reshaped
(N, K, 1, 1) ifmap, because QLinearMatMul has no bias input), MaxPool, and the com.microsoft
contrib ops QLinearAveragePool, QLinearGlobalAveragePool, QLinearAdd, QLinearMul,
QLinearConcat, QLinearSigmoid, QLinearLeakyRelu and QLinearSoftmax. Functions without an integer
operator (fused ReLU/ReLU6, h-swish, h-sigmoid, tanh, hard-sigmoid, PReLU, ReduceMean) are
DequantizeLinear → float op → QuantizeLinear, which onnxruntime evaluates exactly as accel's
lookup tables and float kernels do. Resize, DepthToSpace and SpaceToDepth run on the codes, as
quantize_static leaves them (a block move between two quantizations as DequantizeLinear → move
→ QuantizeLinear). Every layer's
int8/uint8 output (and each quantized graph input) is a graph output, so each can be compared.
onnxruntime has no integer ConvTranspose: a transposed conv is written in integers held in
float32 — Cast and Sub of the codes' zero point, ConvTranspose with the centred integer weights
and the int32 bias, Mul by QLinearConv's per-channel scale `f32(f32(x_s·w_s)/y_s)`, then
QuantizeLinear with scale 1 — which is onnxruntime's col2im ConvTranspose computing the exact
accumulators while every partial sum stays below 2**24 (`conv_transpose_sum_bound` says whether
it does for given inputs), rounded as QLinearConv rounds.

Requires the `onnx` package (`pip install "accel-simulator[check]"`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from accel.errors import InputError
from accel.functional.conv_layer import conv_pads
from accel.functional.requant import onnx_requant_scale
from accel.io.onnx_export_nodes import (
    MS_DOMAIN,
    NodeArgs,
    QGraph,
    activation_nodes,
    batchnorm_nodes,
    binary_nodes,
    block_move_nodes,
    float_chain,
    prelu_nodes,
    resize_nodes,
)
from accel.model.conv_transpose import ConvTranspose
from accel.model.network import Layer
from accel.model.ops import (
    Activation,
    Add,
    BatchNorm,
    ChannelSlice,
    Concat,
    Conv,
    Flatten,
    FullyConnected,
    Mul,
    Softmax,
)
from accel.model.pool_ops import AvgPool, GlobalAvgPool, MaxPool
from accel.model.quantized import QuantizedNetwork
from accel.model.resample_ops import DepthToSpace, PRelu, ReduceMean, Resize, SpaceToDepth

ONNX_OPSET = 21


def quantized_input_name(name: str) -> str:
    """The ONNX tensor holding graph input `name` after QuantizeLinear."""
    return f"{name}.quantized"


def output_names(qnet: QuantizedNetwork) -> dict[str, str]:
    """accel tensor name (graph input or layer) → ONNX graph output name."""
    names = {name: quantized_input_name(name) for name, _ in qnet.network.inputs}
    names.update({layer.name: layer.name for layer in qnet.network.layers})
    return names




def build_quantized_onnx(qnet: QuantizedNetwork, batch: int = 1) -> Any:
    """The ONNX ModelProto of `qnet` for a fixed batch size."""
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:
        raise InputError(
            'ONNX export needs the onnx package: pip install "accel-simulator[check]"'
        ) from None
    graph = QGraph(qnet)
    names = output_names(qnet)
    if len(set(names.values())) != len(names):
        raise InputError("layer names must not end in '.quantized' (reserved for graph inputs)")
    inputs = []
    for name, shape in qnet.network.inputs:
        dims = [batch, shape.channels, shape.height, shape.width]
        inputs.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, dims))
        graph.node("QuantizeLinear", [name, *graph.quant(name)], [quantized_input_name(name)])
    for layer in qnet.network.layers:
        sources = [names[source] for source in layer.inputs]
        for node_args in _layer_nodes(graph, layer, sources):
            graph.node(*node_args[:3], **node_args[3])
    elem = {np.dtype(np.int8): onnx.TensorProto.INT8, np.dtype(np.uint8): onnx.TensorProto.UINT8}
    # Symbolic output dims: ONNX shape inference sizes ceil_mode pools differently from
    # onnxruntime (which drops a window that starts in the padding); the rank is still declared.
    outputs = [
        helper.make_tensor_value_info(
            onnx_name,
            elem[np.dtype(qnet.activations[name].dtype)],
            [batch, *(f"{onnx_name}.{axis}" for axis in ("channels", "height", "width"))],
        )
        for name, onnx_name in names.items()
    ]
    inits = [numpy_helper.from_array(value, key) for key, value in graph.initializers.items()]
    body = helper.make_graph(graph.nodes, qnet.network.name, inputs, outputs, inits)
    opsets = [helper.make_opsetid("", ONNX_OPSET), helper.make_opsetid(MS_DOMAIN, 1)]
    model = helper.make_model(body, opset_imports=opsets, producer_name="accel")
    model.ir_version = 10  # what onnxruntime 1.18+ reads; onnx 1.17+ writes newer by default
    return model


def export_quantized_onnx(qnet: QuantizedNetwork, path: str | Path, batch: int = 1) -> None:
    """Write `qnet` as a QOperator ONNX model to `path`."""
    Path(path).write_bytes(build_quantized_onnx(qnet, batch).SerializeToString())


def _layer_nodes(graph: QGraph, layer: Layer, x: list[str]) -> Iterator[NodeArgs]:
    op, y = layer.op, layer.name
    x_q, y_q = graph.quant(layer.inputs[0]), graph.quant(y)
    activation = getattr(op, "activation", None)
    pre = f"{y}.preactivation" if activation else y
    if isinstance(op, Conv | FullyConnected):
        yield from _array_nodes(graph, layer, x[0], pre)
    elif isinstance(op, ConvTranspose):
        yield from _conv_transpose_nodes(graph, layer, x[0], pre)
    elif isinstance(op, MaxPool):
        pads = op.pads(*_hw(layer))
        attrs = _window_attrs(op.kernel, op.stride, pads, ceil_mode=int(bool(op.ceil_mode)))
        yield "MaxPool", [x[0]], [y], {**attrs, "dilations": list(op.dilation)}
    elif isinstance(op, AvgPool):
        pads = op.pads(*_hw(layer))
        attrs = _window_attrs(op.kernel, op.stride, pads, ceil_mode=int(bool(op.ceil_mode)))
        attrs.update(count_include_pad=int(op.count_include_pad), channels_last=0)
        yield "QLinearAveragePool", [x[0], *x_q, *y_q], [y], attrs
    elif isinstance(op, GlobalAvgPool):
        yield "QLinearGlobalAveragePool", [x[0], *x_q, *y_q], [y], {"channels_last": 0}
    elif isinstance(op, Add | Mul):
        yield from binary_nodes(graph, layer, x, pre)
    elif isinstance(op, Concat):
        args = [a for name, source in zip(x, layer.inputs, strict=True)
                for a in (name, *graph.quant(source))]  # fmt: skip
        yield "QLinearConcat", [*y_q, *args], [y], {"axis": 1}
    elif isinstance(op, Flatten):
        shape = graph.const(f"{y}.shape", np.array([0, -1, 1, 1], np.int64))
        yield "Reshape", [x[0], shape], [y], {}
    elif isinstance(op, ChannelSlice):  # an offset into the codes: the input's quantization
        bounds = [graph.const(f"{y}.{part}", np.array([value], np.int64))
                  for part, value in (("start", op.start), ("end", op.end), ("axis", 1))]
        yield "Slice", [x[0], *bounds], [y], {}
    elif isinstance(op, Softmax):
        yield "QLinearSoftmax", [x[0], *x_q, *y_q], [y], {"axis": op.axis + 1, "opset": 13}
    elif isinstance(op, Activation):
        yield from activation_nodes(graph, op, layer.inputs[0], x[0], y)
    elif isinstance(op, Resize):
        yield from resize_nodes(graph, layer, x[0])
    elif isinstance(op, DepthToSpace | SpaceToDepth):
        yield from block_move_nodes(graph, layer, x[0])
    elif isinstance(op, PRelu) and "slopes" in graph.qnet.attributes.get(y, {}):
        yield from prelu_nodes(graph, layer, x[0])
    elif isinstance(op, ReduceMean):  # no integer ReduceMean: DQ → float → Q
        axes = graph.const(f"{y}.axes", np.array([axis + 1 for axis in op.axes], np.int64))
        real, result = f"{y}.real", f"{y}.real_out"
        yield "DequantizeLinear", [x[0], *x_q], [real], {}
        yield "ReduceMean", [real, axes], [result], {"keepdims": 1}
        yield "QuantizeLinear", [result, *y_q], [y], {}
    elif isinstance(op, BatchNorm) and "batchnorm" in graph.qnet.attributes.get(y, {}):
        yield from batchnorm_nodes(graph, layer, x[0])
    else:
        raise InputError(f"layer {y!r}: {layer.kind} cannot be exported to ONNX")
    if activation:
        yield from float_chain(graph, activation, y, pre, y)


def _hw(layer: Layer) -> tuple[int, int]:
    return layer.input_shapes[0].height, layer.input_shapes[0].width


def _window_attrs(
    kernel: tuple[int, int], stride: tuple[int, int], pads: tuple[int, int, int, int], **extra: int
) -> dict[str, Any]:
    top, bottom, left, right = pads  # ONNX orders pads [top, left, bottom, right]
    return {
        "kernel_shape": list(kernel),
        "strides": list(stride),
        "pads": [top, left, bottom, right],
        **extra,
    }


def _array_nodes(graph: QGraph, layer: Layer, x: str, y: str) -> Iterator[NodeArgs]:
    weights = graph.qnet.weights[layer.name]
    w = weights.weight
    out_channels = w.shape[0]
    zero_points = weights.weight_zero_points
    w_zp = np.zeros(out_channels, np.int8) if zero_points is None else np.asarray(zero_points)
    scales = np.broadcast_to(np.asarray(weights.weight_scales, np.float32), (out_channels,))
    op = layer.op
    if isinstance(op, FullyConnected):
        shape = graph.const(f"{layer.name}.ifmap_shape", np.array([0, -1, 1, 1], np.int64))
        yield "Reshape", [x, shape], [f"{layer.name}.ifmap"], {}
        x, w = f"{layer.name}.ifmap", w.reshape(out_channels, -1, 1, 1)
        attrs = _window_attrs((1, 1), (1, 1), (0, 0, 0, 0), group=1)
    else:
        assert isinstance(op, Conv)
        attrs = _window_attrs(op.kernel, op.stride, conv_pads(layer), group=op.groups)
        attrs["dilations"] = list(op.dilation)
    name = layer.name
    inputs = [
        x,
        *graph.quant(layer.inputs[0]),
        graph.const(f"{name}.weight", np.ascontiguousarray(w)),
        graph.const(f"{name}.weight_scale", np.ascontiguousarray(scales)),
        graph.const(f"{name}.weight_zero_point", w_zp.astype(w.dtype)),
        *graph.quant(name),
        graph.const(f"{name}.bias", np.asarray(weights.bias, np.int32)),
    ]
    yield "QLinearConv", inputs, [y], attrs


def _conv_transpose_nodes(graph: QGraph, layer: Layer, x: str, y: str) -> Iterator[NodeArgs]:
    from onnx import TensorProto

    op, name = layer.op, layer.name
    assert isinstance(op, ConvTranspose)
    weights = graph.qnet.weights[name]
    x_params, y_params = graph.qnet.activations[layer.inputs[0]], graph.qnet.activations[name]
    centred = weights.centred().astype(np.float32)  # (C_out, C_in/g, kh, kw)
    out_channels, per_group, kh, kw = centred.shape
    groups = op.groups
    onnx_weight = centred.reshape(groups, out_channels // groups, per_group, kh, kw).transpose(
        0, 2, 1, 3, 4).reshape(per_group * groups, out_channels // groups, kh, kw)
    scales = np.broadcast_to(np.asarray(weights.weight_scales, np.float32), (out_channels,))
    requant = onnx_requant_scale(x_params.scale, scales, y_params.scale)
    top, bottom, left, right = op.padding
    yield "Cast", [x], [f"{name}.codes"], {"to": TensorProto.FLOAT}
    zero = graph.const(f"{name}.ifmap_zero", np.array(x_params.zero_point, np.float32))
    yield "Sub", [f"{name}.codes", zero], [f"{name}.centred"], {}
    inputs = [f"{name}.centred",
              graph.const(f"{name}.weight", np.ascontiguousarray(onnx_weight)),
              graph.const(f"{name}.bias", np.asarray(weights.bias, np.float32))]  # fmt: skip
    attrs = {"kernel_shape": list(op.kernel), "strides": list(op.stride),
             "pads": [top, left, bottom, right], "dilations": list(op.dilation),
             "output_padding": list(op.output_padding), "group": groups}  # fmt: skip
    yield "ConvTranspose", inputs, [f"{name}.accumulators"], attrs
    scale = graph.const(f"{name}.requant_scale", requant.reshape(1, -1, 1, 1))
    yield "Mul", [f"{name}.accumulators", scale], [f"{name}.scaled"], {}
    one = graph.const(f"{name}.unit_scale", np.array(1.0, np.float32))
    y_zero = graph.const(f"{name}.output_zero", np.array(y_params.zero_point, y_params.dtype))
    yield "QuantizeLinear", [f"{name}.scaled", one, y_zero], [y], {}


def conv_transpose_sum_bound(qnet: QuantizedNetwork, layer: Layer, x: np.ndarray) -> int:
    """The largest Σ|x − x_zp|·|w − w_zp| + |bias| over the outputs of transposed conv `layer`
    for input codes `x`: a bound on every partial sum onnxruntime's float ConvTranspose forms
    (exact while it is below 2**24)."""
    from accel.functional.reference import conv_transpose

    op = layer.op
    assert isinstance(op, ConvTranspose)
    weights = qnet.weights[layer.name]
    centred = np.abs(x.astype(np.float64) - qnet.activations[layer.inputs[0]].zero_point)
    total = conv_transpose(centred, np.abs(weights.centred()).astype(np.float64), op)
    bias = np.abs(np.asarray(weights.bias, np.float64)).reshape(1, -1, 1, 1)
    return int((total + bias).max(initial=0.0))
