"""TFLite's int8 HARD_SWISH, LOGISTIC, SOFTMAX and the converted h-sigmoid, over every input
code, against tflite-micro and LiteRT's reference resolver (both must give the same codes)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accel.check.tflite_check import run_reference
from accel.functional import tflite_activations as ta
from accel.io.tflite_export import LayerModel
from accel.io.tflite_flatbuffer import TfliteBuilder, schema

pytest.importorskip("ai_edge_litert")

CODES = np.arange(-128, 128, dtype=np.int8).reshape(1, 256)
SCALES = st.floats(-8.0, 0.0).map(lambda e: float(np.float32(2.0**e)))
ZERO_POINTS = st.integers(-128, 127)


def _references(build: TfliteBuilder, x: int, y: int, feed: np.ndarray) -> list[np.ndarray]:
    outputs = run_reference(LayerModel(build.finish([x], [y]), True, True), [feed])
    assert set(outputs) == {"tflite-micro", "litert-reference"}
    return list(outputs.values())


def _unary(code: str, xs: float, xz: int, ys: float, yz: int, options: object = None,
           feed: np.ndarray = CODES) -> list[np.ndarray]:  # fmt: skip
    b = TfliteBuilder()
    x = b.tensor("x", feed.shape, "int8", xs, xz)
    y = b.tensor("y", feed.shape, "int8", ys, yz)
    b.operator(code, [x], [y], options)
    return _references(b, x, y, feed)


@settings(max_examples=60, deadline=None)
@given(SCALES, ZERO_POINTS, st.floats(-6.0, 1.0).map(lambda e: float(np.float32(2.0**e))),
       ZERO_POINTS)  # fmt: skip
def test_hard_swish_matches_reference_kernels(xs: float, xz: int, ys: float, yz: int) -> None:
    ours = ta.hard_swish_tflite(CODES, xs, xz, ys, yz)
    for reference in _unary("HARD_SWISH", xs, xz, ys, yz):
        np.testing.assert_array_equal(ours, reference)


def test_hard_swish_output_scale_must_exceed_the_hires_input_scale() -> None:
    # TFLite refuses a positive output exponent (y_s <= x_s / 128) at prepare time.
    with pytest.raises(ValueError, match="output scale must exceed input scale / 128"):
        ta.hard_swish_multipliers(0.5, 0.5 / 256)


def test_hard_swish_of_known_values() -> None:
    # x = -3, 0, 3, 6 at scale 1/16: h-swish gives 0, 0, 3, 6 (output scale 1/16).
    codes = np.array([-48, 0, 48, 96], np.int8)
    np.testing.assert_array_equal(ta.hard_swish_tflite(codes, 1 / 16, 0, 1 / 16, 0),
                                  [0, 0, 48, 96])  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(SCALES, ZERO_POINTS)
def test_logistic_matches_tflite_micro(xs: float, xz: int) -> None:
    ours = ta.logistic_tflite(CODES, xs, xz)
    micro, _ = _unary("LOGISTIC", xs, xz, 1 / 256, -128)
    np.testing.assert_array_equal(ours, micro)


def test_litert_logistic_is_a_float_table_one_code_off_next_to_ties() -> None:
    # At x_s = 2**-7, codes ±1 give sigmoid(±1/128) · 256 = 128.4999.. / 127.5000..: gemmlowp's
    # fixed-point logistic (tflite-micro, accel) lands past the tie, LiteRT's float table not.
    ours = ta.logistic_tflite(CODES, 2**-7, 0)
    micro, litert = _unary("LOGISTIC", 2**-7, 0, 1 / 256, -128)
    np.testing.assert_array_equal(ours, micro)
    assert (ours[0, 127], ours[0, 129], litert[0, 127], litert[0, 129]) == (-1, 1, 0, 0)
    assert np.flatnonzero(ours != litert).tolist() == [127, 129]


def test_logistic_is_close_to_the_real_sigmoid() -> None:
    ours = ta.logistic_tflite(CODES, 0.05, 0).astype(np.float64)
    real = 1 / (1 + np.exp(-0.05 * CODES.astype(np.float64)))
    assert np.max(np.abs((ours + 128) / 256 - real)) <= 1 / 256


@settings(max_examples=60, deadline=None)
@given(SCALES, ZERO_POINTS, st.floats(-9.0, -3.0).map(lambda e: float(np.float32(2.0**e))),
       ZERO_POINTS)  # fmt: skip
def test_hard_sigmoid_matches_the_converted_add_mul(xs: float, xz: int, ys: float, yz: int) -> None:
    b = TfliteBuilder()
    x = b.tensor("x", CODES.shape, "int8", xs, xz)
    mid = b.tensor("mid", CODES.shape, "int8", ta.HSIGMOID_MID_SCALE, ta.HSIGMOID_MID_ZERO_POINT)
    code = np.array([ta.CONSTANT_CODE], np.int8)
    three, sixth = (b.tensor(name, (1,), "int8", ta.HSIGMOID_CONSTANTS[name][1], -128, data=code)
                    for name in ("three", "sixth"))  # fmt: skip
    y = b.tensor("y", CODES.shape, "int8", ys, yz)
    add = schema().AddOptionsT()
    add.fusedActivationFunction = 3
    b.operator("ADD", [x, three], [mid], add)
    b.operator("MUL", [mid, sixth], [y], schema().MulOptionsT())
    ours = ta.hard_sigmoid_tflite(CODES, xs, xz, ys, yz)
    for reference in _references(b, x, y, CODES):
        np.testing.assert_array_equal(ours, reference)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(-10.0, 1.0).map(lambda e: float(np.float32(2.0**e))),
       ZERO_POINTS, st.sampled_from([1.0, 0.5, 2.5]), st.integers(1, 40))  # fmt: skip
def test_softmax_matches_reference_kernels(
    seed: int, xs: float, xz: int, beta: float, depth: int
) -> None:
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, (1, 6, depth)).astype(np.int8)
    x[0, 0] = -128  # a flat row
    options = schema().SoftmaxOptionsT()
    options.beta = beta
    ours = ta.softmax_tflite(x, xs, axis=-1, beta=beta)
    for reference in _unary("SOFTMAX", xs, xz, 1 / 256, -128, options, feed=x):
        np.testing.assert_array_equal(ours, reference)


def test_softmax_drops_differences_below_diff_min() -> None:
    # At scale 1 and beta 1 the multiplier is 2**26 = 0.5 * 2**27: diff_min = -floor(31 / 2).
    assert ta.softmax_multiplier(1.0) == (1 << 30, 27, -15)
    out = ta.softmax_tflite(np.array([[0, -16, -15]], np.int8), 1.0, axis=-1)
    assert out[0, 1] == -128  # skipped, not even added to the sum
    assert out[0, 0] == 127 and out[0, 2] == -128  # exp(-15) / (1 + ...) rounds to code 0


def test_softmax_input_scale_must_not_vanish() -> None:
    with pytest.raises(ValueError, match="beta \\* input scale must exceed"):
        ta.softmax_multiplier(2.0**-28)


@settings(max_examples=60, deadline=None)
@given(SCALES, ZERO_POINTS, SCALES, ZERO_POINTS,
       st.sampled_from([0.01, 0.1, 0.2, 1 / 3, 1.5]).map(lambda a: float(np.float32(a))))  # fmt: skip
def test_leaky_relu_matches_tflite_micro(
    xs: float, xz: int, ys: float, yz: int, alpha: float
) -> None:
    options = schema().LeakyReluOptionsT()
    options.alpha = alpha
    ours = ta.leaky_relu_tflite(CODES, xs, xz, ys, yz, alpha)
    micro, _ = _unary("LEAKY_RELU", xs, xz, ys, yz, options)
    np.testing.assert_array_equal(ours, micro)


def test_litert_leaky_relu_multiplier_is_float32_so_it_can_differ() -> None:
    # x_s = y_s = 0.99995768, alpha 1.5: x_s·alpha/y_s is 1.50000006 in double (tflite-micro,
    # accel) and 1.50000012 in float32 (LiteRT), one int32 multiplier step apart.
    scale = float(np.float32(0.9999576807022095))
    options = schema().LeakyReluOptionsT()
    options.alpha = 1.5
    ours = ta.leaky_relu_tflite(CODES, scale, 0, scale, 0, 1.5)
    micro, litert = _unary("LEAKY_RELU", scale, 0, scale, 0, options)
    np.testing.assert_array_equal(ours, micro)
    assert (ours[0, 43], litert[0, 43]) == (-127, -128)


def test_a_softmax_past_tflites_exponent_range_is_refused_in_one_short_line() -> None:
    """1000 equal logits sum to 1000 in Q12.19: the reciprocal's exponent leaves [0, 31]."""
    from accel.functional.tflite_activations import softmax_tflite

    with pytest.raises(ValueError) as error:
        softmax_tflite(np.zeros((1, 1000, 1, 1), np.int8), 0.1, axis=1)
    message = str(error.value)
    assert message == "exponent must be in [0, 31], not 32 (1000 such values)"
