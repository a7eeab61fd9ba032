"""ONNX nodes for each layer kind, written through `OnnxWriter` (the nodes, initializers and
each tensor's rank of the float model being built); each writer names its last tensor after
the layer and returns that tensor's rank (4 for NCHW, 2 for a flattened (batch, features)
matrix)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from accel.io.onnx_graph import require_onnx
from accel.model.conv_transpose import ConvTranspose
from accel.model.network import Layer, Network
from accel.model.ops import (
    Activation,
    ChannelShuffle,
    ChannelSlice,
    Clip,
    Conv,
    FullyConnected,
    LocalResponseNorm,
    Pad,
    Transpose,
)
from accel.model.pool_ops import AvgPool, MaxPool
from accel.model.quantized import FloatWeights

_AUTO_PAD = {"same": "SAME_UPPER", "same_upper": "SAME_UPPER", "same_lower": "SAME_LOWER",
             "valid": "VALID"}
ONNX_OPSET = 14


class OnnxWriter:
    """Emits nodes and initializers; tracks each tensor's rank (4 = NCHW, 2 = flattened)."""

    def __init__(self, network: Network, weights: dict[str, FloatWeights]) -> None:
        self.onnx = require_onnx()
        self.network, self.weights = network, weights
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.rank: dict[str, int] = {name: 4 for name, _ in network.inputs}

    def constant(self, name: str, array: np.ndarray) -> str:
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: list[str], output: str, node_name: str = "",
             **attrs: Any) -> str:
        """Append a node (named `node_name`, default its output) and return its output."""
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [output],
                                                     name=node_name or output, **attrs))
        return output

    def as_rank4(self, layer: Layer, index: int) -> str:
        source = layer.inputs[index]
        if self.rank[source] == 4:
            return source
        shape = layer.input_shapes[index]
        target = self.constant(f"{source}__nchw_shape",
                               np.array([1, shape.channels, shape.height, shape.width], np.int64))
        self.rank[f"{source}__nchw"] = 4
        return self.node("Reshape", [source, target], f"{source}__nchw")

    def model(self) -> Any:
        helper, tensor_type = self.onnx.helper, self.onnx.TensorProto.FLOAT
        inputs = [helper.make_tensor_value_info(name, tensor_type,
                                                [1, s.channels, s.height, s.width])
                  for name, s in self.network.inputs]
        outputs = []
        for name in self.network.outputs:
            s = self.network.layer(name).output_shape
            dims = [1, s.channels, s.height, s.width] if self.rank[name] == 4 else [1, s.channels]
            outputs.append(helper.make_tensor_value_info(name, tensor_type, dims))
        graph = helper.make_graph(self.nodes, self.network.name, inputs, outputs,
                                  self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)],
                                  producer_name="accel")
        model.ir_version = 8
        return model


def auto_pad(padding: object) -> dict[str, Any]:
    """ONNX padding attributes for an IR padding."""
    if isinstance(padding, str):
        return {"auto_pad": _AUTO_PAD[padding]}
    assert isinstance(padding, tuple)
    top, bottom, left, right = padding
    return {"pads": [top, left, bottom, right]}


def _activation(w: OnnxWriter, source: str, function: str | None, output: str,
                alpha: float = 0.01, node_name: str = "") -> str:
    if function is None:
        return source
    if function == "relu6":
        low = w.constant(f"{output}__min", np.array(0.0, np.float32))
        high = w.constant(f"{output}__max", np.array(6.0, np.float32))
        return w.node("Clip", [source, low, high], output, node_name=node_name)
    op, attrs = {
        "relu": ("Relu", {}), "sigmoid": ("Sigmoid", {}), "hswish": ("HardSwish", {}),
        "hsigmoid": ("HardSigmoid", {"alpha": 1 / 6, "beta": 0.5}),
        "leaky_relu": ("LeakyRelu", {"alpha": alpha}),
    }[function]
    return w.node(op, [source], output, node_name=node_name, **attrs)


def _identity_batchnorm(w: OnnxWriter, source: str, channels: int, beta: np.ndarray,
                        output: str, node_name: str = "") -> str:
    names = [w.constant(f"{output}__{part}", array) for part, array in (
        ("scale", np.ones(channels, np.float32)), ("beta", beta.astype(np.float32)),
        ("mean", np.zeros(channels, np.float32)), ("var", np.ones(channels, np.float32)))]
    return w.node("BatchNormalization", [source, *names], output, node_name=node_name,
                  epsilon=0.0)


