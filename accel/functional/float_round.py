"""The array's float operand formats: fp32, bf16 and fp16 values and their rounding.

A float chip (`array.precision` fp32 / bf16 / fp16) stores every operand it streams through
the MAC array — weights read from the fp32 master copy, activations, gradients — in that format,
and accumulates in fp32. Narrowing an fp32 result to the operand format rounds to nearest, ties
to even (RNE), with gradual underflow (subnormals are kept, not flushed), overflow to ±inf (a
value at or past the midpoint between the largest finite value and the next power of two, as
IEEE 754 rounds), ±0 keeping its sign, ±inf staying infinite and NaN staying NaN (its payload
is not modelled). The values are returned as float32 arrays holding the narrowed values, since
every such value is exactly representable in float32 and the array widens them to fp32 anyway.

The rounding is done on the value, not the bits: `|x| = m·2^e` with `m` in [1, 2) has its
spacing `2^(max(e, emin) − (p − 1))` in a format of `p` significand bits, and `rint(x / spacing)
· spacing` in float64 is exact (a scaling by a power of two, then numpy's round-half-even).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
FloatPrecision = Literal["fp32", "bf16", "fp16"]
UNIT_ROUNDOFF_FP32 = 2.0**-24  # u of the fp32 accumulator: |fl(x) − x| ≤ u·|x|


@dataclass(frozen=True)
class FloatFormat:
    """A binary floating-point format: significand bits (with the hidden one) and the exponent
    range of its normal numbers."""

    name: FloatPrecision
    significand_bits: int
    min_exponent: int  # of the smallest normal number
    max_exponent: int  # of the largest finite number

    @property
    def max_finite(self) -> float:
        return float((2.0 - 2.0 ** (1 - self.significand_bits)) * 2.0**self.max_exponent)


FORMATS: dict[FloatPrecision, FloatFormat] = {
    "fp32": FloatFormat("fp32", 24, -126, 127),
    "bf16": FloatFormat("bf16", 8, -126, 127),
    "fp16": FloatFormat("fp16", 11, -14, 15),
}


def float_format(precision: str) -> FloatFormat:
    """The format of a float `array.precision` (ValueError for int8)."""
    if precision not in FORMATS:
        raise ValueError(f"precision must be fp32, bf16 or fp16, not {precision!r}")
    return FORMATS[precision]


def _spacing_exponent(x: F64, fmt: FloatFormat) -> npt.NDArray[np.int64]:
    """Exponent of the format's spacing at |x| (the subnormal spacing at and below 2^emin)."""
    _, exponent = np.frexp(x)  # x = m·2^exponent, 0.5 ≤ |m| < 1, so 2^(exponent−1) ≤ |x|
    leading = np.where(x == 0, fmt.min_exponent, exponent.astype(np.int64) - 1)
    spacing: npt.NDArray[np.int64] = (
        np.maximum(leading, fmt.min_exponent) - (fmt.significand_bits - 1)
    )
    return spacing


def round_to(x: npt.ArrayLike, precision: str) -> F32:
    """`x` (float32 values) rounded to nearest-even in `precision`, as float32 values."""
    fmt = float_format(precision)
    values = np.asarray(x, dtype=np.float32)
    if fmt.name == "fp32":
        return values.copy()
    with np.errstate(invalid="ignore"):  # a signalling NaN widens to a quiet one
        wide = values.astype(np.float64)
    finite = np.isfinite(wide)
    safe = np.where(finite, wide, 0.0)
    exponent = _spacing_exponent(safe, fmt)
    rounded = np.ldexp(np.rint(np.ldexp(safe, -exponent)), exponent)
    rounded = np.where(np.abs(rounded) > fmt.max_finite, np.copysign(np.inf, wide), rounded)
    rounded = np.where(finite, rounded, wide)  # ±inf and NaN pass unchanged
    # keep the sign of zero (rint(−0.3) is −0.0 already; a zero input keeps its own sign)
    result: F32 = np.copysign(rounded, wide).astype(np.float32)
    return result


def spacing(x: npt.ArrayLike, precision: str) -> F64:
    """The distance between adjacent values of `precision` at |x| (one ulp), as float64."""
    fmt = float_format(precision)
    wide = np.abs(np.asarray(x, dtype=np.float64))
    safe = np.where(np.isfinite(wide), wide, fmt.max_finite)
    result: F64 = np.ldexp(1.0, _spacing_exponent(safe, fmt)).astype(np.float64)
    return result


def ulp_distance(a: npt.ArrayLike, b: npt.ArrayLike, precision: str) -> F64:
    """|a − b| in ulps of `precision` at the larger magnitude (0 where both are equal, inf
    where only one is NaN or they are different infinities)."""
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    same = (x == y) | (np.isnan(x) & np.isnan(y))
    with np.errstate(invalid="ignore"):
        distance = np.abs(x - y) / spacing(np.maximum(np.abs(x), np.abs(y)), precision)
    result: F64 = np.where(same, 0.0, np.where(np.isnan(distance), np.inf, distance))
    return result
