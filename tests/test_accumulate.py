"""The MAC array's accumulators against a plain model of the hardware, one addition at a time.

`HardwareModel` is the documented accumulator model written as Python integer loops: the output
accumulator starts at the bias; each K chunk is a chain of additions from 0 in K order; the
chunk's sum is added to the accumulator; every addition is narrowed to `bits` (wrap or
saturate). The fast engine (float GEMMs, bounds, merged runs) must agree bit for bit, including
how many outputs the narrow accumulator changed.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accel.functional.accumulate import Accumulator, accumulate
from accel.functional.operands import GemmOperands, TapOperands, centred_nhwc, window_view
from accel.functional.schedule import Range, Schedule


def _narrow(value: int, accumulator: Accumulator) -> int:
    low, high = -accumulator.limit - 1, accumulator.limit
    if accumulator.overflow == "saturate":
        return min(max(value, low), high)
    return (value - low) % (1 << accumulator.bits) + low


def hardware_model(
    cols: np.ndarray, weight: np.ndarray, bias: np.ndarray, schedule: Schedule, acc: Accumulator
) -> tuple[np.ndarray, int]:
    """(M, G·N) accumulators of the documented hardware and the count that differ from exact."""
    groups, m, _ = cols.shape
    n = weight.shape[2]
    out = np.zeros((m, groups * n), dtype=np.int64)
    changed = 0
    for g in range(groups):
        for row in range(m):
            for col in range(n):
                value = exact = int(bias[g * n + col])
                for start, stop in schedule.k_chunks:
                    chain = 0
                    for k in range(start, stop):
                        product = int(cols[g, row, k]) * int(weight[g, k, col])
                        chain = _narrow(chain + product, acc)
                        exact += product
                    value = _narrow(value + chain, acc)
                out[row, g * n + col] = value
                changed += value != exact
    return out, changed


def _chunks(total: int, size: int) -> tuple[Range, ...]:
    return tuple((s, min(s + size, total)) for s in range(0, total, size))


@st.composite
def layers(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, Schedule, Accumulator]:
    groups, m, k, n = (draw(st.integers(1, 2)), draw(st.integers(1, 5)),
                       draw(st.integers(1, 40)), draw(st.integers(1, 4)))  # fmt: skip
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    cols = rng.integers(-255, 256, (groups, m, k))
    weight = rng.integers(-128, 128, (groups, k, n))
    bias = rng.integers(-(2**12), 2**12, groups * n)
    rows = draw(st.integers(1, 12))  # array rows: the K chunk size of a ws/is mapping
    k_chunks = _chunks(k, rows) if draw(st.booleans()) else ((0, k),)  # ws/is or os
    schedule = Schedule(m, k, n, _chunks(m, 2), k_chunks, _chunks(n, 3))
    accumulator = Accumulator(draw(st.integers(8, 24)), draw(st.sampled_from(["wrap", "saturate"])))
    return cols, weight, bias, schedule, accumulator


def _run(cols: np.ndarray, weight: np.ndarray, bias: np.ndarray, schedule: Schedule,
         accumulator: Accumulator) -> tuple[np.ndarray, int]:  # fmt: skip
    operands = GemmOperands(cols.astype(np.float32), weight.astype(np.float32), 255.0 * 128.0)
    weight_l1 = np.abs(weight).sum(axis=1).reshape(-1).astype(np.float64)
    result = accumulate(operands, bias.astype(np.float64), schedule, accumulator, weight_l1, 255)
    return result.values.astype(np.int64), result.overflowed


@settings(max_examples=150, deadline=None)
@given(layers())
def test_accumulators_match_the_hardware_model(
    case: tuple[np.ndarray, np.ndarray, np.ndarray, Schedule, Accumulator],
) -> None:
    cols, weight, bias, schedule, accumulator = case
    expected, changed = hardware_model(cols, weight, bias, schedule, accumulator)
    values, overflowed = _run(cols, weight, bias, schedule, accumulator)
    np.testing.assert_array_equal(values, expected)
    assert overflowed == changed


def test_saturation_depends_on_the_chunking_and_wrap_does_not() -> None:
    # bias 100, products +100, +100, -100, 8-bit accumulator (range [-128, 127]).
    # One chunk: chain 100, 127 (saturated), 27; then 100 + 27 = 127.
    # Three chunks: 100 + 100 -> 127, 127 + 100 -> 127, 127 - 100 = 27.
    cols, weight, bias = np.array([[[1, 1, -1]]]), np.full((1, 3, 1), 100), np.array([100])
    whole = Schedule(1, 3, 1, ((0, 1),), ((0, 3),), ((0, 1),))
    split = Schedule(1, 3, 1, ((0, 1),), ((0, 1), (1, 2), (2, 3)), ((0, 1),))
    saturate = Accumulator(8, "saturate")
    assert _run(cols, weight, bias, whole, saturate) == (np.array([[127]]), 1)
    assert _run(cols, weight, bias, split, saturate) == (np.array([[27]]), 1)
    wrap = Accumulator(8, "wrap")  # exact 200 wraps to -56 whatever the chunking
    assert _run(cols, weight, bias, whole, wrap) == (np.array([[-56]]), 1)
    assert _run(cols, weight, bias, split, wrap) == (np.array([[-56]]), 1)


def test_a_wide_accumulator_never_narrows() -> None:
    rng = np.random.default_rng(3)
    cols, weight = rng.integers(-255, 256, (1, 7, 4608)), rng.integers(-127, 128, (1, 4608, 3))
    cols[0, 0], weight[0, :, 0] = 255, 127  # output (0, 0) sums to 4608 * 255 * 127 > 2**27
    bias = rng.integers(-(2**20), 2**20, 3)
    schedule = Schedule(7, 4608, 3, ((0, 7),), _chunks(4608, 32), ((0, 3),))
    values, overflowed = _run(cols, weight, bias, schedule, Accumulator(32, "saturate"))
    exact = np.einsum("gmk,gkn->mgn", cols, weight).reshape(7, 3) + bias
    np.testing.assert_array_equal(values, exact)  # |sums| > 2**24: exact across float32 slices
    assert overflowed == 0 and np.abs(exact).max() > 2**24


@pytest.mark.parametrize("accumulator", [Accumulator(12, "wrap"), Accumulator(12, "saturate")])
def test_depthwise_taps_match_the_hardware_model(accumulator: Accumulator) -> None:
    rng = np.random.default_rng(5)
    x = rng.integers(-128, 128, (2, 3, 5, 6)).astype(np.int8)
    xp = centred_nhwc(x, -3, (1, 1, 1, 1))
    windows = window_view(xp, (3, 3), (1, 2), (1, 1), (5, 3))  # (N, OH, OW, KH, KW, C)
    weight = rng.integers(-127, 128, (9, 3, 2)).astype(np.float32)  # taps, channels, multiplier
    bias = rng.integers(-500, 500, 6).astype(np.float64)
    schedule = Schedule(30, 9, 2, ((0, 30),), _chunks(9, 4), ((0, 2),))
    operands = TapOperands(windows, weight, 131.0 * 127.0)
    l1 = np.abs(weight).sum(axis=0).reshape(-1).astype(np.float64)
    got = accumulate(operands, bias, schedule, accumulator, l1, 131)
    cols = windows.reshape(30, 9, 3).transpose(2, 0, 1)  # per channel: (M, taps)
    expected, changed = hardware_model(cols, weight.transpose(1, 0, 2), bias, schedule, accumulator)
    np.testing.assert_array_equal(got.values, expected)
    assert got.overflowed == changed > 0
