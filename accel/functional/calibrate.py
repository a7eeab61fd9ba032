"""Post-training quantization: from float weights to the int8 model the chip stores.

`quantize_network` gives a network without trained weights seeded He-initialised ones
(`accel.functional.weights`), runs the float32 model (`accel.functional.reference`) on seeded
random images, and turns each tensor's observed range (min/max, or a percentile of |x|) into
per-tensor affine int8 (or uint8) quantization. Weights become int8 per output channel,
symmetric (zero point 0, [-127, 127]); biases int32 at ifmap_scale · weight_scale[o].

Some tensors share one quantization, as hardware and both reference runtimes need:
a pooling, flatten, resize, block-move or channel-slice layer keeps its input's (max pooling
never rescales; TFLite's pools require it), also when that input is a tanh, sigmoid or softmax
with its fixed output quantization; a concat's inputs take the concat's output quantization, so
the branches write straight into one buffer. A softmax or a sigmoid outputs probabilities at
scale 1/256 (TFLite's only int8 output quantization for both; onnxruntime takes any), a tanh
at 1/128.
The same seed gives the same quantized model on every machine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Literal

import numpy as np
import numpy.typing as npt

from accel.functional.inputs import normal_images
from accel.functional.reference import forward
from accel.functional.weights import random_batchnorms, random_weights
from accel.model.network import Network
from accel.model.ops import (
    ChannelSlice,
    Concat,
    DepthToSpace,
    Flatten,
    PRelu,
    Resize,
    Softmax,
    SpaceToDepth,
)
from accel.model.pool_ops import AvgPool, GlobalAvgPool, MaxPool
from accel.model.quantized import (
    QMIN_QMAX,
    ActivationDtype,
    FloatWeights,
    LayerAttributes,
    QuantizedNetwork,
    QuantizedWeights,
    QuantParams,
)

F32 = npt.NDArray[np.float32]
# Layers whose output shares their input's quantization: pools and flatten (TFLite's pools
# require it), resizes and block moves (they copy codes), channel slices (an offset into the
# source's buffer).
KEEPS_QUANTIZATION = (MaxPool | AvgPool | GlobalAvgPool | Flatten | Resize | DepthToSpace
                      | SpaceToDepth | ChannelSlice)  # fmt: skip
Method = Literal["minmax", "percentile"]
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def calibration_inputs(network: Network, seed: int, images: int) -> dict[str, F32]:
    """Seeded standard-normal images (what a normalized photo looks like to the first layer)."""
    return normal_images(network, images, seed, stream=0x5EED)


def quantize_network(
    network: Network,
    weights: Mapping[str, FloatWeights] | None = None,
    *,
    seed: int = 0,
    images: int = 4,
    method: Method = "minmax",
    percentile: float = 99.99,
    activation_dtype: ActivationDtype = "int8",
    on_step: Callable[[str], None] | None = None,
) -> QuantizedNetwork:
    """Calibrate on `images` seeded random inputs and quantize weights and activations;
    `on_step` is told of each step done (the weights, each layer of the float run, the
    quantization): `calibration_steps` of them."""
    float_weights = dict(weights) if weights is not None else random_weights(network, seed)
    # Seeded weights come with seeded standalone BatchNorms; a file's float weights do not
    # carry its BatchNorm constants, so such a BatchNorm stays refused by `forward`.
    norms = random_batchnorms(network, seed) if weights is None else {}
    if on_step is not None:
        on_step("float weights")
    tensors = forward(network, float_weights, calibration_inputs(network, seed, images), on_step,
                      norms)  # fmt: skip
    ranges = {name: _observed_range(t, method, percentile) for name, t in tensors.items()}
    activations = {
        name: activation_params(low, high, activation_dtype)
        for name, (low, high) in _shared_ranges(network, ranges).items()
    }
    for layer in network.layers:
        if isinstance(layer.op, Softmax) or getattr(layer.op, "function", None) == "sigmoid":
            activations[layer.name] = QuantParams(1.0 / 256.0, QMIN_QMAX[activation_dtype][0],
                                                  activation_dtype)  # fmt: skip
        if getattr(layer.op, "function", None) == "tanh":  # TFLite's only tanh output
            zero = 0 if activation_dtype == "int8" else 128
            activations[layer.name] = QuantParams(1.0 / 128.0, zero, activation_dtype)
    for layer in network.layers:  # after those fixed outputs, what keeps its input's keeps it
        sources = {activations[name] for name in layer.inputs}
        if isinstance(layer.op, KEEPS_QUANTIZATION) or (isinstance(layer.op, Concat)
                                                        and len(sources) == 1):
            activations[layer.name] = activations[layer.inputs[0]]
    quantized = {
        layer.name: quantize_weights(float_weights[layer.name], activations[layer.inputs[0]].scale)
        for layer in network.layers
        if layer.uses_array
    }
    if on_step is not None:
        on_step("weights quantized")
    attributes: dict[str, LayerAttributes] = {name: {"batchnorm": c} for name, c in norms.items()}
    attributes.update((name, prelu_attributes(w.weight)) for name, w in float_weights.items()
                      if isinstance(network.layer(name).op, PRelu))  # fmt: skip
    return QuantizedNetwork(network, activations, quantized, attributes)


def calibration_steps(network: Network) -> int:
    """How many steps `quantize_network` reports."""
    return len(network.layers) + 2


def prelu_attributes(slopes: F32) -> LayerAttributes:
    """A PReLU's slopes as float32 (onnx mode) and as symmetric int8 codes at one scale
    (TFLite's PRELU alpha tensor)."""
    real = np.asarray(slopes, np.float32).reshape(-1)
    scale = float(np.float32(max(float(np.abs(real).max()), 1e-8) / 127.0))
    codes = np.clip(np.round(real / np.float32(scale)), -127, 127).astype(np.int8)
    return {"slopes": real, "slope_codes": codes, "slope_quant": QuantParams(scale, 0, "int8")}


def _observed_range(t: F32, method: Method, percentile: float) -> tuple[float, float]:
    if method == "minmax":
        return float(t.min(initial=0.0)), float(t.max(initial=0.0))
    low, high = np.percentile(t, [100.0 - percentile, percentile])
    return float(low), float(high)


def _shared_ranges(
    network: Network, ranges: Mapping[str, tuple[float, float]]
) -> dict[str, tuple[float, float]]:
    """Union of the ranges of tensors that must share one quantization (union-find)."""
    parent = {name: name for name in ranges}

    def root(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    for layer in network.layers:
        if isinstance(layer.op, KEEPS_QUANTIZATION | Concat):
            for source in layer.inputs:
                parent[root(source)] = root(layer.name)
    merged: dict[str, tuple[float, float]] = {}
    for name, (low, high) in ranges.items():
        old_low, old_high = merged.get(root(name), (low, high))
        merged[root(name)] = (min(old_low, low), max(old_high, high))
    return {name: merged[root(name)] for name in ranges}


def activation_params(low: float, high: float, dtype: ActivationDtype = "int8") -> QuantParams:
    """Affine quantization covering [low, high] and 0 (so zero padding is exact)."""
    qmin, qmax = QMIN_QMAX[dtype]
    low, high = min(low, 0.0), max(high, 0.0)
    span = high - low if high > low else 1.0
    scale = float(np.float32(span / (qmax - qmin)))
    zero_point = int(np.clip(round(qmin - low / scale), qmin, qmax))
    return QuantParams(scale, zero_point, dtype)


def quantize_weights(weights: FloatWeights, ifmap_scale: float) -> QuantizedWeights:
    """Per-output-channel symmetric int8 weights and int32 biases."""
    w = np.asarray(weights.weight, dtype=np.float32)
    out_channels = w.shape[0]
    abs_max = np.abs(w.reshape(out_channels, -1)).max(axis=1)
    scales = np.where(abs_max > 0, abs_max / np.float32(127.0), np.float32(1.0)).astype(np.float32)
    per_channel = scales.reshape((out_channels,) + (1,) * (w.ndim - 1))
    q = np.clip(np.rint(w / per_channel), -127, 127).astype(np.int8)
    bias_scale = np.float64(np.float32(ifmap_scale)) * scales.astype(np.float64)
    bias = np.rint(np.asarray(weights.bias, np.float64) / bias_scale)
    return QuantizedWeights(q, scales, np.clip(bias, INT32_MIN, INT32_MAX).astype(np.int32))
