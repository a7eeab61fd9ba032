"""Hypothesis strategies and helpers shared by the bit-exactness tests of accel.functional.

Scales are drawn both at random and as powers of two: with power-of-two scales the products land
exactly on .5 more often, so the round-half-to-even and fused-multiply-add details are exercised.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from accel.functional import requant as rq

F32 = np.float32
DTYPES = [np.int8, np.uint8]


def zero_points(dtype: type) -> st.SearchStrategy[int]:
    lo, hi = rq.dtype_bounds(dtype)
    return st.sampled_from([lo, lo + 1, hi - 1, hi, 0, 1, -1 if lo < 0 else 255]) | st.integers(
        lo, hi
    )


def scales(lo_exp: int, hi_exp: int) -> st.SearchStrategy[float]:
    """Random float32 scales, or exact powers of two (tie-prone)."""
    pow2 = st.integers(lo_exp, hi_exp).map(lambda e: float(2.0**e))
    rand = st.floats(2.0**lo_exp, 2.0**hi_exp).map(lambda v: float(np.float32(v)))
    return pow2 | rand


def rng_for(data: st.DataObject) -> np.random.Generator:
    return np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))


def codes(rng: np.random.Generator, dtype: type, shape: tuple[int, ...]) -> np.ndarray:
    lo, hi = rq.dtype_bounds(dtype)
    return rng.integers(lo, hi + 1, shape).astype(dtype)


def onnx_pads(pads: tuple[int, int, int, int]) -> list[int]:
    """accel's [top, bottom, left, right] -> ONNX's [top, left, bottom, right]."""
    return [pads[0], pads[2], pads[1], pads[3]]
