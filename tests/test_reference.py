"""The float reference forward pass that calibration runs: its validation rules."""

from __future__ import annotations

import numpy as np
import pytest

from accel.errors import InputError
from accel.functional.reference import forward
from accel.model.network import LayerEntry, Network
from accel.model.ops import BatchNorm, Shape


def test_a_layer_calibration_cannot_run_is_a_one_line_error() -> None:
    # A float model whose BatchNorm folds into no conv (DenseNet's pre-activation) used to stop
    # with an AssertionError (exit 1); it is bad input for calibration (exit 2).
    network = Network.build("bn", Shape(3, 4, 4), [LayerEntry("norm", BatchNorm())])
    inputs = {"input": np.zeros((1, 3, 4, 4), np.float32)}
    with pytest.raises(InputError, match=r"layer 'norm' must be a kind calibration can run .*"
                                         r"not 'batchnorm'"):  # fmt: skip
        forward(network, {}, inputs)


def test_a_constant_mul_left_as_batchnorm_is_named_as_the_user_wrote_it() -> None:
    """Paddle's dropout is a Mul by 0.8; the importer makes it a per-channel affine layer."""
    from accel.functional.reference import forward
    from accel.model.network import LayerEntry, Network, Shape
    from accel.model.ops import BatchNorm

    network = Network.build("drop", Shape(2, 2, 2), [LayerEntry("mul", BatchNorm())])
    with pytest.raises(InputError, match=r"not 'batchnorm' \(a BatchNormalization, or a Mul/Add "
                                         r"by a constant such as Paddle's dropout-as-Mul 0.8"):  # fmt: skip
        forward(network, {}, {"input": np.zeros((1, 2, 2, 2), np.float32)})


def test_channel_slices_and_their_concat_reorder_the_maps() -> None:
    """LeNet-5's C3 reads S2 maps {4, 5, 0} as slices [4, 6) and [0, 1) concatenated; the
    calibrated network gives the slices, and a concat of them alone, their source's
    quantization (one buffer, offsets), also a tanh's fixed 1/128; so does a pool after the
    tanh (LeNet-5's S4; TFLite's AVERAGE_POOL_2D requires it)."""
    from accel.functional.calibrate import quantize_network
    from accel.model.ops import Activation, ChannelSlice, Concat
    from accel.model.pool_ops import AvgPool

    network = Network.build("c3", Shape(6, 2, 2), [
        LayerEntry("tanh", Activation(function="tanh"), ("input",)),
        LayerEntry("high", ChannelSlice(start=4, end=6), ("tanh",)),
        LayerEntry("low", ChannelSlice(start=0, end=1), ("tanh",)),
        LayerEntry("maps", Concat(), ("high", "low")),
        LayerEntry("pool", AvgPool(kernel=2, stride=2), ("tanh",)),
    ])  # fmt: skip
    x = np.arange(24, dtype=np.float32).reshape(1, 6, 2, 2) / 8
    out = forward(network, {}, {"input": x})
    np.testing.assert_array_equal(out["maps"], np.tanh(x[:, [4, 5, 0]]))
    activations = quantize_network(network, images=2).activations
    assert activations["tanh"].scale == 1 / 128
    assert activations["high"] == activations["low"] == activations["maps"] == activations["tanh"]
    assert activations["pool"] == activations["tanh"]
