"""accel's round-to-nearest-even into bf16 / fp16 against ml_dtypes, element by element."""

from __future__ import annotations

import numpy as np
import pytest

from accel.functional.float_round import round_to, spacing, ulp_distance

ml_dtypes = pytest.importorskip("ml_dtypes")
# ml_dtypes adds bfloat16 to numpy; IEEE half is numpy's own float16 (ml_dtypes has none).
TYPES = {"bf16": ml_dtypes.bfloat16, "fp16": np.float16}


def _reference(x: np.ndarray, precision: str) -> np.ndarray:
    with np.errstate(all="ignore"):
        return x.astype(TYPES[precision]).astype(np.float32)


def _assert_same_bits(x: np.ndarray, precision: str) -> None:
    ours, theirs = round_to(x, precision), _reference(x, precision)
    same = (ours.view(np.uint32) == theirs.view(np.uint32)) | (np.isnan(ours) & np.isnan(theirs))
    bad = np.flatnonzero(~same)
    assert bad.size == 0, (x[bad[:5]], ours[bad[:5]], theirs[bad[:5]])


def _patterns(cut_bit: int) -> np.ndarray:
    """Every float32 sign/exponent/upper-significand pattern above `cut_bit`, with the bits
    below it set to a tie, just below and above a tie, zero, all ones and a random value."""
    top = np.arange(1 << (32 - cut_bit), dtype=np.uint64) << np.uint64(cut_bit)
    half = 1 << (cut_bit - 1)
    rng = np.random.default_rng(0)
    lows = np.array([0, 1, half - 1, half, half + 1, (1 << cut_bit) - 1,
                     int(rng.integers(0, 1 << cut_bit))], dtype=np.uint64)  # fmt: skip
    return (top[:, None] | lows[None, :]).astype(np.uint32).ravel().view(np.float32)


def test_bf16_rounding_equals_ml_dtypes_on_every_upper_half_pattern() -> None:
    # bf16 keeps the upper 16 bits of a float32: every one of the 65,536 upper halves with seven
    # lower halves (ties, near-ties, 0, all ones, random): normals, subnormals, ±0, ±inf, NaNs.
    _assert_same_bits(_patterns(16), "bf16")


def test_fp16_rounding_equals_ml_dtypes_on_every_cut_pattern() -> None:
    # fp16 keeps 10 significand bits, so normal float32 values round at bit 13: every pattern
    # of the upper 19 bits with seven lower parts.
    _assert_same_bits(_patterns(13), "fp16")


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_rounding_at_every_midpoint_between_neighbours(precision: str) -> None:
    # Every finite value of the format, the midpoints to its upper neighbour (exact in float32)
    # and the float32 values either side of each midpoint: ties to even at every exponent,
    # subnormals of the format included, and the overflow threshold.
    with np.errstate(invalid="ignore"):  # the NaN codes
        codes = np.arange(1 << 16, dtype=np.uint16).view(TYPES[precision]).astype(np.float64)
    values = np.unique(codes[np.isfinite(codes)])
    top = float(values[-1])
    upper = np.append(values[1:], top + float(spacing(np.float32(top), precision)[()]))
    middles = ((values + upper) / 2).astype(np.float32)
    x = np.concatenate([values.astype(np.float32), middles,
                        np.nextafter(middles, np.float32(np.inf)),
                        np.nextafter(middles, np.float32(-np.inf))])  # fmt: skip
    _assert_same_bits(x, precision)


def test_documented_cases() -> None:
    f = np.float32
    # ties to even: 1 + 2^-8 lies midway between 1 and 1 + 2^-7 in bf16
    assert round_to(f(1 + 2**-8), "bf16") == f(1.0)
    assert round_to(f(1 + 3 * 2**-8), "bf16") == f(1 + 2**-6)
    # fp16 overflow: 65520 is the midpoint past the largest finite 65504
    assert round_to(f(65519.996), "fp16") == f(65504.0)
    assert np.isposinf(round_to(f(65520.0), "fp16"))
    assert np.isneginf(round_to(f(-70000.0), "fp16"))
    # fp16 subnormals: spacing 2^-24; 2^-25 is a tie to 0, 3·2^-25 one to 2^-23
    assert round_to(f(2**-25), "fp16") == 0.0
    assert round_to(f(3 * 2**-25), "fp16") == f(2**-23)
    assert np.signbit(round_to(f(-0.0), "bf16")) and np.signbit(round_to(f(-(2**-26)), "fp16"))
    assert np.isnan(round_to(f(np.nan), "bf16")) and np.isposinf(round_to(f(np.inf), "fp16"))
    assert np.array_equal(round_to(np.array([1.1], f), "fp32"), np.array([1.1], f))


def test_spacing_and_ulp_distance() -> None:
    assert spacing(1.0, "bf16") == 2.0**-7
    assert spacing(0.0, "fp16") == 2.0**-24 == spacing(2.0**-20, "fp16")
    assert spacing(1.5, "fp32") == 2.0**-23
    assert ulp_distance(1.0, 1.0 + 3 * 2**-7, "bf16") == 3.0
    assert ulp_distance(np.nan, np.nan, "fp16") == 0.0
    assert ulp_distance(np.nan, 1.0, "fp16") == np.inf


def test_int8_is_not_a_float_format() -> None:
    with pytest.raises(ValueError, match="precision must be fp32, bf16 or fp16, not 'int8'"):
        round_to(np.float32(1.0), "int8")
