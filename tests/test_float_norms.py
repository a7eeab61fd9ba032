"""Float BatchNormalization and LRN against onnxruntime's single-node CPU kernels, bit for bit,
and the Eigen power LRN raises to (packets of four, leftover elements through powf)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ort_helpers import run_node

from accel.functional.eigen_pow import c_powf, eigen_pow
from accel.functional.float_norms import BatchNormConstants, batch_norm, lrn

ort = pytest.importorskip("onnxruntime")
F32 = np.float32


def _bits(array: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(array, F32).view(np.int32)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.tuples(st.integers(1, 2), st.integers(1, 40), st.integers(1, 9), st.integers(1, 9)),
    epsilon=st.sampled_from([1e-5, 1e-3, 0.0, 1e-12]),
    magnitude=st.floats(-3, 3),
)
def test_batch_norm_matches_onnxruntime(seed: int, shape: tuple[int, int, int, int],
                                        epsilon: float, magnitude: float) -> None:
    rng = np.random.default_rng(seed)
    channels = shape[1]
    x = (rng.standard_normal(shape) * 10**magnitude).astype(F32)
    scale, bias, mean = (rng.standard_normal(channels).astype(F32) for _ in range(3))
    variance = (rng.random(channels) * 10 ** rng.uniform(-4, 2) + 1e-6).astype(F32)
    expected = run_node("BatchNormalization", [x, scale, bias, mean, variance], F32,
                        attrs={"epsilon": epsilon})  # fmt: skip
    constants = BatchNormConstants(scale, bias, mean, variance, float(F32(epsilon)))
    np.testing.assert_array_equal(_bits(batch_norm(x, constants)), _bits(expected))


def test_batch_norm_folds_per_channel_in_float32() -> None:
    # inv_std = 1/sqrt(var + eps) and scale' = inv_std * scale, each rounded: folding in float64
    # (what a compiler folding BN into weights would do) gives another multiplier here.
    constants = BatchNormConstants(np.array([0.1], F32), np.array([0.0], F32),
                                   np.array([0.0], F32), np.array([3.0], F32), 0.0)  # fmt: skip
    multiplier, _ = constants.folded()
    assert multiplier[0] == F32(F32(1) / np.sqrt(F32(3.0))) * F32(0.1)
    assert multiplier[0] != F32(np.float64(F32(0.1)) / np.sqrt(3.0))


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.tuples(st.integers(1, 2), st.integers(1, 20), st.integers(1, 7), st.integers(1, 7)),
    size=st.sampled_from([1, 3, 5, 7]),
    alpha=st.sampled_from([1e-4, 2e-5, 0.1, 1.0]),
    beta=st.sampled_from([0.75, 0.5, 0.6, 1.0, 2.0, 3.0, 4.0, 5.0]),
    bias=st.sampled_from([1.0, 2.0, 0.5]),
    magnitude=st.floats(-1, 2),
)
def test_lrn_matches_onnxruntime(seed: int, shape: tuple[int, int, int, int], size: int,
                                 alpha: float, beta: float, bias: float,
                                 magnitude: float) -> None:
    x = (np.random.default_rng(seed).standard_normal(shape) * 10**magnitude).astype(F32)
    attrs = {"size": size, "alpha": alpha, "beta": beta, "bias": bias}
    expected = run_node("LRN", [x], F32, attrs=attrs)
    ours = lrn(x, size, float(F32(alpha)), float(F32(beta)), float(F32(bias)))
    np.testing.assert_array_equal(_bits(ours), _bits(expected))


def test_eigen_pow_packets_and_leftovers_differ_from_powf() -> None:
    # Eigen's packet pow is accurate to a few ulps, not correctly rounded: over 4,000 values
    # some packet results differ from powf; the three leftover elements are powf's.
    x = np.exp(np.random.default_rng(0).uniform(-5, 10, 4003)).astype(F32)
    ours, reference = eigen_pow(x, -0.75), c_powf(x, F32(-0.75))
    assert np.array_equal(ours[4000:], reference[4000:])
    assert 0 < np.count_nonzero(ours[:4000] != reference[:4000]) < 2000


def test_eigen_pow_small_integer_exponents_square_the_reciprocal() -> None:
    x = np.array([3.0, 7.0, 11.0, 1.1, 5.0], F32)
    ours = eigen_pow(x, -2.0)
    reciprocal = (F32(1) / x[:4]).astype(F32)
    np.testing.assert_array_equal(ours[:4], (reciprocal * reciprocal).astype(F32))
    assert ours[4] == c_powf(x[4:], F32(-2.0))[0]
