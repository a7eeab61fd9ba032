"""The MAC array's arithmetic: exact integer accumulators of convolutions and matrix products.

These are the plain, layer-at-a-time references: `conv2d_accumulate` and `matmul_accumulate`
return the exact ``sum((x - x_zp) * (w - w_zp)) + bias`` that an int32 accumulator holds (if
it does not overflow); requantize them with `accel.functional.requant`. The engine computes the
same sums fold by fold in `accel.functional.accumulate`.

Exactness trick: int8 x int8 products are summed in float64 BLAS. Every partial sum is an integer
below 2**53 while K < 2**38, so the result is exact and as fast as a float GEMM.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from accel.functional.geometry import check_nchw, pads4, pair, windows
from accel.model.window import window_output_size

IntArray = npt.NDArray[np.integer]
I64 = npt.NDArray[np.int64]
Float = TypeVar("Float", np.float32, np.float64)


def conv2d_accumulate(
    x: IntArray,
    x_zero_point: int,
    w: IntArray,
    bias: IntArray | None = None,
    *,
    strides: Sequence[int] = (1, 1),
    pads: Sequence[int] = (0, 0, 0, 0),
    dilations: Sequence[int] = (1, 1),
    groups: int = 1,
    w_zero_point: int = 0,
) -> I64:
    """Exact accumulators ``sum((x - x_zp) * (w - w_zp)) + bias`` of a grouped 2-D convolution.

    x: (N, C, H, W); w: (M, C/groups, KH, KW); bias: (M,) int32 at scale x_s*w_s[o].
    Padding taps equal x_zp, so they contribute zero. Returns int64 (N, M, OH, OW).
    """
    x, w = check_nchw(x, "conv input"), check_nchw(w, "conv weight")
    st, dl, pd = pair(strides, "strides", 1), pair(dilations, "dilations", 1), pads4(pads)
    (_, c, h, wd), (m, cg, kh, kw) = x.shape, w.shape
    if groups < 1 or c != cg * groups or m % groups:
        raise ValueError(
            f"groups must divide channels {(c, m)!r} with C/groups = {cg}, not {groups!r}"
        )
    oh = window_output_size(h, kh, st[0], pd[0], pd[1], dl[0], False)
    ow = window_output_size(wd, kw, st[1], pd[2], pd[3], dl[1], False)
    xp = np.pad(x.astype(np.float64) - x_zero_point, ((0, 0), (0, 0), pd[:2], pd[2:]))
    wf = w.astype(np.float64) - w_zero_point
    # Exact: every integer partial sum is below 2**53.
    acc: I64 = grouped_conv(xp, wf, st, dl, groups, (oh, ow)).astype(np.int64)
    if bias is not None:
        acc += np.asarray(bias, dtype=np.int64).reshape(1, m, 1, 1)
    return acc


def grouped_conv(
    xp: npt.NDArray[Float],
    weight: npt.NDArray[Float],
    strides: tuple[int, int],
    dilations: tuple[int, int],
    groups: int,
    out_hw: tuple[int, int],
) -> npt.NDArray[Float]:
    """(N, M, OH, OW): every window of the padded NCHW `xp` times `weight` (M, C/groups, KH, KW),
    as one batched GEMM per group (im2col rows (image, row, column), K (channel, tap)), computed
    in the operands' float type."""
    n = xp.shape[0]
    m, cg, kh, kw = weight.shape
    oh, ow = out_hw
    win = windows(xp, (kh, kw), strides, dilations, out_hw)  # (N, C, KH, KW, OH, OW)
    win = win.reshape(n, groups, cg, kh, kw, oh, ow)
    cols = win.transpose(1, 0, 5, 6, 2, 3, 4).reshape(groups, n * oh * ow, cg * kh * kw)
    per_group = weight.reshape(groups, m // groups, cg * kh * kw)
    out = np.matmul(cols, per_group.transpose(0, 2, 1))
    out = out.reshape(groups, n, oh, ow, m // groups).transpose(1, 0, 4, 2, 3)
    nchw: npt.NDArray[Float] = out.reshape(n, m, oh, ow)
    return nchw


def matmul_accumulate(
    a: IntArray,
    a_zero_point: int,
    b: IntArray,
    b_zero_point: npt.ArrayLike = 0,
    bias: IntArray | None = None,
) -> I64:
    """Exact ``(a - a_zp) @ (b - b_zp) + bias`` for a: (..., M, K), b: (K, N) (QLinearMatMul/Gemm).

    b_zero_point may be per column (N,). For a fully-connected layer with weights (out, in), pass
    ``b = w.T``.
    """
    a_arr, b_arr = np.asarray(a), np.asarray(b)
    if b_arr.ndim != 2 or a_arr.shape[-1] != b_arr.shape[0]:
        raise ValueError(
            f"matmul shapes must be (..., K) x (K, N), not {a_arr.shape!r} x {b_arr.shape!r}"
        )
    af = a_arr.astype(np.float64) - a_zero_point
    bf = b_arr.astype(np.float64) - np.asarray(b_zero_point, dtype=np.float64)
    acc: I64 = np.matmul(af, bf).astype(np.int64)
    if bias is not None:
        acc += np.asarray(bias, dtype=np.int64)
    return acc
