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
