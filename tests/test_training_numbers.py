"""A float training step's numbers (accel.functional.training) against JAX's autograd on CPU.

The small CNN of `jax_reference.small_cnn` (conv, depthwise, pointwise, residual add, max and
average pooling, grouped dilated and strided convs, leaky ReLU, global pooling, fc) on a 4×4
array, so every GEMM is cut into several folds.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import chip_with

from accel.check.gradients import mismatches
from accel.errors import InputError
from accel.functional import training_conv
from accel.functional.float_gemm import float_gemm
from accel.functional.optimizer import Hyperparameters, OptimizerState
from accel.functional.schedule import Schedule
from accel.functional.training import training_numbers, training_schedules
from accel.functional.weights import random_weights
from accel.model.network import LayerEntry, Network
from accel.model.ops import Activation, Conv, Flatten, FullyConnected, Shape, Softmax
from accel.model.pool_ops import AvgPool, GlobalAvgPool, MaxPool
from accel.model.quantized import FloatWeights

jax = pytest.importorskip("jax")
jax_reference = pytest.importorskip("jax_reference")

PRECISIONS = ("fp32", "bf16", "fp16")
BATCH = 2


def _chip(precision: str, **fields: object):  # type: ignore[no-untyped-def]
    return chip_with(array__precision=precision, array__rows=4, array__cols=4, **fields)


def _random_state(params: dict[str, FloatWeights], optimizer: str, seed: int) -> OptimizerState:
    rng = np.random.default_rng(seed)

    def draw(square: bool) -> dict[str, FloatWeights]:
        def one(shape: tuple[int, ...]) -> np.ndarray:
            values = rng.standard_normal(shape).astype(np.float32)
            return values * values if square else values

        return {n: FloatWeights(one(p.weight.shape), one(p.bias.shape)) for n, p in params.items()}

    return OptimizerState(3, draw(False), draw(True) if optimizer == "adam" else {})


@pytest.mark.parametrize(("precision", "optimizer"),
                         [("fp32", "sgd"), ("bf16", "adam"), ("fp16", "sgd")])  # fmt: skip
def test_integer_data_gives_jax_gradients_exactly(precision: str, optimizer: str) -> None:
    images, params, seed_gradient = jax_reference.integer_case(3)
    network = jax_reference.small_cnn()
    hyper = Hyperparameters(learning_rate=0.0625, momentum=0.5)
    state = OptimizerState.zeros(params, optimizer)
    numbers = training_numbers(network, _chip(precision), images, np.array([1, 2]), params,
                               optimizer, state, hyper, output_gradient=seed_gradient)
    reference = jax_reference.network_vjp(network, precision, images, params, seed_gradient)
    compared = 0
    for layer in network.layers:
        name = layer.name
        assert np.array_equal(numbers.activations[name], reference[f"y:{name}"]), name
        assert np.array_equal(numbers.gradients[name], reference[f"g:{name}"]), name
        compared += 2
        if layer.uses_array:
            assert np.array_equal(numbers.weight_gradients[name], reference[f"dW:{name}"]), name
            assert np.array_equal(numbers.bias_gradients[name], reference[f"db:{name}"]), name
            p = params[name]
            if optimizer == "sgd":
                weight = jax_reference.jax_sgd(p.weight, reference[f"dW:{name}"],
                                               state.first[name].weight, hyper)[0]
            else:
                weight = jax_reference.jax_adam(p.weight, reference[f"dW:{name}"],
                                                state.first[name].weight,
                                                state.second[name].weight, 1, hyper)
            assert np.array_equal(numbers.parameters[name].weight, np.asarray(weight)), name
            compared += 3
    assert compared == 12 * 2 + 6 * 3
    # Not a vacuous comparison: gradients reach the first layer, ties in the max pool are many.
    assert np.count_nonzero(numbers.weight_gradients["conv1"]) > 100
    windows = numbers.activations["res"].reshape(BATCH, 8, 4, 2, 4, 2).transpose(0, 1, 2, 4, 3, 5)
    top = windows.reshape(BATCH, 8, 4, 4, 4)
    assert np.count_nonzero((top == top.max(axis=-1, keepdims=True)).sum(axis=-1) > 1) > 50


@pytest.mark.parametrize("precision", PRECISIONS)
def test_random_data_within_the_rounding_bound_layer_by_layer(precision: str) -> None:
    network = jax_reference.small_cnn()
    rng = np.random.default_rng(11)
    images = rng.standard_normal((BATCH, 3, 8, 8)).astype(np.float32)
    targets = np.array([1, 7])
    params = random_weights(network, seed=1)
    numbers = training_numbers(network, _chip(precision), images, targets, params)
    found = jax_reference.check_layers(network, numbers, params)
    found += jax_reference.check_loss(network, numbers, targets)
    assert mismatches(found) == []
    by_name = {(a.layer, a.quantity): a for a in found}
    # Selections and single roundings are bit for bit: max pool and its argmax routing, the
    # ReLU masks, the residual add and its gradient, flatten.
    for key in [("pool", "output"), ("pool", "dX[0]"), ("res", "output"), ("res", "dX[0]"),
                ("res", "dX[1]"), ("act", "output"), ("act", "dX[0]"), ("flat", "dX[0]")]:
        assert by_name[key].equal == by_name[key].elements, key
    assert len(found) == 38


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_updates_equal_jax_bit_for_bit(optimizer: str) -> None:
    network = jax_reference.small_cnn()
    rng = np.random.default_rng(5)
    images = rng.standard_normal((BATCH, 3, 8, 8)).astype(np.float32)
    params = random_weights(network, seed=2)
    state = _random_state(params, optimizer, 9)
    hyper = Hyperparameters(learning_rate=0.003)
    numbers = training_numbers(network, _chip("bf16"), images, np.array([0, 3]), params,
                               optimizer, state, hyper)  # fmt: skip
    found = jax_reference.check_update(numbers, params, state, optimizer, hyper)
    assert len(found) == 12 and all(a.equal == a.elements for a in found)
    assert numbers.state.step == 4
    assert not np.array_equal(numbers.parameters["fc"].weight, params["fc"].weight)


def test_the_check_catches_a_wrong_weight_gradient() -> None:
    network = jax_reference.small_cnn()
    rng = np.random.default_rng(11)
    images = rng.standard_normal((BATCH, 3, 8, 8)).astype(np.float32)
    params = random_weights(network, seed=1)
    numbers = training_numbers(network, _chip("fp32"), images, np.array([1, 7]), params)
    dw = numbers.weight_gradients["down"]
    dw[0, 0, 0, 0] += np.float32(1e-3) * np.abs(dw).max()
    assert mismatches(jax_reference.check_layers(network, numbers, params)) == ["down dW"]


def test_the_check_catches_an_unrotated_kernel_in_dx(monkeypatch: pytest.MonkeyPatch) -> None:
    # dX as a full convolution with the kernel NOT rotated by 180°: every 3×3 layer whose dX is
    # computed that way is reported (the 1×1 pw and fc are immune, the strided conv uses
    # columns + col2im).
    full = training_conv._full_convolution
    monkeypatch.setattr(training_conv, "_full_convolution",
                        lambda dy, w, g, s: full(dy, np.ascontiguousarray(w[..., ::-1, ::-1]),
                                                 g, s))  # fmt: skip
    network = jax_reference.small_cnn()
    rng = np.random.default_rng(11)
    images = rng.standard_normal((BATCH, 3, 8, 8)).astype(np.float32)
    params = random_weights(network, seed=1)
    numbers = training_numbers(network, _chip("bf16"), images, np.array([1, 7]), params)
    assert mismatches(jax_reference.check_layers(network, numbers, params)) == [
        "dw dX[0]", "dil dX[0]"]


def test_max_pool_ties_route_the_gradient_to_the_first_tap() -> None:
    images = np.array([[[[1, 1, 0, 2], [1, 1, 2, 2], [3, 0, 5, 4], [0, 3, 4, 5]]]], np.float32)
    network = Network.build("tie2", Shape(1, 4, 4), [
        LayerEntry("id", Conv(kernel=1, out_channels=1, bias=False)),
        LayerEntry("pool", MaxPool(kernel=2, stride=2)), LayerEntry("flat", Flatten()),
        LayerEntry("fc", FullyConnected(out_features=2))])  # fmt: skip
    params = {"id": FloatWeights(np.ones((1, 1, 1, 1), np.float32), np.zeros(1, np.float32)),
              "fc": FloatWeights(np.ones((2, 4), np.float32), np.zeros(2, np.float32))}
    seed = np.array([[[[1.0]], [[2.0]]]], np.float32)
    # fc's dX is 1 + 2 = 3 for each pooled value; the pool sends it to each window's first
    # maximum in (row, column) order.
    numbers = training_numbers(network, _chip("fp32"), images, np.array([0]), params,
                               output_gradient=seed)  # fmt: skip
    assert numbers.input_gradients[("pool", 0)][0, 0].tolist() == [
        [3, 0, 0, 3], [0, 0, 0, 0], [3, 0, 3, 0], [0, 0, 0, 0]]
    reference = jax_reference.network_vjp(network, "fp32", images, params, seed)
    assert np.array_equal(numbers.gradients["id"], reference["g:id"])


def test_the_array_sums_in_the_schedules_fold_order() -> None:
    # 1 + 2^-24 + 2^-24 summed one after the other stays 1 in fp32; two chains ([1], then
    # [2^-24, 2^-24] summed to 2^-23 and added) give 1 + 2^-23.
    a = np.array([[[1.0, 2**-24, 2**-24]]], np.float32)
    b = np.ones((1, 3, 1), np.float32)
    whole = float_gemm(a, b, Schedule.whole(1, 3, 1))
    folds = float_gemm(a, b, Schedule(1, 3, 1, ((0, 1),), ((0, 1), (1, 3)), ((0, 1),)))
    assert whole[0, 0, 0] == np.float32(1.0)
    assert folds[0, 0, 0] == np.float32(1 + 2**-23)
    with pytest.raises(ValueError, match=r"GEMM must be M×K×N = 1×4×1 as scheduled, not 1×3×1"):
        float_gemm(a, b, Schedule.whole(1, 4, 1))


def test_every_gemm_of_the_step_has_its_mappings_schedule() -> None:
    schedules = training_schedules(jax_reference.small_cnn(), _chip("bf16"), BATCH)
    gemms = ["conv1", "dw", "pw", "dil", "down", "fc"]
    expected = {*gemms, *(f"{n}.dW" for n in gemms), *(f"{n}.dX" for n in gemms[1:])}
    assert set(schedules) == expected
    # ws on a 4-row array: K in row folds of 4, one chain each (conv1: K = 27 → 7 chains).
    assert len(schedules["conv1"].k_chains) == 7
    assert schedules["down.dX"].k == 16  # columns: K = Cout/g
    vector = training_schedules(jax_reference.small_cnn(), _chip("bf16", array__depthwise_unit="vector"), BATCH)
    assert vector["dw"] == Schedule.whole(BATCH * 64, 9, 1)


def test_os_dataflow_and_vector_depthwise_stay_within_the_bound() -> None:
    network = jax_reference.small_cnn()
    rng = np.random.default_rng(12)
    images = rng.standard_normal((BATCH, 3, 8, 8)).astype(np.float32)
    params = random_weights(network, seed=4)
    chip = _chip("fp32", array__dataflow="os", array__depthwise_unit="vector")
    numbers = training_numbers(network, chip, images, np.array([2, 5]), params)
    assert mismatches(jax_reference.check_layers(network, numbers, params)) == []


def test_int8_chips_and_unsupported_layers_are_refused() -> None:
    images = np.zeros((1, 3, 8, 8), np.float32)
    with pytest.raises(InputError, match=r"array.precision must be fp32, bf16 or fp16 for a "
                                         r"training step's numbers, not 'int8'"):
        training_numbers(jax_reference.small_cnn(), chip_with(), images, np.array([0]))
    network = Network.build("s", Shape(3, 8, 8), [
        LayerEntry("sig", Activation(function="tanh")), LayerEntry("flat", Flatten()),
        LayerEntry("fc", FullyConnected(out_features=2))])  # fmt: skip
    with pytest.raises(InputError, match=r"layer 'sig': a training step's numbers must come "
                                         r"from .* not activation 'tanh'"):
        training_numbers(network, _chip("bf16"), images, np.array([0]))


def _check_random(network: Network, chip_precision: str, seed: int, **fields: object) -> list:  # type: ignore[type-arg]
    rng = np.random.default_rng(seed)
    shape = network.inputs[0][1]
    images = 2 * rng.standard_normal((BATCH, shape.channels, shape.height, shape.width))
    targets = np.array([1, 4])
    params = random_weights(network, seed=seed)
    numbers = training_numbers(network, _chip(chip_precision, **fields),
                               images.astype(np.float32), targets, params)  # fmt: skip
    found = jax_reference.check_layers(network, numbers, params)
    return found + jax_reference.check_loss(network, numbers, targets)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_hswish_hsigmoid_and_sigmoid_gradients_within_the_bound(precision: str) -> None:
    network = Network.build("smooth", Shape(3, 6, 6), [
        LayerEntry("c1", Conv(kernel=3, padding=1, out_channels=8)),
        LayerEntry("hswish", Activation(function="hswish")),
        LayerEntry("c2", Conv(kernel=3, padding=1, out_channels=8)),
        LayerEntry("hsigmoid", Activation(function="hsigmoid")),
        LayerEntry("c3", Conv(kernel=1, out_channels=8)),
        LayerEntry("sigmoid", Activation(function="sigmoid")),
        LayerEntry("flat", Flatten()), LayerEntry("fc", FullyConnected(out_features=5))])
    found = _check_random(network, precision, 21)
    assert mismatches(found) == []
    assert {a.layer for a in found if a.quantity == "dX[0]"} >= {"hswish", "hsigmoid", "sigmoid"}


def test_overlapping_pools_same_padding_and_ceil_mode_within_the_bound() -> None:
    # Overlapping max pool with padding (a ResNet stem's), 'same' strided grouped conv,
    # average pools with and without the padding counted, a channel multiplier with dilation,
    # a ceil-mode pool whose last window hangs over the edge, a valid strided conv, no biases.
    network = Network.build("awkward", Shape(3, 11, 11), [
        LayerEntry("c1", Conv(kernel=3, padding=1, out_channels=8, activation="relu")),
        LayerEntry("mp", MaxPool(kernel=3, stride=2, padding=1)),
        LayerEntry("same", Conv(kernel=3, stride=2, padding="same", out_channels=8, groups=4)),
        LayerEntry("ap", AvgPool(kernel=3, stride=1, padding=1)),
        LayerEntry("mult", Conv(kernel=5, dilation=2, padding=4, out_channels=16, groups=8,
                                bias=False)),
        LayerEntry("cm", MaxPool(kernel=2, stride=2, ceil_mode=True)),
        LayerEntry("api", AvgPool(kernel=2, stride=1, padding=1, count_include_pad=True)),
        LayerEntry("valid", Conv(kernel=2, stride=2, out_channels=8, activation="relu6")),
        LayerEntry("flat", Flatten()),
        LayerEntry("fc", FullyConnected(out_features=5, bias=False))])  # fmt: skip
    assert network.layer("cm").output_shape == Shape(16, 2, 2)
    found = _check_random(network, "fp16", 0, array__dataflow="is")
    assert mismatches(found) == []
    assert len(found) == 29


def test_a_final_softmax_is_folded_into_the_loss() -> None:
    network = Network.build("head", Shape(3, 6, 6), [
        LayerEntry("c1", Conv(kernel=3, padding=1, out_channels=4, activation="relu")),
        LayerEntry("gap", GlobalAvgPool()), LayerEntry("flat", Flatten()),
        LayerEntry("fc", FullyConnected(out_features=6)), LayerEntry("prob", Softmax())])
    found = _check_random(network, "bf16", 5)
    assert mismatches(found) == []
    assert [(a.layer, a.quantity) for a in found][-3:] == [
        ("prob", "output"), ("loss", "value"), ("loss", "dlogits")]
    pooled = Network.build("no", Shape(3, 6, 6), [
        LayerEntry("c1", Conv(kernel=3, padding=1, out_channels=4)),
        LayerEntry("prob", Softmax())])  # fmt: skip
    with pytest.raises(InputError, match=r"layer 'prob': .* not a final softmax other than "
                                         r"over a classifier's channels with beta 1"):
        training_numbers(pooled, _chip("bf16"), np.zeros((1, 3, 6, 6), np.float32),
                         np.array([0]))
