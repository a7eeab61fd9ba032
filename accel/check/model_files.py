"""What a functional run takes from an imported model file.

A float model (ONNX or TFLite) brings trained weights, which calibration quantizes instead of
seeded random ones. A statically quantized model brings the whole `QuantizedNetwork`: its own
int8 weights, biases and every activation's scale and zero point. For a quantized ONNX model,
onnxruntime's optimized graph then says which layers ORT computes in float32 (QDQ groups it did
not fuse); those layers are marked so the engine reproduces ORT's float arithmetic.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from accel.check.ort_graph import Location, OrtGraph, optimize, producers_of
from accel.errors import InputError
from accel.io.imported import ImportedModel
from accel.io.onnx_ops.conv_transpose import conv_layout
from accel.io.onnx_weights import quantized_weights
from accel.model.network import Layer
from accel.model.quantized import FloatWeights, QuantizedNetwork, QuantizedWeights
from accel.model.resample_ops import Resize


def file_float_weights(model: ImportedModel) -> dict[str, FloatWeights]:
    """The float weights of every conv and fc layer, or a one-line error naming one without."""
    for layer in model.network.layers:
        if layer.uses_array and layer.name not in model.float_weights:
            raise InputError(
                f"{model.source}: layer {layer.name!r} must have its weights in the file for a "
                "functional run (they are missing or in an external data file that is absent)"
            )
    return dict(model.float_weights)


def require_quantized(model: ImportedModel, graph: OrtGraph | None = None) -> QuantizedNetwork:
    """The file's int8 model, with int8 weights for every conv and fc layer. Layers whose
    output the file leaves in float32 are allowed: the engine runs them as float ops. A layer
    the file leaves with float weights takes those onnxruntime's optimized `graph` makes."""
    qnet = model.quantized
    assert qnet is not None
    if graph is not None:
        qnet = _with_ort_weights(qnet, model, graph)
    for layer in qnet.network.layers:
        if layer.uses_array and layer.name not in qnet.weights:
            raise InputError(
                f"{model.source}: layer {layer.name!r} must have 8-bit weights (int8 or uint8, "
                "per-tensor or per output channel) for a functional run of a quantized model"
            )
    missing = [name for name, _ in qnet.network.inputs if name not in qnet.activations]
    if missing:
        raise InputError(
            f"{model.source}: graph input {missing[0]!r} must be quantized (a QuantizeLinear or "
            "an int8/uint8 input) for a functional run"
        )
    return qnet


def _with_ort_weights(qnet: QuantizedNetwork, model: ImportedModel,
                      graph: OrtGraph) -> QuantizedNetwork:  # fmt: skip
    """`qnet` with 8-bit weights for each conv / transposed conv the file leaves with float
    weights between a DequantizeLinear and its readers (`quantize_static`'s QOperator form
    of a ConvTranspose): onnxruntime's optimizer (its WeightBiasQuantization pass) quantizes
    such weights to int8 and the bias to int32, and runs the float op on their
    DequantizeLinear; the folded values are read from its optimized graph."""
    found = {}
    for layer in qnet.network.layers:
        if layer.uses_array and layer.name not in qnet.weights:
            ort = _ort_weights(graph, model.tensor_names.get(layer.name, ""), layer)
            if ort is not None:
                found[layer.name] = ort
    if not found:
        return qnet
    attributes = {name: dict(values) for name, values in qnet.attributes.items()}
    for name, (_, bias) in found.items():
        attributes.setdefault(name, {})["float_bias"] = bias
    weights = {**qnet.weights, **{name: w for name, (w, _) in found.items()}}
    return replace(qnet, weights=weights, attributes=attributes)  # type: ignore[arg-type]


def _ort_weights(graph: OrtGraph, tensor: str, layer: Layer
                 ) -> tuple[QuantizedWeights, np.ndarray] | None:  # fmt: skip
    """The int8 weights and the float32 bias (DequantizeLinear of its int32) onnxruntime runs
    `layer`'s float node with, or None if its optimized graph holds none."""
    op_type = {"conv_transpose": "ConvTranspose", "conv": "Conv"}.get(layer.kind)
    user = producers_of(graph.user.graph)
    node = user.get(tensor)
    while node is not None and node.op_type in ("QuantizeLinear", "Relu"):  # to the float op
        node = user.get(node.input[0])
    if op_type is None or node is None or node.op_type != op_type:
        return None
    optimized = graph.optimized.graph
    ort_node = next((n for n in optimized.node
                     if n.op_type == op_type and n.output[0] == node.output[0]), None)  # fmt: skip
    producers, constants = producers_of(optimized), _initializers(optimized)
    dq = producers.get(ort_node.input[1]) if ort_node is not None else None
    if ort_node is None or dq is None or dq.op_type != "DequantizeLinear" or any(
            name not in constants for name in dq.input):  # fmt: skip
        return None
    values, scale, zero = (constants[name] for name in dq.input[:3])
    groups = int(getattr(layer.op, "groups", 1))
    if op_type == "ConvTranspose":
        values = conv_layout(values, groups)
    weights = quantized_weights(values, scale, zero, None, transpose=False)
    bias_dq = producers.get(ort_node.input[2]) if len(ort_node.input) > 2 else None
    if weights is None or (len(ort_node.input) > 2 and (
            bias_dq is None or any(name not in constants for name in bias_dq.input))):
        return None  # fmt: skip
    if bias_dq is None:
        return weights, np.zeros(weights.weight.shape[0], np.float32)
    centred = constants[bias_dq.input[0]].astype(np.int64).astype(np.float32)
    bias = (centred * np.asarray(constants[bias_dq.input[1]], np.float32)).astype(np.float32)
    return weights, bias.reshape(-1)


def _initializers(graph: Any) -> dict[str, np.ndarray]:
    from onnx import numpy_helper

    return {init.name: numpy_helper.to_array(init) for init in graph.initializer}


def optimized_graph(path: str, required: bool) -> OrtGraph | None:
    """onnxruntime's optimized graph of `path`; None if onnxruntime is missing and not
    `required` (the engine then assumes every QDQ group is fused)."""
    if not path.lower().endswith(".onnx"):
        raise InputError(f"functional runs of quantized models need an .onnx file, not {path!r}")
    if not required and importlib.util.find_spec("onnxruntime") is None:
        return None
    return optimize(path)


def with_float_ops(qnet: QuantizedNetwork, locations: Mapping[str, Location]) -> QuantizedNetwork:
    """`qnet` with each layer ORT computes in float32 marked by its float op, each fused
    layer ORT runs on uint8 codes (int8 + 128) marked as such, and each Resize on codes ORT
    holds channels-last marked (its linear mode has an NHWC integer kernel of its own)."""
    attributes = {name: values.copy() for name, values in qnet.attributes.items()}
    layers = {layer.name for layer in qnet.network.layers}
    resizes = {layer.name for layer in qnet.network.layers if isinstance(layer.op, Resize)}
    for name, location in locations.items():
        if name not in layers:
            continue
        if location.float_op is not None:
            attributes.setdefault(name, {})["onnxruntime_float_op"] = location.float_op
        elif location.offset:  # a fused kernel on int8 tensors that ORT made uint8
            attributes.setdefault(name, {})["onnxruntime_uint8"] = True
        if location.float_op is None and location.nhwc and name in resizes:
            attributes.setdefault(name, {})["onnxruntime_nhwc"] = True
    return replace(qnet, attributes=attributes)
