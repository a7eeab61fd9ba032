"""TFLite's int8 activation functions as the vector unit's 256-entry tables.

A function of one int8 input has 256 possible inputs, so the hardware evaluates it as a table
indexed by the raw byte; the tables here hold what TFLite's reference integer kernels compute for
each code, in their fixed-point arithmetic:

* HARD_SWISH (`reference_ops::HardSwish`): int16 fixed point. The input is lifted to a "hires"
  scale (x_s / 128), mapped once to the pre-shift output scale and once to a "reluish"
  multiplier in [0, 1] (3.0 at 32768), the two multiplied and shifted down. The float32
  multipliers ``f32(f32(x_s / 128) / y_s)`` and ``f32(f32(x_s / 128) / (3 / 32768))`` go through
  QuantizeMultiplier and are rounded to 16 bits (DownScaleInt32ToInt16Multiplier).
* LOGISTIC (`reference_integer_ops::Logistic`): the input rescaled to Q4.27, gemmlowp's
  fixed-point logistic (`accel.functional.gemmlowp`), output at scale 1/256, zero point -128.
  LiteRT's reference resolver gives the same codes.
* SOFTMAX (`reference_ops::Softmax`, int8 in and out): Q5.26 differences to the row maximum,
  gemmlowp's exp, a Q12.19 sum and its fixed-point reciprocal; output scale 1/256, zero point
  -128. LiteRT's reference resolver gives the same codes.
* LEAKY_RELU (`reference_ops::QuantizeLeakyRelu`): one multiplier for x >= 0, one for x < 0.
* h-sigmoid, which TFLite has no operator for, as the ADD + RELU6 + MUL a converter emits.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from accel.functional import gemmlowp
from accel.functional.elementwise import add_tflite, mul_tflite
from accel.functional.requant import (
    activation_bounds,
    multiply_by_quantized_multiplier,
    quantize_multiplier,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
)

IntArray = npt.NDArray[np.integer]
I64 = npt.NDArray[np.int64]
_INT16_MIN, _INT16_MAX = -(1 << 15), (1 << 15) - 1


def _wrap_int16(x: I64) -> I64:
    return ((x + (1 << 15)) & 0xFFFF) - (1 << 15)


def _int16_multiplier(real: np.float32) -> tuple[int, int]:
    """QuantizeMultiplier of a float32 real, its Q31 part rounded to Q15 (saturating at 32767)."""
    q31, exponent = quantize_multiplier(float(real))
    if q31 >= (1 << 31) - 1 - (1 << 15):  # int32 max - the rounding offset
        return _INT16_MAX, exponent
    return (q31 + (1 << 15)) >> 16, exponent


def srdhm16(a: npt.ArrayLike, b: npt.ArrayLike) -> I64:
    """gemmlowp SaturatingRoundingDoublingHighMul on int16: ``round(a * b / 2**15)``, ties
    away from zero, the product truncated toward zero after the nudge."""
    a64, b64 = np.asarray(a, np.int64), np.asarray(b, np.int64)
    ab = a64 * b64
    nudged = ab + np.where(ab >= 0, 1 << 14, 1 - (1 << 14))
    high = np.where(nudged >= 0, nudged >> 15, -((-nudged) >> 15))
    overflow = (a64 == _INT16_MIN) & (b64 == _INT16_MIN)
    return np.where(overflow, _INT16_MAX, _wrap_int16(high))


def _saturating_left_shift16(x: I64, amount: int) -> I64:
    return np.clip(x * (1 << amount), _INT16_MIN, _INT16_MAX)


def hard_swish_multipliers(x_scale: float, y_scale: float) -> tuple[int, int, int, int]:
    """(output multiplier, output exponent, reluish multiplier, reluish exponent) in Q15, as
    HardSwishPrepare computes them. TFLite refuses a positive output exponent (ValueError)."""
    hires = np.float32(1.0 / 128.0) * np.float32(x_scale)
    out_m, out_e = _int16_multiplier(np.float32(hires / np.float32(y_scale)))
    relu_m, relu_e = _int16_multiplier(np.float32(hires / np.float32(3.0 / 32768.0)))
    if out_e > 0:
        raise ValueError(
            f"hard-swish output scale must exceed input scale / 128, not {y_scale!r} "
            f"for input scale {x_scale!r}"
        )
    return out_m, out_e, relu_m, relu_e


def hard_swish_tflite(
    x: IntArray, x_scale: float, x_zero_point: int, y_scale: float, y_zero_point: int
) -> IntArray:
    """reference_ops::HardSwish on int8/uint8 codes (any shape)."""
    out_m, out_e, relu_m, relu_e = hard_swish_multipliers(x_scale, y_scale)
    arr = np.asarray(x)
    hires = _wrap_int16((arr.astype(np.int64) - x_zero_point) * 128)
    preshift = srdhm16(hires, out_m)
    reluish = hires
    if relu_e > 0:
        reluish = _saturating_left_shift16(reluish, relu_e - 1)
    reluish = srdhm16(reluish, relu_m)
    if relu_e > 0:
        reluish = _saturating_left_shift16(reluish, 1)
    if relu_e < 0:
        reluish = rounding_divide_by_pot(reluish, -relu_e)
    reluish = (reluish + (1 << 15)) >> 1
    # SaturatingDoublingHighMul: the int32 product divided by 2**15, truncated toward zero.
    product = reluish * preshift
    high = np.where(product >= 0, product >> 15, -((-product) >> 15))
    both_min = (reluish == _INT16_MIN) & (preshift == _INT16_MIN)
    preshift_out = np.where(both_min, _INT16_MAX, _wrap_int16(high))
    out = _wrap_int16(rounding_divide_by_pot(preshift_out, -out_e) + y_zero_point)
    info = np.iinfo(arr.dtype)
    return np.clip(out, info.min, info.max).astype(arr.dtype)


def logistic_tflite(x: IntArray, x_scale: float, x_zero_point: int) -> IntArray:
    """reference_integer_ops::Logistic (tflite-micro) on int8 codes; the output is at scale
    1/256, zero point -128 (the only int8 output quantization TFLite accepts)."""
    significand, left_shift = math.frexp(float(np.float32(x_scale)) * float(1 << 27))
    multiplier = math.floor(abs(significand) * (1 << 31) + 0.5)  # TfLiteRound, > 0
    radius = math.floor(15.0 * (1 << 27) / 2.0**left_shift)  # CalculateInputRadius(4, shift)
    centred = np.asarray(x).astype(np.int64) - x_zero_point
    inside = np.clip(centred, -radius + 1, radius - 1)  # values outside are overwritten below
    q4 = multiply_by_quantized_multiplier(inside, multiplier, left_shift)
    q0 = gemmlowp.logistic(q4, 4)
    out = np.clip(rounding_divide_by_pot(q0, 23) - 128, -128, 127)
    out = np.where(centred <= -radius, -128, np.where(centred >= radius, 127, out))
    return out.astype(np.int8)


def softmax_multiplier(x_scale: float, beta: float = 1.0) -> tuple[int, int, int]:
    """(input multiplier, left shift, diff_min) as TFLite's int8 SoftmaxPrepare computes them:
    ``beta · x_s · 2**26`` in double (Q5.26 differences), capped below 2**31."""
    real = min(float(beta) * float(np.float32(x_scale)) * float(1 << 26), 2.0**31 - 1.0)
    if real <= 1.0:
        raise ValueError(f"softmax beta * input scale must exceed 2**-26, not {real / 2**26!r}")
    multiplier, left_shift = quantize_multiplier(real)
    diff_min = -math.floor(31.0 * (1 << 26) / 2.0**left_shift)  # CalculateInputRadius(5, .)
    return multiplier, left_shift, diff_min


def softmax_tflite(x: IntArray, x_scale: float, axis: int = -1, beta: float = 1.0) -> IntArray:
    """reference_ops::Softmax for int8 input and output (scale 1/256, zero point -128) along
    `axis`: exp of the Q5.26 differences to the row maximum, summed in Q12.19, times the
    reciprocal of the sum; differences below diff_min give -128."""
    multiplier, left_shift, diff_min = softmax_multiplier(x_scale, beta)
    rows = np.moveaxis(np.asarray(x).astype(np.int64), axis, -1)
    diff = rows - rows.max(axis=-1, keepdims=True)
    used = diff >= diff_min
    lifted = np.where(used, diff, 0) << left_shift  # MultiplyByQuantizedMultiplierGreaterThanOne
    scaled = saturating_rounding_doubling_high_mul(lifted, multiplier)
    exps = gemmlowp.exp_on_negative_values(scaled, 5)
    terms = np.where(used, gemmlowp.rescale(exps, 0, 12), 0)
    total = np.zeros(rows.shape[:-1], np.int64)
    for j in range(rows.shape[-1]):  # int32 wrap-around additions, in element order
        total = gemmlowp.wrap32(total + terms[..., j])
    scale, bits_over_unit = gemmlowp.reciprocal(total, 12)
    product = gemmlowp.mul(scale[..., None], exps)
    exponent = np.broadcast_to((bits_over_unit + 23)[..., None], product.shape)
    out = np.clip(rounding_divide_by_pot(product, exponent) - 128, -128, 127)
    out = np.where(used, out, -128).astype(np.int8)
    return np.moveaxis(out, -1, axis)


# h-sigmoid has no TFLite operator: converters emit relu6(x + 3) / 6 as ADD(x, 3) with a fused
# RELU6, then MUL(., 1/6). The intermediate is quantized on [0, 6] and each constant is one
# int8 code 127 on [0, c], as TFLite's quantizer does for a calibrated relu6 output and for a
# scalar constant operand.
HSIGMOID_MID_SCALE, HSIGMOID_MID_ZERO_POINT = float(np.float32(6.0 / 255.0)), -128
HSIGMOID_CONSTANTS = {"three": (3.0, float(np.float32(3.0 / 255.0))),
                      "sixth": (1.0 / 6.0, float(np.float32(1.0 / 6.0 / 255.0)))}  # fmt: skip
CONSTANT_CODE, CONSTANT_ZERO_POINT = 127, -128


def hard_sigmoid_tflite(
    x: IntArray, x_scale: float, x_zero_point: int, y_scale: float, y_zero_point: int
) -> IntArray:
    """h-sigmoid as TFLite runs a converted relu6(x + 3) / 6: reference int8 ADD with RELU6
    into the [0, 6] intermediate, then reference int8 MUL by the 1/6 constant."""
    arr = np.asarray(x)
    if arr.dtype != np.int8:
        raise ValueError(f"h-sigmoid codes must be int8, not {arr.dtype.name!r}")
    code = np.full(arr.shape, CONSTANT_CODE, np.int8)
    mid_s, mid_zp = HSIGMOID_MID_SCALE, HSIGMOID_MID_ZERO_POINT
    lo, hi = activation_bounds("relu6", mid_s, mid_zp, np.int8, "tflite")
    three_s = HSIGMOID_CONSTANTS["three"][1]
    mid = add_tflite(arr, x_scale, x_zero_point, code, three_s, CONSTANT_ZERO_POINT, mid_s,
                     mid_zp, act_min=lo, act_max=hi)  # fmt: skip
    sixth_s = HSIGMOID_CONSTANTS["sixth"][1]
    return mul_tflite(mid, mid_s, mid_zp, code, sixth_s, CONSTANT_ZERO_POINT, y_scale,
                      y_zero_point)  # fmt: skip


def leaky_relu_tflite(
    x: IntArray, x_scale: float, x_zero_point: int, y_scale: float, y_zero_point: int,
    alpha: float,
) -> IntArray:  # fmt: skip
    """reference_ops::QuantizeLeakyRelu on int8 codes: the centred input times the multiplier
    of ``x_s · alpha / y_s`` below zero, of ``x_s / y_s`` from zero up, both in double from the
    float32 scales and alpha, as tflite-micro computes them (LiteRT 2.3 uses float32 and can be
    one step of the int32 multiplier apart)."""
    xs, ys = float(np.float32(x_scale)), float(np.float32(y_scale))
    alpha_m, alpha_s = quantize_multiplier(xs * float(np.float32(alpha)) / ys)
    identity_m, identity_s = quantize_multiplier(xs / ys)
    arr = np.asarray(x)
    centred = arr.astype(np.int64) - x_zero_point
    scaled = np.where(
        centred >= 0,
        multiply_by_quantized_multiplier(centred, identity_m, identity_s),
        multiply_by_quantized_multiplier(centred, alpha_m, alpha_s),
    )
    info = np.iinfo(arr.dtype)
    out: IntArray = np.clip(scaled + y_zero_point, info.min, info.max).astype(arr.dtype)
    return out
