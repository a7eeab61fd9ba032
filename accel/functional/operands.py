"""Operand matrices of the MAC array: how a conv or fc layer's ifmap and weights feed the GEMM.

The ifmap is centred (x − x_zp, so padding taps are exactly 0) and laid out as the array reads
it. `GemmOperands` holds an im2col matrix per group, rows ordered (image, output row, output
column), K ordered (input channel, kernel row, kernel column): the order of
`accel.mapping.im2col`, whose contiguous K ranges are the memory model's K-tiles (whole
channels' taps), so the engine's K chunks are the slices the tiling moves. `TapOperands` serves
depthwise convolutions (one input channel per group) straight from a strided window view, one
kernel tap at a time, without building the mostly-idle im2col matrix. Both compute exact partial
sums in float32 over K slices short enough to stay below 2**24."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from accel.functional.geometry import Pads, windows
from accel.functional.schedule import Range

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


def centred_nhwc(x_nchw: npt.NDArray[np.integer], zero_point: int, pads: Pads) -> F32:
    """(N, H+pads, W+pads, C) float32 of x − x_zp, zero in the padding."""
    n, c, h, w = x_nchw.shape
    top, bottom, left, right = pads
    out = np.zeros((n, h + top + bottom, w + left + right, c), dtype=np.float32)
    np.subtract(
        x_nchw.transpose(0, 2, 3, 1),
        np.float32(zero_point),
        out=out[:, top : top + h, left : left + w],
    )
    return out


def window_view(
    xp: F32,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    out_hw: tuple[int, int],
) -> F32:
    """A copy-free (N, OH, OW, KH, KW, C) view of every window of a padded NHWC array."""
    nchw_windows = windows(xp.transpose(0, 3, 1, 2), kernel, stride, dilation, out_hw)
    view: F32 = nchw_windows.transpose(0, 4, 5, 2, 3, 1)
    return view


@dataclass(frozen=True, eq=False)
class GemmOperands:
    """Per-group im2col matrices `cols` (G, M, K) and weights (G, K, N), centred, float32."""

    cols: F32
    weight: F32
    product_bound: float

    @classmethod
    def from_windows(
        cls, windows: F32, groups: int, weight: F32, product_bound: float
    ) -> GemmOperands:
        n, oh, ow, kh, kw, c = windows.shape
        m = n * oh * ow
        # (group, pixel, channel of the group, kernel row, kernel column): channel slowest in K.
        per_group = windows.reshape(m, kh, kw, groups, c // groups).transpose(3, 0, 4, 1, 2)
        cols = per_group.reshape(groups, m, (c // groups) * kh * kw)
        return cls(np.asarray(cols), weight, product_bound)

    @property
    def groups(self) -> int:
        return int(self.cols.shape[0])

    @property
    def m(self) -> int:
        return int(self.cols.shape[1])

    @property
    def k(self) -> int:
        return int(self.cols.shape[2])

    @property
    def n(self) -> int:
        return int(self.weight.shape[2])

    def partial(self, m: Range, k: Range, n: Range) -> F32:
        a = self.cols[:, m[0] : m[1], k[0] : k[1]]
        b = self.weight[:, k[0] : k[1], n[0] : n[1]]
        if self.groups == 1:
            out: F32 = (a[0] @ b[0])[:, None, :]
            return out
        stacked: F32 = np.matmul(a, b).transpose(1, 0, 2)
        return stacked

    def products(self, rows: I64, groups: I64, cols: I64, k: Range) -> F64:
        taps = np.arange(k[0], k[1])
        a = self.cols[groups[:, None], rows[:, None], taps[None, :]]
        b = self.weight[groups[:, None], taps[None, :], cols[:, None]]
        products: F64 = a.astype(np.float64) * b
        return products

    def abs_bound(self, m: Range, k: Range, n: Range) -> F64:
        a = np.abs(self.cols[:, m[0] : m[1], k[0] : k[1]]).astype(np.float64)
        b = np.abs(self.weight[:, k[0] : k[1], n[0] : n[1]]).astype(np.float64)
        bound: F64 = np.matmul(a, b).transpose(1, 0, 2)
        return bound


@dataclass(frozen=True, eq=False)
class TapOperands:
    """Depthwise operands: window view (N, OH, OW, KH, KW, C), weights (KH·KW, C, multiplier)."""

    windows: F32
    weight: F32
    product_bound: float

    @property
    def groups(self) -> int:
        return int(self.windows.shape[5])

    @property
    def m(self) -> int:
        n, oh, ow = self.windows.shape[:3]
        return int(n * oh * ow)

    @property
    def k(self) -> int:
        return int(self.windows.shape[3] * self.windows.shape[4])

    @property
    def n(self) -> int:
        return int(self.weight.shape[2])

    def _tap(self, tap: int, m: Range) -> F32:
        kw = self.windows.shape[4]
        plane = self.windows[:, :, :, tap // kw, tap % kw, :].reshape(self.m, self.groups)
        return plane if m == (0, self.m) else plane[m[0] : m[1]]

    def partial(self, m: Range, k: Range, n: Range) -> F32:
        out = np.zeros((m[1] - m[0], self.groups, n[1] - n[0]), dtype=np.float32)
        for tap in range(k[0], k[1]):
            out += self._tap(tap, m)[:, :, None] * self.weight[tap, :, n[0] : n[1]]
        return out

    def products(self, rows: I64, groups: I64, cols: I64, k: Range) -> F64:
        shape = self.windows.shape
        image, row, col = np.unravel_index(rows, shape[:3])
        taps = np.arange(k[0], k[1])
        a = self.windows[
            image[:, None],
            row[:, None],
            col[:, None],
            taps // shape[4],
            taps % shape[4],
            groups[:, None],
        ]
        b = self.weight[taps[None, :], groups[:, None], cols[:, None]]
        products: F64 = a.astype(np.float64) * b
        return products

    def abs_bound(self, m: Range, k: Range, n: Range) -> F64:
        out = np.zeros((m[1] - m[0], self.groups, n[1] - n[0]), dtype=np.float64)
        for tap in range(k[0], k[1]):
            weight = np.abs(self.weight[tap, :, n[0] : n[1]]).astype(np.float64)
            out += np.abs(self._tap(tap, m)).astype(np.float64)[:, :, None] * weight
        return out
