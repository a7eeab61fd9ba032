"""Requantization primitives: onnxruntime's float path and TFLite's fixed-point path, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ort_helpers import Node, make_model, run_model, run_node, scalar

from accel.functional import requant as rq

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
DTYPES = [np.int8, np.uint8]


def _zero_points(dtype: type) -> st.SearchStrategy[int]:
    lo, hi = rq.dtype_bounds(dtype)
    return st.sampled_from([lo, lo + 1, hi - 1, hi, 0, 1]) | st.integers(lo, hi)


def _f32(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi).map(lambda v: float(np.float32(v)))


# ------------------------------------------------------------------ TFLite fixed-point, scalar refs


def _srdhm_ref(a: int, b: int) -> int:
    # gemmlowp SaturatingRoundingDoublingHighMul written with C semantics on Python ints.
    if a == b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    q = ab + nudge
    return q // (1 << 31) if q >= 0 else -((-q) // (1 << 31))


def _rdbpot_ref(x: int, exponent: int) -> int:
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


@settings(max_examples=300, deadline=None)
@given(st.integers(INT32_MIN, INT32_MAX), st.integers(INT32_MIN, INT32_MAX), st.integers(0, 31))
def test_fixed_point_primitives_match_scalar_reference(a: int, b: int, e: int) -> None:
    assert int(rq.saturating_rounding_doubling_high_mul(a, b)) == _srdhm_ref(a, b)
    assert int(rq.rounding_divide_by_pot(a, e)) == _rdbpot_ref(a, e)


def test_fixed_point_edge_values() -> None:
    assert int(rq.saturating_rounding_doubling_high_mul(INT32_MIN, INT32_MIN)) == INT32_MAX
    # Ties round away from zero in both primitives.
    assert [int(rq.rounding_divide_by_pot(v, 1)) for v in (3, -3, 1, -1)] == [2, -2, 1, -1]
    assert [int(rq.rounding_divide_by_pot(v, 2)) for v in (6, -6, 5, -5)] == [2, -2, 1, -1]
    assert int(rq.saturating_rounding_doubling_high_mul(1, 1 << 30)) == 1  # 0.5 -> 1


@pytest.mark.parametrize(
    ("real", "expected"),
    [  # TFLite quantization_util_test.cc vectors
        (-4.0, (-1073741824, 3)),
        (-0.125, (-1073741824, -2)),
        (0.0, (0, 0)),
        (0.125, (1073741824, -2)),
        (0.5, (1073741824, 0)),
        (1.0, (1073741824, 1)),
        (4.0, (1073741824, 3)),
        (0.25, (1073741824, -1)),
        (0.50 - 5e-9, (2147483627, -1)),
        (0.50 - 1e-10, (1073741824, 0)),
        (0.75, (1610612736, 0)),
        (1 - 1e-9, (2147483646, 0)),
        (1 + 1e-11, (1073741824, 1)),
        (1.25, (1342177280, 1)),
        (1.75, (1879048192, 1)),
        (2 - 1e-9, (2147483647, 1)),
        (2 - 1e-11, (1073741824, 2)),
        (2.0**-31, (1073741824, -30)),
        (2.0**-32, (1073741824, -31)),
        (float(np.ldexp(np.float32(0.99), -32)), (0, 0)),
        (2.0**-33, (0, 0)),
    ],
)
def test_quantize_multiplier_tflite_vectors(real: float, expected: tuple[int, int]) -> None:
    assert rq.quantize_multiplier(real) == expected


@pytest.mark.parametrize(
    ("x", "real", "expected"),
    [  # TFLite MultiplyByQuantizedMultiplierInt32 vectors
        (0, 0.1, 0),
        (1, 0.0, 0),
        (10000, 0.00097656, 10),
        (-10000, 0.00097656, -10),
        (INT32_MIN, 0.00001, -21475),
        (INT32_MAX, 0.00001, 21475),
        (10000, -0.00097656, -10),
        (-10000, -0.00097656, 10),
        (INT32_MIN, -0.00001, 21475),
        (INT32_MAX, -0.00001, -21475),
    ],
)
def test_multiply_by_quantized_multiplier_tflite_vectors(
    x: int, real: float, expected: int
) -> None:
    m, s = rq.quantize_multiplier(real)
    assert int(rq.multiply_by_quantized_multiplier(x, m, s)) == expected


def test_multiply_by_quantized_multiplier_extreme() -> None:
    x, m, shift = INT32_MAX, INT32_MAX, -3
    exact = float(x * m) / float(1 << (31 - shift))
    expected = int(np.copysign(np.floor(abs(exact) + 0.5), exact))
    assert int(rq.multiply_by_quantized_multiplier(x, m, shift)) == expected
    assert int(rq.multiply_by_quantized_multiplier(-x, m, shift)) == -expected


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(-(2**24), 2**24), min_size=1, max_size=8),
    st.floats(2.0**-20, 4.0),
    st.sampled_from(["none", "relu", "relu6"]),
    _zero_points(np.int8),
)
def test_requantize_tflite_matches_scalar_reference(
    accs: list[int], real: float, act: rq.Activation, zp: int
) -> None:
    m, s = rq.quantize_multiplier(real)
    lo, hi = rq.activation_bounds(act, 0.05, zp, np.int8, "tflite")
    got = rq.requantize_tflite(np.array(accs), m, s, zp, np.int8, axis=0, act_min=lo, act_max=hi)
    left, right = max(s, 0), max(-s, 0)
    want = [min(hi, max(lo, _rdbpot_ref(_srdhm_ref(a * (1 << left), m), right) + zp)) for a in accs]
    assert got.tolist() == want


def test_activation_bounds_tflite_rounds_half_away() -> None:
    # f32(6) / f32(2.4) rounds to exactly 2.5: TfLiteRound gives 3, QuantizeLinear (half even) 2.
    assert rq.activation_bounds("relu6", 2.4, 0, np.int8, "tflite") == (0, 3)
    assert rq.activation_bounds("relu6", 2.4, 0, np.int8, "onnx") == (0, 2)
    assert rq.activation_bounds("relu", 0.1, 120, np.int8, "tflite") == (120, 127)
    assert rq.activation_bounds("none", 0.1, 3, np.uint8, "onnx") == (0, 255)


# ---------------------------------------------------------------------------- onnx float path


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(DTYPES),
    st.integers(-12, 4),
    st.data(),
)
def test_quantize_linear_matches_ort_with_ties(
    dtype: type, log2_scale: int, data: st.DataObject
) -> None:
    zp = data.draw(_zero_points(dtype))
    scale = np.float32(2.0**log2_scale)
    # Exact half-integers of the scale are round-half-even ties; add a spread of other values.
    halves = (np.arange(-300, 300) + 0.5) * scale
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31)))
    x = np.concatenate([halves, rng.normal(0, 200, 400) * scale, [np.inf, -np.inf]]).astype(
        np.float32
    )
    ref = run_node("QuantizeLinear", [x, scalar(scale, np.float32), scalar(zp, dtype)], dtype)
    np.testing.assert_array_equal(rq.quantize_linear(x, scale, zp, dtype), ref)


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(DTYPES), _f32(1e-6, 1e3), st.data())
def test_dequantize_linear_matches_ort(dtype: type, scale: float, data: st.DataObject) -> None:
    zp = data.draw(_zero_points(dtype))
    q = np.arange(256, dtype=np.uint8).view(dtype)
    ref = run_node(
        "DequantizeLinear", [q, scalar(scale, np.float32), scalar(zp, dtype)], np.float32
    )
    got = rq.dequantize_linear(q, scale, zp)
    np.testing.assert_array_equal(got.view(np.uint32), ref.view(np.uint32))


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(DTYPES), _f32(0.005, 0.5), st.data())
def test_relu6_bounds_match_ort_clip_chain(dtype: type, scale: float, data: st.DataObject) -> None:
    """A fused ReLU6 is DequantizeLinear -> Clip(0, 6) -> QuantizeLinear on the same (scale, zp)."""
    zp = data.draw(_zero_points(dtype))
    q = np.arange(256, dtype=np.uint8).view(dtype)
    nodes = [
        Node("DequantizeLinear", ["x", "s", "z"], ["f"]),
        Node("Clip", ["f", "lo", "hi"], ["c"]),
        Node("QuantizeLinear", ["c", "s", "z"], ["out"]),
    ]
    consts = {
        "s": scalar(scale, np.float32),
        "z": scalar(zp, dtype),
        "lo": scalar(0.0, np.float32),
        "hi": scalar(6.0, np.float32),
    }
    ref = run_model(make_model(nodes, {"x": q}, consts, {"out": np.dtype(dtype)}), {"x": q})[0]
    lo, hi = rq.activation_bounds("relu6", scale, zp, dtype, "onnx")
    np.testing.assert_array_equal(np.clip(q, lo, hi).astype(dtype), ref)


def test_onnx_requant_scale_is_float32_arithmetic() -> None:
    xs, ws, ys = np.float32(0.1), np.array([0.3, 0.7], np.float32), np.float32(0.9)
    got = rq.onnx_requant_scale(xs, ws, ys)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, np.array([(xs * w) / ys for w in ws], np.float32))


def test_requantize_onnx_rounds_half_to_even_and_saturates() -> None:
    acc = np.array([[1, 3, 5, -1, -3, 1000, -1000]])
    got = rq.requantize_onnx(acc, np.float32(0.5), 0, np.int8, axis=0)
    assert got.tolist() == [[0, 2, 2, 0, -2, 127, -128]]
    relu = rq.requantize_onnx(acc, np.float32(0.5), 10, np.int8, axis=0, act_min=10, act_max=12)
    assert relu.tolist() == [[10, 12, 12, 10, 10, 12, 10]]


# ------------------------------------------------------------------------- accumulator narrowing


def test_narrow_accumulator_wrap_and_saturate() -> None:
    acc = np.array([0, 127, 128, -129, 300])
    wrapped, over = rq.narrow_accumulator(acc, 8, "wrap")
    assert over and wrapped.tolist() == [0, 127, -128, 127, 44]
    sat, over = rq.narrow_accumulator(acc, 8, "saturate")
    assert over and sat.tolist() == [0, 127, 127, -128, 127]
    same, over = rq.narrow_accumulator(np.array([5, -5]), 16, "wrap")
    assert not over and same.tolist() == [5, -5]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: rq.narrow_accumulator(np.array([1]), 1, "wrap"), "accumulator bits must be"),
        (lambda: rq.narrow_accumulator(np.array([1]), 16, "clip"), "overflow mode must be"),
        (lambda: rq.dtype_bounds(np.int16), "activation dtype must be int8 or uint8"),
        (lambda: rq.quantize_multiplier(float("nan")), "real multiplier must be finite"),
        (lambda: rq.onnx_requant_scale(0.0, 1.0, 1.0), "scales must be positive"),
        (lambda: rq.rounding_divide_by_pot(1, 32), "exponent must be in"),
    ],
)
def test_errors_name_the_rule(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]
