"""gemmlowp's 32-bit fixed-point transcendental functions, as TFLite's integer kernels use them.

A chip's post-processing unit that evaluates sigmoid or softmax without floating point does it
the way TFLite's reference kernels do: a Qm.n int32 value, a Taylor polynomial for exp on
[-1/4, 0), a barrel shifter of exp(-2^k) constants for the rest, and Newton-Raphson for
1 / (1 + x). Every operation is gemmlowp's (SaturatingRoundingDoublingHighMul for products,
wrap-around adds, rounding shifts), evaluated elementwise on int64 arrays holding int32 values.
The functions take and return raw int32 values; `integer_bits` is the format's m.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from accel.functional.requant import (
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
)

I64 = npt.NDArray[np.int64]
_MIN, _MAX = -(1 << 31), (1 << 31) - 1
_ONE_Q0 = _MAX  # 1.0 in Q0.31 is not representable; gemmlowp uses the largest raw value


def wrap32(x: npt.ArrayLike) -> I64:
    """int32 wrap-around of gemmlowp's plain Add/Sub/Neg."""
    return ((np.asarray(x, np.int64) + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def mul(a: npt.ArrayLike, b: npt.ArrayLike) -> I64:
    """Fixed-point product (integer bits add up): SaturatingRoundingDoublingHighMul."""
    return saturating_rounding_doubling_high_mul(a, b)


def multiply_by_pot(x: npt.ArrayLike, exponent: int) -> I64:
    """SaturatingRoundingMultiplyByPOT: a saturating left shift or a rounding right shift."""
    if exponent >= 0:
        shifted: I64 = np.clip(np.asarray(x, np.int64) << exponent, _MIN, _MAX)
        return shifted
    return rounding_divide_by_pot(x, -exponent)


def rescale(x: npt.ArrayLike, src_bits: int, dst_bits: int) -> I64:
    """Rescale<dst>: the same real number with `dst_bits` integer bits instead of `src_bits`."""
    return multiply_by_pot(x, src_bits - dst_bits)


def _rounding_half_sum(a: I64, b: npt.ArrayLike) -> I64:
    total = np.asarray(a, np.int64) + np.asarray(b, np.int64)
    biased = total + np.where(total >= 0, 1, -1)
    return np.where(biased >= 0, biased // 2, -((-biased) // 2))  # C division truncates


def _exp_quarter_interval(a: I64) -> I64:
    """exp(a) for a in [-1/4, 0), Q0.31: Taylor series around -1/8."""
    constant_term, one_third = 1895147668, 715827883
    x = wrap32(a + (1 << 28))
    x2 = mul(x, x)
    x3 = mul(x2, x)
    x4 = mul(x2, x2)
    x4_over_4 = multiply_by_pot(x4, -2)
    poly = multiply_by_pot(wrap32(mul(wrap32(x4_over_4 + x3), one_third) + x2), -1)
    return wrap32(constant_term + mul(constant_term, wrap32(x + poly)))


_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
           (2, 39332535), (3, 720401), (4, 242))  # fmt: skip


def exp_on_negative_values(a: npt.ArrayLike, integer_bits: int) -> I64:
    """exp(a) in Q0.31 for a <= 0 given in Q`integer_bits`."""
    a64 = np.asarray(a, np.int64)
    fractional = 31 - integer_bits
    quarter = 1 << (fractional - 2)
    a_mod = wrap32((a64 & (quarter - 1)) - quarter)
    result = _exp_quarter_interval(rescale(a_mod, integer_bits, 0))
    remainder = wrap32(a_mod - a64)
    for exponent, multiplier in _BARREL:
        if integer_bits > exponent:
            bit = (remainder & (1 << (fractional + exponent))) != 0
            result = np.where(bit, mul(result, multiplier), result)
    if integer_bits > 5:
        result = np.where(a64 < -(1 << (36 - integer_bits)), 0, result)
    return np.where(a64 == 0, _ONE_Q0, result)


def one_over_one_plus_x(a: npt.ArrayLike) -> I64:
    """1 / (1 + a) in Q0.31 for a in (0, 1) in Q0.31: three Newton-Raphson steps in Q2.29."""
    half_denominator = _rounding_half_sum(np.asarray(a, np.int64), _ONE_Q0)
    x = wrap32(1515870810 + mul(half_denominator, -1010580540))
    one_q2 = 1 << 29
    for _ in range(3):
        product = mul(half_denominator, x)
        x = wrap32(x + rescale(mul(x, wrap32(one_q2 - product)), 4, 2))
    return rescale(x, 1, 0)  # ExactMulByPot<-1> then Rescale<0> from Q1.30


def logistic(a: npt.ArrayLike, integer_bits: int) -> I64:
    """1 / (1 + exp(-a)) in Q0.31 for `a` in Q`integer_bits`."""
    a64 = np.asarray(a, np.int64)
    positive = a64 > 0
    magnitude = np.where(positive, a64, wrap32(-a64))
    if_positive = one_over_one_plus_x(exp_on_negative_values(wrap32(-magnitude), integer_bits))
    if_negative = wrap32(_ONE_Q0 - if_positive)
    return np.where(a64 == 0, 1 << 30, np.where(positive, if_positive, if_negative))


def count_leading_zeros(x: npt.ArrayLike) -> I64:
    """Leading zero bits of a non-negative int32 viewed as uint32 (32 for 0)."""
    v = np.asarray(x, np.int64) & 0xFFFFFFFF
    _, bit_length = np.frexp(v.astype(np.float64))  # exact: v < 2**53, frexp(0) gives 0
    return 32 - bit_length.astype(np.int64)


def reciprocal(x: npt.ArrayLike, integer_bits: int) -> tuple[I64, I64]:
    """TFLite GetReciprocal of a positive Q`integer_bits` value: (1 / x scaled into Q0.31,
    num_bits_over_unit), so 1/x = result · 2**-num_bits_over_unit."""
    x64 = np.asarray(x, np.int64)
    headroom_plus_one = count_leading_zeros(x64)
    shifted = (((x64 & 0xFFFFFFFF) << headroom_plus_one) & 0xFFFFFFFF) - (1 << 31)
    return one_over_one_plus_x(wrap32(shifted)), integer_bits - headroom_plus_one


def one_minus_x_over_one_plus_x(a: npt.ArrayLike) -> I64:
    """(1 − a) / (1 + a) in Q0.31 for a in [0, 1] in Q0.31: the same Newton-Raphson division
    as `one_over_one_plus_x`, less one at the end (gemmlowp's
    one_minus_x_over_one_plus_x_for_x_in_0_1)."""
    half_denominator = _rounding_half_sum(np.asarray(a, np.int64), _ONE_Q0)
    x = wrap32(1515870810 + mul(half_denominator, -1010580540))
    one_q2 = 1 << 29
    for _ in range(3):
        product = mul(half_denominator, x)
        x = wrap32(x + rescale(mul(x, wrap32(one_q2 - product)), 4, 2))
    return rescale(wrap32(x - one_q2), 2, 0)


def tanh(a: npt.ArrayLike, integer_bits: int) -> I64:
    """tanh(a) in Q0.31 for `a` in Q`integer_bits`: (1 − e^(−2|a|)) / (1 + e^(−2|a|)), the sign
    put back (e^(−2|a|) reads −|a|'s raw value with one more integer bit, gemmlowp's
    ExactMulByPot<1>)."""
    a64 = np.asarray(a, np.int64)
    negative = a64 < 0
    magnitude = one_minus_x_over_one_plus_x(
        exp_on_negative_values(np.where(negative, a64, wrap32(-a64)), integer_bits + 1))
    return np.where(a64 == 0, 0, np.where(negative, wrap32(-magnitude), magnitude))
