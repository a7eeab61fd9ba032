"""TFLite's int8 MEAN (over H, W) and requantizing QUANTIZE against tflite-micro and LiteRT's
reference resolver, and MEAN's difference from AVERAGE_POOL_2D."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accel.check.tflite_check import run_reference
from accel.functional.pooling import avgpool2d_tflite
from accel.functional.tflite_rescale import mean_multiplier, mean_tflite, requantize_tflite_codes
from accel.io.tflite_export import LayerModel
from accel.io.tflite_flatbuffer import TfliteBuilder, schema

pytest.importorskip("ai_edge_litert")

SCALES = st.floats(-8.0, 0.0).map(lambda e: float(np.float32(2.0**e)))
ZERO_POINTS = st.integers(-128, 127)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 12), st.integers(1, 12), st.booleans(),
       SCALES, ZERO_POINTS, st.none() | st.tuples(SCALES, ZERO_POINTS))  # fmt: skip
def test_mean_matches_reference_kernels(
    seed: int, h: int, w: int, keep: bool, xs: float, xz: int, out: tuple[float, int] | None
) -> None:
    ys, yz = out or (xs, xz)
    x = np.random.default_rng(seed).integers(-128, 128, (2, h, w, 3)).astype(np.int8)
    b = TfliteBuilder()
    xi = b.tensor("x", x.shape, "int8", xs, xz)
    axes = b.tensor("axes", (2,), "int32", data=np.array([1, 2], np.int32))
    yi = b.tensor("y", (2, 1, 1, 3) if keep else (2, 3), "int8", ys, yz)
    options = schema().ReducerOptionsT()
    options.keepDims = keep
    b.operator("MEAN", [xi, axes], [yi], options)
    outputs = run_reference(LayerModel(b.finish([xi], [yi]), False, False), [x])
    ours = mean_tflite(x.transpose(0, 3, 1, 2), xs, xz, ys, yz).reshape(2, 3)
    assert set(outputs) == {"tflite-micro", "litert-reference"}
    for reference in outputs.values():
        np.testing.assert_array_equal(ours, reference.reshape(2, 3))


def test_mean_multiplier_absorbs_the_count() -> None:
    # s_x / s_y = 1: QM gives (2**30, 1); 1/49 moves floor(log2 49) = 5 bits into the multiplier.
    assert mean_multiplier(0.1, 0.1, 49) == ((1 << 35) // 49, 1 - 5)


def test_mean_is_not_average_pool() -> None:
    # Same quantization: AVERAGE_POOL_2D rounds sum / n half away from zero, MEAN goes through
    # the fixed-point multiplier of the centred sum, and for -3/2 with zero point 5 they differ.
    x = np.array([-1, -2], np.int8).reshape(1, 1, 1, 2)
    assert avgpool2d_tflite(x, (1, 2))[0, 0, 0, 0] == -2
    assert mean_tflite(x, 0.5, 5, 0.5, 5)[0, 0, 0, 0] == -1


@settings(max_examples=60, deadline=None)
@given(SCALES, ZERO_POINTS, SCALES, ZERO_POINTS)
def test_quantize_between_int8_quantizations(xs: float, xz: int, ys: float, yz: int) -> None:
    codes = np.arange(-128, 128, dtype=np.int8).reshape(1, 256)
    b = TfliteBuilder()
    x, y = b.tensor("x", codes.shape, "int8", xs, xz), b.tensor("y", codes.shape, "int8", ys, yz)
    b.operator("QUANTIZE", [x], [y])
    outputs = run_reference(LayerModel(b.finish([x], [y]), True, True), [codes])
    for reference in outputs.values():
        np.testing.assert_array_equal(requantize_tflite_codes(codes, xs, xz, ys, yz), reference)