def _weighted(w: OnnxWriter, layer: Layer) -> int:
    op = layer.op
    assert isinstance(op, Conv | FullyConnected)
    weights = w.weights[layer.name]
    steps = [s for s in ("bn" if op.batchnorm else "", op.activation or "") if s]
    out = f"{layer.name}__linear" if steps else layer.name
    inputs = [w.constant(f"{layer.name}__weight", weights.weight)]
    if op.bias:
        inputs.append(w.constant(f"{layer.name}__bias", weights.bias))
    if isinstance(op, Conv):
        source, rank = w.as_rank4(layer, 0), 4
        w.node("Conv", [source, *inputs], out, kernel_shape=list(op.kernel),
               strides=list(op.stride), dilations=list(op.dilation), group=op.groups,
               node_name=layer.name, **auto_pad(op.padding))
    else:
        source, rank = layer.inputs[0], 2
        if w.rank[source] == 4:
            source = w.node("Flatten", [source], f"{layer.name}__flat", axis=1)
        w.node("Gemm", [source, *inputs], out, transB=1, node_name=layer.name)
    if op.batchnorm:
        beta = np.zeros_like(weights.bias) if op.bias else weights.bias
        target = f"{layer.name}__bn" if op.activation else layer.name
        out = _identity_batchnorm(w, out, weights.bias.size, beta, target,
                                  node_name=f"{layer.name}__bn")
    _activation(w, out, op.activation, layer.name, node_name=f"{layer.name}__act")
    return rank


