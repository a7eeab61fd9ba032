"""The float MAC array: operands in the chip's format, fp32 accumulation in the schedule's order.

Hardware model. Each PE multiplies two operands (fp32, or bf16 / fp16 values, whose products
are exact in fp32: 8 + 8 and 11 + 11 significand bits fit in 24) and rounds the product to fp32
(fp32 operands; no fused multiply-add), then adds it to the partial sum it receives, rounding to
fp32 (RNE). A chain of PEs (`Schedule.k_chains`: a row fold in ws / is, a K tile or, with the
partial sums kept in the PEs, all of K in os) sums its products one after the other in K order
starting from 0; each chain's sum is added to the output's fp32 accumulator in the ofmap buffer,
preloaded with the bias, chain after chain in K order — the order the int8 engine follows in
`accel.functional.accumulate`, except that float addition is not associative, so here the order
decides the bits. M and N tiles only interleave different outputs: every output sees the same
additions whatever the loop order.

The GEMMs of a conv are laid out as `accel.functional.schedule` says: M rows (image, output row,
output column), K (input channel, kernel row, kernel column); `columns` builds that im2col
matrix per group and `add_columns` is the inverse (`col2im`), adding the columns into their
input pixels tap by tap, in (kernel row, kernel column) order.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from accel.functional.geometry import Pads, windows
from accel.functional.schedule import Schedule, in_loop_order

F32 = npt.NDArray[np.float32]


def float_gemm(a: F32, b: F32, schedule: Schedule, bias: F32 | None = None) -> F32:
    """(G, M, K) · (G, K, N) → (G, M, N), summed as the array does along `schedule`; `bias`
    (G, N) preloads the accumulators (fp32)."""
    groups, m, k = a.shape
    n = b.shape[2]
    if (schedule.m, schedule.k, schedule.n) != (m, k, n) or b.shape[:2] != (groups, k):
        raise ValueError(
            f"GEMM must be M×K×N = {schedule.m}×{schedule.k}×{schedule.n} as scheduled, "
            f"not {m}×{k}×{n} (operands {a.shape!r} · {b.shape!r})"
        )
    acc = np.zeros((groups, m, n), dtype=np.float32)
    if bias is not None:
        acc += bias.astype(np.float32).reshape(groups, 1, n)
    blocks = in_loop_order(schedule.loop_order, schedule.m_runs, schedule.k_chains,
                           schedule.n_runs)  # fmt: skip
    for (m0, m1), chain, (n0, n1) in blocks:
        psum = np.zeros((groups, m1 - m0, n1 - n0), dtype=np.float32)
        for start, stop in chain:
            for index in range(start, stop):
                psum += a[:, m0:m1, index, None] * b[:, None, index, n0:n1]
        acc[:, m0:m1, n0:n1] += psum
    return acc


def pad_plane(x: F32, pads: Pads) -> F32:
    """NCHW `x` with zeros around its plane: (top, bottom, left, right)."""
    top, bottom, left, right = pads
    padded: F32 = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    return padded


def columns(
    xp: F32, kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int],
    out_hw: tuple[int, int], groups: int,
) -> F32:  # fmt: skip
    """The im2col matrix (G, batch·OH·OW, C/G·KH·KW) of a padded NCHW `xp`."""
    batch, channels = xp.shape[:2]
    win = windows(xp, kernel, stride, dilation, out_hw)  # (B, C, KH, KW, OH, OW)
    win = win.reshape(batch, groups, channels // groups, kernel[0], kernel[1], *out_hw)
    cols = win.transpose(1, 0, 5, 6, 2, 3, 4)
    shape = (groups, batch * out_hw[0] * out_hw[1], channels // groups * kernel[0] * kernel[1])
    result: F32 = np.ascontiguousarray(cols).reshape(shape)
    return result


def add_columns(
    cols: F32, padded_shape: tuple[int, int, int, int], kernel: tuple[int, int],
    stride: tuple[int, int], dilation: tuple[int, int], out_hw: tuple[int, int],
) -> F32:  # fmt: skip
    """`col2im`: each column element (G, batch·OH·OW, C/G·KH·KW) added into its pixel of a
    zero padded NCHW plane of `padded_shape`, tap after tap in (row, column) order, in fp32."""
    batch, channels, _, _ = padded_shape
    groups = cols.shape[0]
    taps = cols.reshape(groups, batch, *out_hw, channels // groups, kernel[0], kernel[1])
    taps = taps.transpose(1, 0, 4, 5, 6, 2, 3).reshape(batch, channels, *kernel, *out_hw)
    plane = np.zeros(padded_shape, dtype=np.float32)
    oh, ow = out_hw
    for row in range(kernel[0]):
        for col in range(kernel[1]):
            top, left = row * dilation[0], col * dilation[1]
            target = plane[:, :, top : top + (oh - 1) * stride[0] + 1 : stride[0],
                           left : left + (ow - 1) * stride[1] + 1 : stride[1]]  # fmt: skip
            target += taps[:, :, row, col]
    return plane


def crop_plane(plane: F32, pads: Pads, height: int, width: int) -> F32:
    """The unpadded (height, width) interior of a padded plane."""
    top, left = pads[0], pads[2]
    result: F32 = np.ascontiguousarray(plane[:, :, top : top + height, left : left + width])
    return result
