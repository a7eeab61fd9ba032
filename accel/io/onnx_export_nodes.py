"""The nodes of a quantized network's QOperator ONNX export: the graph being built (nodes and
initializers, each tensor's scale and zero point) and the nodes of its vector layers — integer
contrib kernels where onnxruntime has one, DequantizeLinear → float op → QuantizeLinear where it
has none, block moves on the codes. `accel.io.onnx_export` walks the network and adds the
array layers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from accel.model.network import Layer
from accel.model.ops import Activation, Add
from accel.model.quantized import QuantizedNetwork
from accel.model.resample_ops import DepthToSpace, Resize, SpaceToDepth

MS_DOMAIN = "com.microsoft"
_FLOAT_OP = {"relu": "Relu", "relu6": "Clip", "hswish": "HardSwish", "hsigmoid": "HardSigmoid",
             "tanh": "Tanh", "hard_sigmoid": "HardSigmoid"}
_STANDARD = {"QLinearConv", "QLinearMatMul"}  # the other QLinear ops are com.microsoft's
NodeArgs = tuple[str, list[str], list[str], dict[str, Any]]


@dataclass
class QGraph:
    """Nodes and initializers collected while walking the network."""

    qnet: QuantizedNetwork
    nodes: list[Any] = field(default_factory=list)
    initializers: dict[str, np.ndarray] = field(default_factory=dict)

    def const(self, name: str, value: np.ndarray) -> str:
        self.initializers[name] = value
        return name

    def quant(self, tensor: str) -> tuple[str, str]:
        """Initializers of a tensor's scale (float32 scalar) and zero point (its type)."""
        p = self.qnet.activations[tensor]
        scale = self.const(f"{tensor}.scale", np.array(p.scale, np.float32))
        return scale, self.const(f"{tensor}.zero_point", np.array(p.zero_point, p.dtype))

    def node(self, op: str, inputs: list[str], outputs: list[str], **attrs: Any) -> None:
        from onnx import helper

        domain = MS_DOMAIN if op.startswith("QLinear") and op not in _STANDARD else None
        self.nodes.append(helper.make_node(op, inputs, outputs, domain=domain, **attrs))



def binary_nodes(graph: QGraph, layer: Layer, x: list[str], y: str) -> Iterator[NodeArgs]:
    # An n-ary add is a chain of QLinearAdds, each partial sum at the output's quantization.
    op_type = "QLinearAdd" if isinstance(layer.op, Add) else "QLinearMul"
    y_q = graph.quant(layer.name)
    left, left_q = x[0], graph.quant(layer.inputs[0])
    last = len(x) - 1
    for i, (right, source) in enumerate(zip(x[1:], layer.inputs[1:], strict=True), start=1):
        out = y if i == last else f"{layer.name}.partial{i}"
        yield op_type, [left, *left_q, right, *graph.quant(source), *y_q], [out], {}
        left, left_q = out, y_q


def activation_nodes(
    graph: QGraph, op: Activation, source: str, x: str, y: str
) -> Iterator[NodeArgs]:
    x_q, y_q = graph.quant(source), graph.quant(y)
    if op.function == "sigmoid":
        yield "QLinearSigmoid", [x, *x_q, *y_q], [y], {}
    elif op.function == "leaky_relu":
        yield "QLinearLeakyRelu", [x, *x_q, *y_q], [y], {"alpha": op.alpha}
    elif op.function == "hard_sigmoid":
        yield from float_chain(graph, op.function, source, x, y,
                                {"alpha": op.alpha, "beta": op.beta})
    else:
        yield from float_chain(graph, op.function, source, x, y)


def resize_nodes(graph: QGraph, layer: Layer, x: str) -> Iterator[NodeArgs]:
    """Resize on the codes, as quantize_static's QOperator form leaves it (its QDQ form's
    DequantizeLinear → Resize → QuantizeLinear at one quantization is fused to the same)."""
    op, y = layer.op, layer.name
    assert isinstance(op, Resize)
    if op.scale is not None:  # axes (opset 18) leave batch and channels alone
        inputs = [x, "", graph.const(f"{y}.scales", np.array(op.scale, np.float32))]
    else:
        shape = layer.input_shapes[0]
        sizes = np.array(op.output_size(shape.height, shape.width), np.int64)
        inputs = [x, "", "", graph.const(f"{y}.sizes", sizes)]
    attrs = {"mode": "linear" if op.mode == "bilinear" else "nearest",
             "coordinate_transformation_mode": op.coordinate_mode,
             "nearest_mode": op.nearest_mode, "axes": [2, 3]}  # fmt: skip
    yield "Resize", inputs, [y], attrs


