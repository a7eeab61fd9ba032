"""Seeded random float weights for networks that come without trained ones (the built-in zoo).

He-style initialisation (normal, std = sqrt(2 / fan_in)) keeps activations in a stable range
through ReLU networks, so calibration and int8 quantization see realistic value distributions.
Biases stand for folded BatchNorm shifts: small and random. The same seed gives the same weights
on every machine (numpy's PCG64 stream is platform-independent).
"""

from __future__ import annotations

import zlib

import numpy as np

from accel.model.network import Layer, Network
from accel.model.ops import BatchNorm, Conv, ConvTranspose, FullyConnected
from accel.model.quantized import BatchNormConstants, FloatWeights
from accel.model.resample_ops import PRelu


def weight_shape(layer: Layer) -> tuple[int, ...]:
    """The weight tensor shape of a conv, transposed conv or fc layer."""
    op = layer.op
    if isinstance(op, Conv | ConvTranspose):
        in_channels = layer.input_shapes[0].channels // op.groups
        return (op.out_channels, in_channels, op.kernel[0], op.kernel[1])
    if isinstance(op, FullyConnected):
        return (op.out_features, layer.input_shapes[0].elements)
    raise ValueError(f"layer must be conv or fc to have weights, not {layer.kind!r}")


def random_weights(network: Network, seed: int = 0) -> dict[str, FloatWeights]:
    """He-initialised float weights and small biases for every conv and fc layer.

    Each layer draws from its own stream (seeded by the network seed and the layer's name), so
    a layer's weights do not change when an unrelated layer is added or removed.
    """
    weights = {}
    for layer in network.layers:
        if isinstance(layer.op, PRelu):  # slopes in [0.05, 0.35), as trained PReLUs have
            rng = np.random.default_rng([seed, zlib.crc32(layer.name.encode())])
            slopes = np.float32(0.05) + np.float32(0.3) * rng.random(layer.weight_elements,
                                                                     dtype=np.float32)
            weights[layer.name] = FloatWeights(slopes, np.zeros(0, np.float32))
        if not layer.uses_array:
            continue
        rng = np.random.default_rng([seed, zlib.crc32(layer.name.encode())])
        shape = weight_shape(layer)
        fan_in = int(np.prod(shape[1:]))
        # float32 draws (ziggurat) are ~4x faster than float64 + cast: VGG16 has 138 M weights.
        std = np.float32(np.sqrt(2.0 / fan_in))
        weight = rng.standard_normal(shape, dtype=np.float32)
        weight *= std
        bias = rng.standard_normal(shape[0], dtype=np.float32) * np.float32(0.1)
        weights[layer.name] = FloatWeights(weight, bias)
    return weights


def random_batchnorms(network: Network, seed: int = 0) -> dict[str, BatchNormConstants]:
    """Seeded constants of every standalone BatchNorm (one that folds into no conv, as
    DenseNet's pre-activation ones): scale and variance in [0.5, 1.5), bias and mean ~ N(0, 0.1),
    epsilon 1e-5 — a trained BatchNorm's typical ranges. Each layer draws from its own stream."""
    norms = {}
    for layer in network.layers:
        if not isinstance(layer.op, BatchNorm):
            continue
        rng = np.random.default_rng([seed, zlib.crc32(layer.name.encode()), 0xB4])
        channels = layer.input_shapes[0].channels
        scale, variance = (rng.uniform(0.5, 1.5, channels).astype(np.float32) for _ in range(2))
        bias, mean = (rng.normal(0.0, 0.1, channels).astype(np.float32) for _ in range(2))
        norms[layer.name] = BatchNormConstants(scale, bias, mean, variance, 1e-5)
    return norms
