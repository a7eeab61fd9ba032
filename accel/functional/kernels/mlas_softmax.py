"""float32 Softmax exactly as onnxruntime computes it on x86 (MLAS, one thread), per CPU path.

A classifier head the quantizer leaves in float32 (a Softmax excluded from quantization, or
one onnxruntime does not fuse into QLinearSoftmax) runs MlasComputeSoftmax on each row of D
values (D = the channels): the row maximum m (order-independent), every `e = exp(x + (-m))`,
their sum, and `y = e · (1 / sum)` with the reciprocal rounded once. The exp and the sum depend
on the kernel MLAS dispatched to (`accel.functional.kernels.cpu.float_path`):
- `avx512f` (MlasComputeSumExpF32KernelAvx512F): the argument clamped at -103.972,
  `k = round(v / ln 2)` by the 1.5·2**23 bias trick, `v - k·ln2` in two fused multiply-adds
  (high and low parts of ln 2), a degree-6 polynomial in fused multiply-adds, scaled by 2**k
  (vscalefps: one rounding); summed in sixteen lanes (`lane[i] += e[16·j + i]` in j order),
  reduced as lanes 8..15 added to 0..7, then pairs, then pairs of pairs, then the two halves;
- `avx2-fma3` (MlasComputeSumExpF32KernelFma3): the argument clamped at -88.376 instead, the
  same reduction and polynomial, scaled by multiplying with 2**k built in the exponent field
  (`(biased << 23) + 0x3F800000`, integer arithmetic); summed in eight lanes, reduced by two
  horizontal adds, (l0 + l1) + (l2 + l3), then the low and high halves added.
Other paths are refused (`accel.functional.kernels.cpu.require_modelled`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from accel.functional.elementwise import fma_f32
from accel.functional.kernels.cpu import require_modelled

F32 = npt.NDArray[np.float32]
LANES = 16
_LOWER_RANGE = -103.9720840454
_LOWER_RANGE_SUM_EXP = -88.3762626647949
_MAXIMUM_EXPONENT = 0x3F800000
_ROUNDING_BIAS = 12582912.0  # 1.5 · 2**23: adding it rounds to an integer
_POLY = tuple(float.fromhex(h) for h in ("0x1.694000p-10", "0x1.125edcp-7", "0x1.555b5ap-5",
                                         "0x1.555450p-3", "0x1.fffff6p-2", "0x1.000000p+0",
                                         "0x1.000000p+0"))  # fmt: skip


def _reduced(v: F32) -> tuple[F32, F32, F32]:
    """(biased, k, polynomial) of MLAS's exp for clamped arguments `v`."""
    f32 = np.float32
    biased = fma_f32(v, f32(1.44269504088896341), f32(_ROUNDING_BIAS))
    k = np.subtract(biased, f32(_ROUNDING_BIAS), dtype=f32)
    r = fma_f32(k, f32(-6.93145752e-1), v)
    r = fma_f32(k, f32(-1.42860677e-6), r)
    p = np.full_like(r, f32(_POLY[0]))
    for coefficient in _POLY[1:]:
        p = fma_f32(p, r, f32(coefficient))
    return biased, k, p


def mlas_exp(v: F32) -> F32:
    """MLAS's vectorized exp (AVX-512F kernel) of float32 values at most 0."""
    _, k, p = _reduced(np.maximum(np.float32(_LOWER_RANGE), np.asarray(v, np.float32)))
    # p·2**k is exact in float64; the cast is vscalefps's single rounding.
    return np.ldexp(p.astype(np.float64), k.astype(np.int32)).astype(np.float32)


def mlas_exp_fma3(v: F32) -> F32:
    """MLAS's vectorized exp (FMA3 sum-exp kernel) of float32 values at most 0."""
    clamped = np.maximum(np.float32(_LOWER_RANGE_SUM_EXP), np.asarray(v, np.float32))
    biased, _, p = _reduced(clamped)
    bits = (biased.view(np.uint32) << np.uint32(23)) + np.uint32(_MAXIMUM_EXPONENT)
    return np.multiply(p, bits.astype(np.uint32).view(np.float32), dtype=np.float32)


def _lane_sum(e: F32, lanes: int) -> F32:
    """Each row of `e` (rows, D) summed in `lanes` lanes, `lane[i] += e[lanes·j + i]`."""
    rows, count = e.shape
    padded = np.zeros((rows, -(-count // lanes) * lanes), np.float32)
    padded[:, :count] = e
    total = np.zeros((rows, lanes), np.float32)
    for start in range(0, padded.shape[1], lanes):
        total = np.add(total, padded[:, start : start + lanes], dtype=np.float32)
    return total


def _pairs(values: F32) -> F32:
    return np.add(values[:, 0::2], values[:, 1::2], dtype=np.float32)


def _sum_avx512(e: F32) -> F32:
    """The AVX-512F kernel's sum of each row: 16 lanes, 8..15 onto 0..7, pairs, pairs, halves."""
    lanes = _lane_sum(e, 16)
    quads = _pairs(_pairs(np.add(lanes[:, 8:], lanes[:, :8], dtype=np.float32)))
    return np.add(quads[:, 0], quads[:, 1], dtype=np.float32)


def _sum_fma3(e: F32) -> F32:
    """The FMA3 kernel's sum of each row: 8 lanes, two vhaddps, then the two 128-bit halves."""
    halves = _pairs(_pairs(_lane_sum(e, 8)))  # [(l0+l1)+(l2+l3), (l4+l5)+(l6+l7)]
    return np.add(halves[:, 1], halves[:, 0], dtype=np.float32)


_KERNELS = {"avx512f": (mlas_exp, _sum_avx512), "avx2-fma3": (mlas_exp_fma3, _sum_fma3)}


def softmax(x: F32, axis: int = 1, path: str | None = None) -> F32:
    """Softmax of a float32 tensor over `axis`, as MLAS computes it on `path` (default: this
    CPU's)."""
    exp, lane_sum = _KERNELS[require_modelled("float32 Softmax", path)]
    moved = np.moveaxis(np.asarray(x, np.float32), axis, -1)
    rows = moved.reshape(-1, moved.shape[-1])
    negative_maximum = -rows.max(axis=1, keepdims=True)
    e = exp(np.add(rows, negative_maximum, dtype=np.float32))
    reciprocal = np.divide(np.float32(1.0), lane_sum(e), dtype=np.float32)
    y = np.multiply(e, reciprocal[:, None], dtype=np.float32)
    return np.moveaxis(y.reshape(moved.shape), -1, axis)