def block_move_nodes(graph: QGraph, layer: Layer, x: str) -> Iterator[NodeArgs]:
    """DepthToSpace / SpaceToDepth on the codes; between two quantizations DequantizeLinear →
    move → QuantizeLinear, as quantize_static leaves these ops (float, not in its registries)."""
    op, y = layer.op, layer.name
    assert isinstance(op, DepthToSpace | SpaceToDepth)
    attrs: dict[str, Any] = {"blocksize": op.block}
    if isinstance(op, DepthToSpace):
        attrs["mode"] = op.order
    op_type = "DepthToSpace" if isinstance(op, DepthToSpace) else "SpaceToDepth"
    if graph.qnet.activations[layer.inputs[0]] == graph.qnet.activations[y]:
        yield op_type, [x], [y], attrs
        return
    real, result = f"{y}.real", f"{y}.real_out"
    yield "DequantizeLinear", [x, *graph.quant(layer.inputs[0])], [real], {}
    yield op_type, [real], [result], attrs
    yield "QuantizeLinear", [result, *graph.quant(y)], [y], {}


def prelu_nodes(graph: QGraph, layer: Layer, x: str) -> Iterator[NodeArgs]:
    """DequantizeLinear → PRelu (float32: onnxruntime has no integer PRelu) → QuantizeLinear,
    the slopes shaped to broadcast over (N, C, H, W): (C, 1, 1), or (1,) when shared."""
    y = layer.name
    slopes = np.asarray(graph.qnet.attributes[y]["slopes"], np.float32).reshape(-1)
    shaped = slopes.reshape(-1, 1, 1) if slopes.size > 1 else slopes
    real, result = f"{y}.real", f"{y}.real_out"
    yield "DequantizeLinear", [x, *graph.quant(layer.inputs[0])], [real], {}
    yield "PRelu", [real, graph.const(f"{y}.slopes", shaped)], [result], {}
    yield "QuantizeLinear", [result, *graph.quant(y)], [y], {}


def batchnorm_nodes(graph: QGraph, layer: Layer, x: str) -> Iterator[NodeArgs]:
    """DequantizeLinear → BatchNormalization (float32, as onnxruntime leaves it: no integer
    kernel exists) → QuantizeLinear."""
    y, constants = layer.name, graph.qnet.attributes[layer.name]["batchnorm"]
    real, result = f"{y}.real", f"{y}.real_out"
    yield "DequantizeLinear", [x, *graph.quant(layer.inputs[0])], [real], {}
    parts = [graph.const(f"{y}.bn_{part}", getattr(constants, part))
             for part in ("scale", "bias", "mean", "variance")]  # fmt: skip
    yield "BatchNormalization", [real, *parts], [result], {"epsilon": constants.epsilon}
    yield "QuantizeLinear", [result, *graph.quant(y)], [y], {}


def float_chain(graph: QGraph, function: str, source: str, x: str, y: str,
                 attrs: dict[str, Any] | None = None) -> Iterator[NodeArgs]:
    """DequantizeLinear → float function (with `attrs`) → QuantizeLinear (at y's quantization)."""
    real, result = f"{y}.real", f"{y}.real_out"
    yield "DequantizeLinear", [x, *graph.quant(source)], [real], {}
    inputs, attrs = [real], attrs or {}
    if function == "relu6":
        inputs += [graph.const("relu6.min", np.array(0.0, np.float32)),
                   graph.const("relu6.max", np.array(6.0, np.float32))]  # fmt: skip
    if function == "hsigmoid":
        attrs = {"alpha": 1.0 / 6.0, "beta": 0.5}
    yield _FLOAT_OP[function], inputs, [result], attrs
    yield "QuantizeLinear", [result, *graph.quant(y)], [y], {}
