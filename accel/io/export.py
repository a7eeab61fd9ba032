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
  layer is a 1×1 ifmap with one channel per input feature. A transposed conv is refused: SCALE-Sim
  has none, and the dense conv it becomes depends on the chip's `array.conv_transpose`.
- YAML: `network_to_yaml`, a concrete workload file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from accel.errors import InputError
from accel.functional.weights import random_weights
from accel.io.onnx_export_ops import WRITERS, OnnxWriter
from accel.model.network import Layer, Network
from accel.model.ops import Conv, ConvTranspose, FullyConnected

SCALESIM_HEADER = (
    "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
    "Strides,"
)


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
        elif isinstance(op, ConvTranspose):
            raise InputError(
                f"layer {layer.name!r} (conv_transpose) cannot be exported to a SCALE-Sim "
                "topology: SCALE-Sim has no transposed convolution (its zero-insertion or "
                "sub-pixel conv depends on the chip's array.conv_transpose)"
            )
        else:
            continue
        lines.append(f"{name}, " + ", ".join(str(value) for value in row) + ",")
    return "\n".join(lines) + "\n"


def onnx_model(network: Network, seed: int = 0) -> Any:
    """`network` as a float ONNX model with seeded random weights (see module doc)."""

    writer = OnnxWriter(network, random_weights(network, seed))
    for layer in network.layers:
        write: Callable[[OnnxWriter, Layer], int] | None = WRITERS.get(layer.kind)
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
