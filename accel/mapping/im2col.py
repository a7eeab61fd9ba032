"""The im2col view: the operand matrices a conv or fc layer feeds the MAC array.

A convolution becomes one GEMM per group. Row `b·E·F + e·F + f` of the ifmap matrix is output
pixel (e, f) of image b, and its columns are the window that pixel reads: input channel `c` of
the group (slowest), kernel row `r`, kernel column `s` (fastest), taken at
`(e·stride + r·dilation − pad_top, f·stride + s·dilation − pad_left)`. Taps outside the ifmap
(padding, or SCALE-Sim's extra ceil windows) read zero, so the ifmap must already have its zero
point subtracted. The weight matrix is `K × N`: the same (c, r, s) order down, the group's output
channels across. So `M = batch·E·F`, `K = C/groups·R·S` and `N = out_channels/groups`, as in
`Layer.gemm` and `ArrayMapping`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from accel.model.network import Layer
from accel.model.ops import Conv, FullyConnected

IntArray = npt.NDArray[np.integer]


def gemm_operands(layer: Layer, ifmap: IntArray, weight: IntArray) -> tuple[IntArray, IntArray]:
    """(groups, M, K) ifmap and (groups, K, N) weight matrices of a conv or fc layer.

    `ifmap` is (batch, C, H, W) with its zero point subtracted; `weight` is (O, C/groups, R, S)
    for conv and (O, C·H·W) for fc.
    """
    x, w = np.asarray(ifmap), np.asarray(weight)
    if isinstance(layer.op, FullyConnected):
        return x.reshape(1, x.shape[0], -1), w.reshape(w.shape[0], -1).T[None]
    if not isinstance(layer.op, Conv):
        raise ValueError(f"only conv and fc layers have a GEMM view, not {layer.kind!r}")
    op, out = layer.op, layer.output_shape
    windows = _windows(x, op, out.height, out.width)  # (batch, C, R, S, E, F)
    batch, channels = x.shape[:2]
    per_group = channels // op.groups
    a = windows.reshape(batch, op.groups, per_group, *op.kernel, out.height, out.width)
    a = a.transpose(1, 0, 5, 6, 2, 3, 4).reshape(op.groups, batch * out.height * out.width, -1)
    b = w.reshape(op.groups, w.shape[0] // op.groups, -1).transpose(0, 2, 1)
    return a, b


def ofmap_from_gemm(layer: Layer, output: IntArray, batch: int) -> IntArray:
    """(batch, O, E, F) ofmap from the (groups, M, N) GEMM result."""
    out = layer.output_shape
    groups = output.shape[0]
    result = output.reshape(groups, batch, out.height, out.width, -1)
    return result.transpose(1, 0, 4, 2, 3).reshape(batch, out.channels, out.height, out.width)


def _windows(x: IntArray, op: Conv, out_height: int, out_width: int) -> IntArray:
    """Every tap of every window: (batch, C, R, S, E, F), zeros outside the ifmap."""
    batch, channels, height, width = x.shape
    top, bottom, left, right = op.pads(height, width)
    (kernel_h, kernel_w), (stride_h, stride_w) = op.kernel, op.stride
    dilation_h, dilation_w = op.dilation
    need_h = (out_height - 1) * stride_h + dilation_h * (kernel_h - 1) + 1
    need_w = (out_width - 1) * stride_w + dilation_w * (kernel_w - 1) + 1
    padded = np.zeros(
        (batch, channels, max(need_h, height + top + bottom), max(need_w, width + left + right)),
        dtype=x.dtype,
    )
    padded[:, :, top : top + height, left : left + width] = x
    taps = np.empty((batch, channels, kernel_h, kernel_w, out_height, out_width), dtype=x.dtype)
    for r in range(kernel_h):
        for s in range(kernel_w):
            rows = slice(r * dilation_h, r * dilation_h + (out_height - 1) * stride_h + 1, stride_h)
            cols = slice(s * dilation_w, s * dilation_w + (out_width - 1) * stride_w + 1, stride_w)
            taps[:, :, r, s] = padded[:, :, rows, cols]
    return taps
