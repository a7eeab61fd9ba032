"""float32 Softmax exactly as onnxruntime computes it on x86 with AVX-512 (MLAS, one thread).

A classifier head the quantizer leaves in float32 (a Softmax excluded from quantization, or
one onnxruntime does not fuse into QLinearSoftmax) runs MlasComputeSoftmax on each row of D
values (D = the channels):
- the row maximum m (order-independent), then every `e = exp(x + (-m))` with MLAS's exp: the
  argument clamped at -103.972, `k = round(v / ln 2)` by the 1.5·2**23 bias trick, `v - k·ln2`
  in two fused multiply-adds (high and low parts of ln 2), a degree-6 polynomial in fused
  multiply-adds, scaled by 2**k (vscalefps: one rounding);
- the sum of the `e` in sixteen lanes (`lane[i] += e[16·j + i]` in j order, three blocks of 16
  per step, then one masked block at a time), reduced as lanes 8..15 added to 0..7, then
  pairs, then pairs of pairs, then the two halves;
- `y = e · (1 / sum)`, the reciprocal rounded once.
Other x86 machines run the AVX2 kernel, whose lane count differs (last-bit differences).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from accel.functional.elementwise import fma_f32

F32 = npt.NDArray[np.float32]
LANES = 16
_LOWER_RANGE = -103.9720840454
_ROUNDING_BIAS = 12582912.0  # 1.5 · 2**23: adding it rounds to an integer
_POLY = tuple(float.fromhex(h) for h in ("0x1.694000p-10", "0x1.125edcp-7", "0x1.555b5ap-5",
                                         "0x1.555450p-3", "0x1.fffff6p-2", "0x1.000000p+0",
                                         "0x1.000000p+0"))  # fmt: skip


def mlas_exp(v: F32) -> F32:
    """MLAS's vectorized exp (AVX-512 kernel) of float32 values at most 0."""
    f32 = np.float32
    v = np.maximum(f32(_LOWER_RANGE), np.asarray(v, f32))
    biased = fma_f32(v, f32(1.44269504088896341), f32(_ROUNDING_BIAS))
    k = np.subtract(biased, f32(_ROUNDING_BIAS), dtype=f32)
    r = fma_f32(k, f32(-6.93145752e-1), v)
    r = fma_f32(k, f32(-1.42860677e-6), r)
    p = np.full_like(r, f32(_POLY[0]))
    for coefficient in _POLY[1:]:
        p = fma_f32(p, r, f32(coefficient))
    # p·2**k is exact in float64; the cast is vscalefps's single rounding.
    return np.ldexp(p.astype(np.float64), k.astype(np.int32)).astype(f32)


def _lane_sum(e: F32) -> F32:
    """The AVX-512 kernel's sum of each row of `e` (rows, D)."""
    rows, count = e.shape
    padded = np.zeros((rows, -(-count // LANES) * LANES), np.float32)
    padded[:, :count] = e
    lanes = np.zeros((rows, LANES), np.float32)
    for start in range(0, padded.shape[1], LANES):
        lanes = np.add(lanes, padded[:, start : start + LANES], dtype=np.float32)
    half = np.add(lanes[:, 8:], lanes[:, :8], dtype=np.float32)
    pairs = np.add(half[:, 0::2], half[:, 1::2], dtype=np.float32)
    quads = np.add(pairs[:, 0::2], pairs[:, 1::2], dtype=np.float32)
    return np.add(quads[:, 0], quads[:, 1], dtype=np.float32)


def softmax(x: F32, axis: int = 1) -> F32:
    """Softmax of a float32 tensor over `axis`."""
    moved = np.moveaxis(np.asarray(x, np.float32), axis, -1)
    rows = moved.reshape(-1, moved.shape[-1])
    negative_maximum = -rows.max(axis=1, keepdims=True)
    e = mlas_exp(np.add(rows, negative_maximum, dtype=np.float32))
    reciprocal = np.divide(np.float32(1.0), _lane_sum(e), dtype=np.float32)
    y = np.multiply(e, reciprocal[:, None], dtype=np.float32)
    return np.moveaxis(y.reshape(moved.shape), -1, axis)
