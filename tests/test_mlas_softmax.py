"""Float Softmax against onnxruntime's (MLAS, AVX-512 kernels, one thread), bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ort_helpers import run_node

from accel.functional.kernels.cpu import MODELLED_FLOAT_PATHS, float_path
from accel.functional.kernels.mlas_softmax import mlas_exp, softmax

ort = pytest.importorskip("onnxruntime")
# These compare with onnxruntime's float kernels on this CPU: only where accel models them.
ON_MODELLED_CPU = pytest.mark.skipif(
    float_path() not in MODELLED_FLOAT_PATHS,
    reason=f"this CPU's MLAS float path ({float_path()}) is not modelled by accel; its float "
    "islands are refused (tests/test_mlas_golden.py checks the modelled paths on every CPU)",
)
pytestmark = ON_MODELLED_CPU
F32 = np.float32


def _bits(array: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(array, F32).view(np.int32)


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    rows=st.integers(1, 4),
    classes=st.one_of(st.integers(1, 70), st.sampled_from([96, 100, 144, 1000])),
    magnitude=st.floats(-2, 2.3),
)
def test_softmax_matches_onnxruntime(seed: int, rows: int, classes: int,
                                     magnitude: float) -> None:
    """Rows of 1 to 1000 logits: every path of the 48/16-element loops and lane reduction, and
    spreads above 104 that hit the exp's lower clamp."""
    logits = (np.random.default_rng(seed).standard_normal((rows, classes))
              * 10**magnitude).astype(F32)  # fmt: skip
    expected = run_node("Softmax", [logits], F32, attrs={"axis": 1})
    np.testing.assert_array_equal(_bits(softmax(logits, axis=1)), _bits(expected))


def test_softmax_over_channels_of_a_feature_map() -> None:
    x = np.random.default_rng(1).standard_normal((2, 21, 3, 5)).astype(F32) * F32(4)
    expected = run_node("Softmax", [x], F32, attrs={"axis": 1})
    np.testing.assert_array_equal(_bits(softmax(x, axis=1)), _bits(expected))


def test_exp_is_clamped_below_and_scaled_exactly() -> None:
    assert mlas_exp(np.array([0.0], F32))[0] == F32(1.0)
    # Below -103.972 the argument is clamped; exp(-100) is a subnormal, not flushed to zero.
    values = mlas_exp(np.array([-200.0, -103.9720840454, -100.0], F32))
    assert values[0] == values[1] and 0 < values[2] < np.finfo(F32).tiny
