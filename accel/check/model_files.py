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

from accel.check.ort_graph import Location, OrtGraph, optimize
from accel.errors import InputError
from accel.io.imported import ImportedModel
from accel.model.quantized import FloatWeights, QuantizedNetwork
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


def require_quantized(model: ImportedModel) -> QuantizedNetwork:
    """The file's int8 model, with int8 weights for every conv and fc layer. Layers whose
    output the file leaves in float32 are allowed: the engine runs them as float ops."""
    qnet = model.quantized
    assert qnet is not None
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
