"""Random one-layer quantized networks for the end-to-end bit-exactness tests.

Each builder returns a `QuantizedNetwork` with drawn quantization (power-of-two scales that create
exact .5 ties, extreme and odd zero points, int8 or uint8 activations), random int8 weights and
int32 biases, plus random input codes. The layer then runs through the engine and through the
exported ONNX (or TFLite) model.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from hypothesis import strategies as st
from qstrategies import codes, scales, zero_points

from accel.functional.accumulate import Accumulator
from accel.functional.conv_layer import layer_accumulators, prepare_array_layer
from accel.functional.schedule import Schedule
from accel.mapping.im2col import gemm_operands
from accel.model.network import LayerEntry, Network
from accel.model.ops import Op, Shape
from accel.model.quantized import QuantizedNetwork, QuantizedWeights, QuantParams

DTYPE_NAMES = {np.int8: "int8", np.uint8: "uint8"}


def quant_params(draw: st.DrawFn, dtype: type, lo_exp: int = -8, hi_exp: int = -1) -> QuantParams:
    return QuantParams(draw(scales(lo_exp, hi_exp)), draw(zero_points(dtype)), DTYPE_NAMES[dtype])


def weights_for(
    draw: st.DrawFn, rng: np.random.Generator, shape: tuple[int, ...], full_range: bool,
    uint8: bool = False,
) -> QuantizedWeights:
    """int8 weights (optionally including -128), per-channel scales, int32 bias; with `uint8`,
    half of the draws are uint8 weights with drawn zero points (one, or one per channel)."""
    out_channels = shape[0]
    per_channel = draw(st.booleans())
    w_scales = [draw(scales(-10, -4)) for _ in range(out_channels if per_channel else 1)]
    bias = rng.integers(-(2**16), 2**16, out_channels).astype(np.int32)
    if uint8 and draw(st.booleans()):
        count = out_channels if draw(st.booleans()) else 1
        zeros = np.array([draw(zero_points(np.uint8)) for _ in range(count)], np.int32)
        weight = rng.integers(0, 256, shape).astype(np.uint8)
        return QuantizedWeights(weight, np.array(w_scales, np.float32), bias, zeros)
    low = -128 if full_range else -127
    weight = rng.integers(low, 128, shape).astype(np.int8)
    return QuantizedWeights(weight, np.array(w_scales, np.float32), bias)


def one_layer(
    op: Op,
    inputs: Mapping[str, Shape],
    activations: Mapping[str, QuantParams],
    weights: QuantizedWeights | None = None,
) -> QuantizedNetwork:
    """A network of one layer named `layer` reading every graph input in order."""
    network = Network.build("single", dict(inputs), [LayerEntry("layer", op, tuple(inputs))])
    qweights = {"layer": weights} if weights is not None else {}
    return QuantizedNetwork(network, dict(activations), qweights)


def input_codes(
    rng: np.random.Generator, qnet: QuantizedNetwork, batch: int
) -> dict[str, np.ndarray]:
    """Random codes of every graph input's type."""
    out = {}
    for name, s in qnet.network.inputs:
        dtype = np.dtype(qnet.activations[name].dtype).type
        out[name] = codes(rng, dtype, (batch, s.channels, s.height, s.width))
    return out


def centred_gemm(qnet: QuantizedNetwork, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The im2col operands (groups, M, K) and (groups, K, N) of the array layer `layer`, zero
    points subtracted as the array sees them (int64, `accel.mapping.im2col` order)."""
    layer = qnet.network.layer("layer")
    weights, xq = qnet.weights["layer"], qnet.activations[layer.inputs[0]]
    centred_x = x.astype(np.int64) - xq.zero_point
    return gemm_operands(layer, centred_x, weights.centred().astype(np.int64))


def engine_accumulators(
    qnet: QuantizedNetwork, x: np.ndarray, schedule: Schedule | None, accumulator: Accumulator
) -> tuple[np.ndarray, int]:
    """The engine's (groups, M, N) accumulators of the array layer `layer` (bias included) and
    how many of them the narrow width changed."""
    layer = qnet.network.layer("layer")
    prepared = prepare_array_layer(layer, qnet, "onnx")
    acc = layer_accumulators(prepared, x, qnet.activations[layer.inputs[0]], schedule, accumulator)
    m, groups = acc.values.shape[0], layer.gemm.groups if layer.gemm else 1
    values = acc.values.astype(np.int64).reshape(m, groups, -1).transpose(1, 0, 2)
    return values, acc.overflowed
