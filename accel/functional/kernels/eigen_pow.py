"""float32 `x ** exponent` exactly as onnxruntime's Eigen expressions compute it on x86.

onnxruntime's LRN raises each element to a constant power with an Eigen array expression
(`a.pow(b)`, b a scalar). Eigen evaluates such an expression four floats at a time (SSE
packets; the core library is built without FMA) and the elements left over after the last full
packet one at a time, and the two paths use different arithmetic:
- packets: an integer exponent in [-3, 7] is repeated squaring (of 1/x for a negative one);
  any other exponent is Eigen's `generic_pow`: log2 of the mantissa in double-word arithmetic
  (a degree-8 polynomial plus two double-word Horner steps), the product with the exponent kept
  as a double word, split into an integer and a fraction, 2**fraction as exp(ln2 · fraction)
  (Eigen's float `pexp` times 1 + the product's low word), scaled by 2**integer;
- leftover elements: the C library's `powf` (glibc on Linux, called here through ctypes; where
  it cannot be loaded, the correctly rounded power stands in and may differ in the last bit).
Double-word steps (Dekker's product, Veltkamp-free here because a float32 product is exact in
float64) are exact, so only the rounding of each float32 operation has to be reproduced.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable
from functools import cache

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
PACKET = 4  # SSE floats per Eigen packet
DoubleWord = tuple[F32, F32]

# Eigen's float log2(1 + x)/x polynomial on [sqrt(1/2) - 1, sqrt(2) - 1] (highest degree first)
# and its two constant terms, kept as double words.
_LOG2_POLY = (9.7010828554630279541015625e-02, -1.6896486282348632812500000e-01,
              1.7200836539268493652343750e-01, -1.7892272770404815673828125e-01,
              2.0505344867706298828125000e-01, -2.4046677350997924804687500e-01,
              2.8857553005218505859375000e-01, -3.6067414283752441406250000e-01,
              4.8089790344238281250000000e-01)  # fmt: skip
_LOG2_C1 = -7.2134751588268664068692714863573201000690460205078125e-01
_LOG2_C0 = 1.442695041742110273474963832995854318141937255859375e+00
# Eigen's float exp: Cody-Waite reduction by ln 2 in two parts, then a degree-6 polynomial.
_EXP_POLY = (1.37449637986719608306884765625e-3, 8.36894474923610687255859375e-3,
             4.166965186595916748046875e-2, 0.16666518151760101318359375,
             0.49999988079071044921875)  # fmt: skip


def _f32(value: float) -> np.float32:
    return np.float32(value)


def _madd(a: npt.ArrayLike, b: npt.ArrayLike, c: npt.ArrayLike) -> F32:
    # Eigen's pmadd without FMA: a rounded product, then a rounded sum.
    product = np.multiply(a, b, dtype=np.float32)
    return np.add(product, c, dtype=np.float32)


def _two_product(x: npt.ArrayLike, y: npt.ArrayLike) -> DoubleWord:
    x64 = np.asarray(x, np.float32).astype(np.float64)
    y64 = np.asarray(y, np.float32).astype(np.float64)
    high = (x64 * y64).astype(np.float32)
    return high, (x64 * y64 - high.astype(np.float64)).astype(np.float32)


def _fast_two_sum(x: F32, y: F32) -> DoubleWord:
    total = np.add(x, y, dtype=np.float32)
    return total, np.subtract(y, np.subtract(total, x, dtype=np.float32), dtype=np.float32)


def _add_double_words(x: DoubleWord, y: DoubleWord) -> DoubleWord:
    """{x} + {y} assuming |x.high| >= |y.high| (Eigen's fast_twosum of double words)."""
    high, low = _fast_two_sum(x[0], y[0])
    rest = np.add(np.add(y[1], low, dtype=np.float32), x[1], dtype=np.float32)
    return _fast_two_sum(high, rest)


def _times_word(x: DoubleWord, y: npt.ArrayLike) -> DoubleWord:
    """Double word times float (Muller's algorithm 7, as Eigen's twoprod)."""
    high, low_product = _two_product(x[0], y)
    low_word = np.multiply(x[1], y, dtype=np.float32)
    total, low_sum = _fast_two_sum(high, low_word)
    return _fast_two_sum(total, np.add(low_sum, low_product, dtype=np.float32))


def _constant(value: float, like: F32) -> DoubleWord:
    high = _f32(value)
    return np.full_like(like, high), np.full_like(like, _f32(value - float(high)))


def _log2_mantissa(z: F32) -> DoubleWord:
    """log2(z) for z in [sqrt(1/2), sqrt(2)) as a double word."""
    x = np.subtract(z, _f32(1.0), dtype=np.float32)
    p = np.full_like(x, _f32(_LOG2_POLY[0]))
    for coefficient in _LOG2_POLY[1:]:
        p = _madd(p, x, _f32(coefficient))
    q = _add_double_words(_constant(_LOG2_C1, x), _two_product(x, p))
    q = _add_double_words(_constant(_LOG2_C0, x), _times_word(q, x))
    return _times_word(q, x)


def _exp(x: F32) -> F32:
    """Eigen's float pexp (no FMA) for |x| below 87."""
    x = np.minimum(x, _f32(88.723))
    m = np.floor(_madd(x, _f32(1.44269504088896341), _f32(0.5)))
    r = _madd(m, _f32(-0.693359375), x)
    r = _madd(m, _f32(2.12194440e-4), r)
    r2 = np.multiply(r, r, dtype=np.float32)
    even = _madd(r2, _f32(_EXP_POLY[0]), _f32(_EXP_POLY[2]))
    odd = _madd(r2, _f32(_EXP_POLY[1]), _f32(_EXP_POLY[3]))
    even = _madd(r2, even, _f32(_EXP_POLY[4]))
    y = _madd(r2, _madd(r, odd, even), np.add(r, _f32(1.0), dtype=np.float32))
    return np.asarray(np.ldexp(y, m.astype(np.int32)), np.float32)


def _exp2(x: F32) -> F32:
    """Eigen's generic_exp2: exp(high word of ln2 · x) · (1 + low word)."""
    x = np.clip(x, _f32(-151.0), _f32(129.0))
    high, low = _two_product(_f32(np.log(2.0)), x)
    return np.multiply(_exp(high), np.add(_f32(1.0), low, dtype=np.float32), dtype=np.float32)


def _round_half_away(x: F32) -> F32:
    magnitude = np.abs(x)
    whole = np.floor(magnitude)
    up = (magnitude - whole) >= _f32(0.5)
    return np.asarray(np.copysign(whole + up.astype(np.float32), x), np.float32)


def generic_pow(x: F32, exponent: np.float32) -> F32:
    """Eigen's packet pow for positive finite x (generic_pow_impl)."""
    mantissa, power = np.frexp(np.asarray(x, np.float32))
    low = mantissa < _f32(0.70710678118654752440)
    mantissa = np.where(low, np.multiply(mantissa, _f32(2.0), dtype=np.float32), mantissa)
    e = np.where(low, power - 1, power).astype(np.float32)
    log2_x = _log2_mantissa(mantissa.astype(np.float32))
    y = np.full_like(e, exponent)
    f = _add_double_words(_two_product(e, y), _times_word(log2_x, y))
    whole = _round_half_away(f[0])
    fraction = np.add(np.subtract(f[0], whole, dtype=np.float32), f[1], dtype=np.float32)
    carry = _round_half_away(fraction)
    fraction = np.subtract(fraction, carry, dtype=np.float32)
    whole = np.add(whole, carry, dtype=np.float32)
    return np.asarray(np.ldexp(_exp2(fraction), whole.astype(np.int32)), np.float32)


def _repeated_squaring(x: F32, exponent: int) -> F32:
    base = np.divide(_f32(1.0), x, dtype=np.float32) if exponent < 0 else x
    if exponent == 0:
        return np.ones_like(x)
    result, remaining = np.ones_like(x), abs(exponent)
    while remaining > 1:
        if remaining % 2:
            result = np.multiply(result, base, dtype=np.float32)
        base = np.multiply(base, base, dtype=np.float32)
        remaining //= 2
    return np.multiply(result, base, dtype=np.float32)


def _packet_pow(x: F32, exponent: np.float32) -> F32:
    if float(exponent).is_integer() and -3 <= exponent <= 7:
        return _repeated_squaring(x, int(exponent))
    result = generic_pow(x, exponent)
    # The special cases both Eigen paths keep: 1 ** y = 1, 0 ** y = inf (y < 0) or 0.
    result = np.where(x == _f32(1.0), _f32(1.0), result)
    zero = _f32(np.inf) if exponent < 0 else _f32(0.0)
    return np.where(x == _f32(0.0), zero, result).astype(np.float32)


@cache
def _libm_powf() -> Callable[[float, float], float] | None:
    name = ctypes.util.find_library("m")
    try:
        function = ctypes.CDLL(name).powf if name else None
    except OSError:
        return None
    if function is not None:
        function.restype = ctypes.c_float
        function.argtypes = [ctypes.c_float, ctypes.c_float]
    return function


def c_powf(x: F32, exponent: np.float32) -> F32:
    """The C library's powf element by element (the correctly rounded power without one)."""
    powf = _libm_powf()
    if powf is None:
        return np.power(x.astype(np.float64), float(exponent)).astype(np.float32)
    return np.array([powf(float(v), float(exponent)) for v in x.reshape(-1)],
                    np.float32).reshape(x.shape)  # fmt: skip


def eigen_pow(x: F32, exponent: float) -> F32:
    """`x.pow(exponent)` of a contiguous float32 buffer starting on a 16-byte boundary, as one
    Eigen assignment evaluates it: full packets, then the leftover elements with powf."""
    flat = np.ascontiguousarray(x, np.float32).reshape(-1)
    y = _f32(exponent)
    body = flat.size // PACKET * PACKET
    out = np.empty_like(flat)
    out[:body] = _packet_pow(flat[:body], y)
    out[body:] = c_powf(flat[body:], y)
    return out.reshape(np.shape(x))
