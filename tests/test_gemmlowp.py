"""gemmlowp's fixed-point exp, 1/(1+x) and logistic: exact special values and closeness to
the real functions (the bit-exact comparison with TFLite is in test_tflite_activations.py)."""

from __future__ import annotations

import numpy as np

from accel.functional import gemmlowp as g


def test_exp_on_negative_values_is_close_to_exp() -> None:
    real = -np.linspace(0, 15, 301)
    raw = np.round(real * 2.0**26).astype(np.int64)  # Q5.26
    ours = g.exp_on_negative_values(raw, 5) / 2.0**31
    np.testing.assert_allclose(ours, np.exp(real), rtol=0, atol=3e-7)
    assert g.exp_on_negative_values(np.array([0]), 5)[0] == 2**31 - 1


def test_exp_clamps_below_minus_32() -> None:
    # Q6.25 can hold -40; gemmlowp returns 0 below -32 for more than 5 integer bits.
    assert g.exp_on_negative_values(np.array([-40 << 25]), 6)[0] == 0


def test_one_over_one_plus_x() -> None:
    x = np.linspace(0.01, 0.99, 50)
    ours = g.one_over_one_plus_x(np.round(x * 2.0**31).astype(np.int64)) / 2.0**31
    np.testing.assert_allclose(ours, 1 / (1 + x), rtol=0, atol=1e-8)


def test_logistic_is_symmetric_and_exact_at_zero() -> None:
    raw = np.array([0, 1 << 27, -(1 << 27)])  # 0, 1, -1 in Q4.27
    out = g.logistic(raw, 4)
    assert out[0] == 1 << 30
    assert abs(out[1] / 2.0**31 - 1 / (1 + np.exp(-1))) < 1e-7
    assert out[1] + out[2] == 2**31 - 1  # One - logistic(x)


def test_reciprocal_and_leading_zeros() -> None:
    np.testing.assert_array_equal(g.count_leading_zeros(np.array([0, 1, 2**30, 2**31 - 1])),
                                  [32, 31, 1, 1])  # fmt: skip
    value, bits_over_unit = g.reciprocal(np.array([3 << 19]), 12)  # 3.0 in Q12.19
    assert bits_over_unit[0] == 1  # 3 = 1.5 * 2**1: the reciprocal of 1.5, then 2**-1
    assert abs(value[0] / 2.0**31 / 2**1 - 1 / 3) < 1e-8
