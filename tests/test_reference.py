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