def _conv_transpose(w: OnnxWriter, layer: Layer) -> int:
    """ConvTranspose, its weights back in ONNX's (C_in, C_out/groups, kh, kw) layout."""
    op = layer.op
    assert isinstance(op, ConvTranspose)
    weights = w.weights[layer.name]
    out_channels, per_group, kh, kw = weights.weight.shape
    onnx_weight = weights.weight.reshape(op.groups, out_channels // op.groups, per_group, kh,
                                         kw).transpose(0, 2, 1, 3, 4)  # fmt: skip
    inputs = [w.constant(f"{layer.name}__weight", np.ascontiguousarray(
        onnx_weight.reshape(per_group * op.groups, out_channels // op.groups, kh, kw)))]
    if op.bias:
        inputs.append(w.constant(f"{layer.name}__bias", weights.bias))
    out = f"{layer.name}__linear" if op.activation else layer.name
    top, bottom, left, right = op.padding
    w.node("ConvTranspose", [w.as_rank4(layer, 0), *inputs], out, kernel_shape=[kh, kw],
           strides=list(op.stride), dilations=list(op.dilation), group=op.groups,
           pads=[top, left, bottom, right], output_padding=list(op.output_padding),
           node_name=layer.name)  # fmt: skip
    _activation(w, out, op.activation, layer.name, node_name=f"{layer.name}__act")
    return 4


def _pool(w: OnnxWriter, layer: Layer) -> int:
    op = layer.op
    assert isinstance(op, MaxPool | AvgPool)
    attrs = {"kernel_shape": list(op.kernel), "strides": list(op.stride),
             "ceil_mode": int(op.ceil_mode), **auto_pad(op.padding)}
    if isinstance(op, AvgPool):
        w.node("AveragePool", [w.as_rank4(layer, 0)], layer.name,
               count_include_pad=int(op.count_include_pad), **attrs)
    else:
        w.node("MaxPool", [w.as_rank4(layer, 0)], layer.name, dilations=list(op.dilation),
               **attrs)
    return 4


def _elementwise(w: OnnxWriter, layer: Layer) -> int:
    sources = [w.as_rank4(layer, i) for i in range(len(layer.inputs))]
    kind, activation = layer.kind, getattr(layer.op, "activation", None)
    out = f"{layer.name}__sum" if activation else layer.name
    if kind == "concat":
        w.node("Concat", sources, layer.name, axis=1)
    else:
        op_type = "Mul" if kind == "mul" else "Add" if len(sources) == 2 else "Sum"
        w.node(op_type, sources, out, node_name=layer.name)
        _activation(w, out, activation, layer.name, node_name=f"{layer.name}__act")
    return 4


def _single(op_type: str, rank: int | None = None, axis: int | None = None) -> Callable[..., int]:
    def write(w: OnnxWriter, layer: Layer) -> int:
        source = layer.inputs[0] if rank is None else w.as_rank4(layer, 0)
        if axis is None:
            w.node(op_type, [source], layer.name)
        else:
            w.node(op_type, [source], layer.name, axis=axis)
        return rank or w.rank[layer.inputs[0]]

    return write


def _activation_layer(w: OnnxWriter, layer: Layer) -> int:
    op = layer.op
    assert isinstance(op, Activation)
    _activation(w, layer.inputs[0], op.function, layer.name, op.alpha)
    return w.rank[layer.inputs[0]]


def _batchnorm(w: OnnxWriter, layer: Layer) -> int:
    channels = layer.output_shape.channels
    _identity_batchnorm(w, w.as_rank4(layer, 0), channels, np.zeros(channels), layer.name)
    return 4


def _lrn(w: OnnxWriter, layer: Layer) -> int:
    op = layer.op
    assert isinstance(op, LocalResponseNorm)
    w.node("LRN", [w.as_rank4(layer, 0)], layer.name, size=op.size, alpha=op.alpha,
           beta=op.beta, bias=op.bias)
    return 4


def _clip(w: OnnxWriter, layer: Layer) -> int:
    op = layer.op
    assert isinstance(op, Clip)
    bounds = [w.constant(f"{layer.name}__{side}", np.array(value, np.float32)) if value is not None
              else "" for side, value in (("min", op.minimum), ("max", op.maximum))]
    w.node("Clip", [layer.inputs[0], *bounds], layer.name)
    return w.rank[layer.inputs[0]]


def _pad(w: OnnxWriter, layer: Layer) -> int:
    op = layer.op
    assert isinstance(op, Pad)
    (top, bottom, left, right), (front, back) = op.padding, op.channel_padding
    pads = w.constant(f"{layer.name}__pads",
                      np.array([0, front, top, left, 0, back, bottom, right], np.int64))
    value = w.constant(f"{layer.name}__value", np.array(op.value, np.float32))
    w.node("Pad", [w.as_rank4(layer, 0), pads, value], layer.name, mode=op.mode)
    return 4


def _reshape_to(w: OnnxWriter, source: str, dims: list[int], output: str) -> str:
    shape = w.constant(f"{output}__shape", np.array(dims, np.int64))
    return w.node("Reshape", [source, shape], output)


def _reshape(w: OnnxWriter, layer: Layer) -> int:
    out = layer.output_shape
    _reshape_to(w, layer.inputs[0], [1, out.channels, out.height, out.width], layer.name)
    return 4


def _transpose(w: OnnxWriter, layer: Layer) -> int:
    op = layer.op
    assert isinstance(op, Transpose)
    w.node("Transpose", [w.as_rank4(layer, 0)], layer.name, perm=[0, *(p + 1 for p in op.perm)])
    return 4


def _channel_shuffle(w: OnnxWriter, layer: Layer) -> int:
    op = layer.op
    assert isinstance(op, ChannelShuffle)
    s = layer.output_shape
    split = _reshape_to(w, w.as_rank4(layer, 0),
                        [1, op.groups, s.channels // op.groups, s.height, s.width],
                        f"{layer.name}__split")
    swapped = w.node("Transpose", [split], f"{layer.name}__swap", perm=[0, 2, 1, 3, 4])
    _reshape_to(w, swapped, [1, s.channels, s.height, s.width], layer.name)
    return 4


def _channel_slice(w: OnnxWriter, layer: Layer) -> int:
    op = layer.op
    assert isinstance(op, ChannelSlice)
    bounds = [w.constant(f"{layer.name}__{part}", np.array([value], np.int64))
              for part, value in (("start", op.start), ("end", op.end), ("axis", 1))]
    w.node("Slice", [w.as_rank4(layer, 0), *bounds], layer.name)
    return 4


WRITERS: dict[str, Callable[[OnnxWriter, Layer], int]] = {
    "conv": _weighted,
    "fc": _weighted,
    "conv_transpose": _conv_transpose,
    "maxpool": _pool,
    "avgpool": _pool,
    "global_avgpool": _single("GlobalAveragePool", rank=4),
    "add": _elementwise,
    "mul": _elementwise,
    "concat": _elementwise,
    "activation": _activation_layer,
    "flatten": lambda w, layer: (w.node("Flatten", [layer.inputs[0]], layer.name, axis=1), 2)[1],
    "softmax": _single("Softmax", axis=1),
    "batchnorm": _batchnorm,
    "lrn": _lrn,
    "clip": _clip,
    "pad": _pad,
    "reshape": _reshape,
    "transpose": _transpose,
    "channel_shuffle": _channel_shuffle,
    "channel_slice": _channel_slice,
}
