"""Writing accel's networks in other tools' formats: ONNX, SCALE-Sim topology CSV, workload YAML.

- ONNX (float): every layer as standard ONNX operators (opset 14), weights from
  `random_weights(network, seed)`. A conv/fc with `batchnorm` gets an identity BatchNormalization
  (scale 1, mean 0, variance 1, epsilon 0) after it so that importing the file gives back the
  same layers, parameters and weights. With `quantized`, the network is calibrated and
  quantized as `--check` does (`quantize_network(network, seed=seed)`) and written in QOperator
  form (QLinearConv, com.microsoft QLinearAdd, ...), every layer's int8 output a graph output.
- SCALE-Sim topology CSV: one row per conv/fc layer. SCALE-Sim has no padding, groups or
  dilation and sizes the ofmap as `ceil((H − R) / stride) + 1`, so each row gives the ifmap
  extent the layer actually reads, `(out − 1) · stride + kernel` (the ofmap and MACs are then
  exact; dilation changes only which pixels are read), `Channels` = input channels per group
  (a depthwise conv becomes one dense row with the same MACs, as SCALE-Sim users write it), and
  the vertical stride (a horizontal stride that differs is folded into the ifmap width). An fc
  layer is a 1×1 ifmap with one channel per input feature.
- YAML: `network_to_yaml`, a concrete workload file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from accel.errors import InputError
from accel.functional.qmodel import FloatWeights
from accel.functional.weights import random_weights
from accel.io.onnx_graph import require_onnx
from accel.model.network import Layer, Network
from accel.model.ops import Conv, FullyConnected

SCALESIM_HEADER = (
    "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
    "Strides,"
)
_AUTO_PAD = {"same": "SAME_UPPER", "same_upper": "SAME_UPPER", "same_lower": "SAME_LOWER",
             "valid": "VALID"}
ONNX_OPSET = 14


def scalesim_csv(network: Network) -> str:
    """The conv and fc layers of `network` as a SCALE-Sim topology CSV (see module doc)."""
    lines = [SCALESIM_HEADER]
    for layer in network.layers:
        op, name = layer.op, layer.name.replace(",", "_")
        if isinstance(op, Conv):
            out = layer.output_shape
            height = (out.height - 1) * op.stride[0] + op.kernel[0]
            width = (out.width - 1) * op.stride[0] + op.kernel[1]
            channels = layer.input_shapes[0].channels // op.groups
            row = (height, width, op.kernel[0], op.kernel[1], channels, op.out_channels,
                   op.stride[0])
        elif isinstance(op, FullyConnected):
            row = (1, 1, 1, 1, layer.input_shapes[0].elements, op.out_features, 1)
        else:
            continue
        lines.append(f"{name}, " + ", ".join(str(value) for value in row) + ",")
    return "\n".join(lines) + "\n"


class _OnnxWriter:
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


def onnx_model(network: Network, seed: int = 0) -> Any:
    """`network` as a float ONNX model with seeded random weights (see module doc)."""
    from accel.io.onnx_export_ops import WRITERS

    writer = _OnnxWriter(network, random_weights(network, seed))
    for layer in network.layers:
        write: Callable[[_OnnxWriter, Layer], int] | None = WRITERS.get(layer.kind)
        if write is None:
            raise InputError(f"layer {layer.name!r} ({layer.kind}) cannot be exported to ONNX")
        writer.rank[layer.name] = write(writer, layer)
    return writer.model()


def export_network(network: Network, fmt: str, seed: int = 0, quantized: bool = False) -> bytes:
    """The bytes of `network` in format `onnx`, `scalesim-csv` or `yaml`."""
    if quantized and fmt != "onnx":
        raise InputError(f"--quantized applies to the onnx format, not {fmt!r}")
    if quantized:
        from accel.functional.calibrate import quantize_network
        from accel.io.onnx_export import build_quantized_onnx

        return bytes(build_quantized_onnx(quantize_network(network, seed=seed)).SerializeToString())
    if fmt == "onnx":
        return bytes(onnx_model(network, seed).SerializeToString())
    if fmt == "scalesim-csv":
        return scalesim_csv(network).encode()
    if fmt == "yaml":
        from accel.io.workload_yaml import network_to_yaml

        return network_to_yaml(network).encode()
    raise InputError(f"format must be one of onnx, scalesim-csv, yaml, not {fmt!r}")


def auto_pad(padding: object) -> dict[str, Any]:
    """ONNX padding attributes for an IR padding."""
    if isinstance(padding, str):
        return {"auto_pad": _AUTO_PAD[padding]}
    assert isinstance(padding, tuple)
    top, bottom, left, right = padding
    return {"pads": [top, left, bottom, right]}
