"""Calibration and quantization of the zoo: deterministic, well-scaled, and true to the float model."""

from __future__ import annotations

import numpy as np
import pytest

from accel.functional.calibrate import (
    activation_params,
    calibration_inputs,
    quantize_network,
    quantize_weights,
)
from accel.functional.engine import prepare, run
from accel.functional.inputs import prepare_inputs, random_images
from accel.functional.reference import forward
from accel.functional.requant import dequantize_linear
from accel.functional.weights import random_weights
from accel.io.sources import load_network
from accel.model.quantized import FloatWeights, QuantParams


def test_same_seed_same_model_and_another_seed_another() -> None:
    network = load_network("mobilenet_v3_small", {"resolution": 32})
    a, b, c = (quantize_network(network, seed=s, images=2) for s in (0, 0, 1))
    assert a.activations == b.activations
    for name, weights in a.weights.items():
        np.testing.assert_array_equal(weights.weight, b.weights[name].weight)
        np.testing.assert_array_equal(weights.bias, b.weights[name].bias)
    assert a.activations != c.activations
    # Pinned values: the stream is numpy's PCG64, identical on every platform.
    assert a.activations["input"] == QuantParams(0.0282991174608469, 3)


def test_weights_are_symmetric_per_channel_and_bias_is_int32_at_the_product_scale() -> None:
    rng = np.random.default_rng(0)
    weight = rng.normal(0, 0.1, (4, 3, 3, 3)).astype(np.float32)
    weight[2] = 0.0  # an all-zero channel keeps scale 1
    bias = rng.normal(0, 0.1, 4).astype(np.float32)
    q = quantize_weights(FloatWeights(weight, bias), ifmap_scale=0.02)
    assert q.weight.dtype == np.int8 and q.bias.dtype == np.int32
    assert list(np.abs(q.weight).reshape(4, -1).max(axis=1)) == [127, 127, 0, 127]
    expected_scales = np.abs(weight).reshape(4, -1).max(axis=1) / np.float32(127)
    expected_scales[2] = 1.0
    np.testing.assert_array_equal(q.weight_scales, expected_scales.astype(np.float32))
    product = np.float64(np.float32(0.02)) * q.weight_scales.astype(np.float64)
    np.testing.assert_array_equal(q.bias, np.rint(bias.astype(np.float64) / product))


@pytest.mark.parametrize(
    ("low", "high", "dtype", "expected"),
    [
        (0.0, 2.55, "int8", QuantParams(0.01, -128)),  # after a ReLU: zero is the type minimum
        (-1.0, 1.0, "int8", QuantParams(2 / 255, -1, "int8")),  # f32(2/255) > 2/255
        (0.5, 2.0, "uint8", QuantParams(2 / 255, 0, "uint8")),  # the range always covers zero
        (0.0, 0.0, "int8", QuantParams(1 / 255, -128)),  # a constant-zero tensor
    ],
)
def test_activation_params_cover_the_range_and_zero(
    low: float, high: float, dtype: str, expected: QuantParams
) -> None:
    assert activation_params(low, high, dtype) == expected  # type: ignore[arg-type]


def test_pools_flatten_and_concat_share_their_inputs_quantization() -> None:
    network = load_network("googlenet", {"resolution": 32})
    qnet = quantize_network(network, images=1)
    act = qnet.activations
    for layer in network.layers:
        if layer.kind in ("maxpool", "avgpool", "global_avgpool", "flatten", "concat"):
            assert all(act[source] == act[layer.name] for source in layer.inputs), layer.name
    softmax = quantize_network(load_network("mobilenet_v1", {"resolution": 32}), images=1)
    assert softmax.activations["predictions"] == QuantParams(1 / 256, -128)


@pytest.mark.parametrize("name", ["vgg16", "resnet18", "mobilenet_v2", "mobilenet_v3_large"])
def test_quantized_outputs_use_the_int8_range_and_track_the_float_model(name: str) -> None:
    network = load_network(name, {"resolution": 32})
    weights = random_weights(network, 0)
    qnet = quantize_network(network, weights, images=2)
    images = random_images(network, 2, seed=3)
    outputs = run(prepare(qnet), prepare_inputs(qnet, images, 2).quantized, {}).outputs
    distinct = [len(np.unique(outputs[layer.name])) for layer in network.layers]
    assert np.mean(np.array(distinct) > 20) > 0.8, distinct  # not saturated, not all zero
    real = forward(network, weights, images)
    last = network.layers[-1].name
    p = qnet.activations[last]
    approx = dequantize_linear(outputs[last], p.scale, p.zero_point)
    correlation = np.corrcoef(approx.ravel(), real[last].ravel())[0, 1]
    assert correlation > 0.9, correlation


def test_calibration_images_are_seeded_normal_noise() -> None:
    network = load_network("lenet5")
    images = calibration_inputs(network, seed=0, images=3)["input"]
    assert images.shape == (3, 1, 32, 32) and images.dtype == np.float32
    np.testing.assert_array_equal(images, calibration_inputs(network, 0, 3)["input"])
    assert abs(float(images.std()) - 1.0) < 0.05
