"""float32 ConvTranspose exactly as onnxruntime's CPU kernel computes it (one intra-op thread).

An unfused QDQ ConvTranspose runs as DequantizeLinear → float ConvTranspose → QuantizeLinear,
and its codes depend on the last bit of the float result. onnxruntime's kernel
(`ConvTranspose<float>::DoConvTranspose`) works per image and group: a GEMM
`col = Wᵀ · X` (MlasGemm with A transposed, since the weights reach the kernel from a
DequantizeLinear and are not pre-packed; M = C_out/g·kh·kw, N = H·W, K = C_in/g) followed by
col2im, which zeroes the output and adds each column into it tap by tap (kernel row, then
column), so every output sums its taps in that order starting from 0; the bias is added once at
the end. `accel.functional.kernels.mlas_float.sgemm` gives MLAS's summation order of the GEMM.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from accel.functional.kernels.mlas_float import sgemm
from accel.model.conv_transpose import ConvTranspose

F32 = npt.NDArray[np.float32]


def conv_transpose(x: F32, weight: F32, bias: F32, op: ConvTranspose,
                   out_hw: tuple[int, int]) -> F32:  # fmt: skip
    """ORT's float ConvTranspose of `x` (N, C_in, H, W) by `weight` (C_out, C_in/g, kh, kw, the
    conv layout accel stores), plus `bias`; returns (N, C_out, H_out, W_out) float32."""
    batch, _, height, width = x.shape
    out_channels, per_group, kh, kw = weight.shape
    groups = op.groups
    filters = out_channels // groups
    (sh, sw), (dh, dw) = op.stride, op.dilation
    top, _, left, _ = op.padding
    out = np.zeros((batch, out_channels, *out_hw), np.float32)
    for image in range(batch):
        for group in range(groups):
            # A as ORT stores it: the ONNX weights of the group, (C_in/g, C_out/g·kh·kw).
            stored = weight[group * filters : (group + 1) * filters].transpose(1, 0, 2, 3)
            a = np.ascontiguousarray(stored.reshape(per_group, -1).T, np.float32)
            b = x[image, group * per_group : (group + 1) * per_group].reshape(per_group, -1)
            col = sgemm(a, np.ascontiguousarray(b, np.float32), column_contiguous=b.shape[1] == 1,
                        trans_a=True).reshape(filters, kh, kw, height, width)  # fmt: skip
            plane = out[image, group * filters : (group + 1) * filters]
            for r in range(kh):
                for s in range(kw):
                    _add_tap(plane, col[:, r, s], r * dh - top, s * dw - left, (sh, sw))
    return np.add(out, bias.reshape(1, -1, 1, 1).astype(np.float32), dtype=np.float32)


def _add_tap(plane: F32, values: F32, row0: int, col0: int, stride: tuple[int, int]) -> None:
    """plane[c, row0 + i·stride_h, col0 + j·stride_w] += values[c, i, j], inside the plane."""
    rows = _inside(row0, stride[0], values.shape[1], plane.shape[1])
    cols = _inside(col0, stride[1], values.shape[2], plane.shape[2])
    if rows is None or cols is None:
        return
    (first_i, last_i, first_r), (first_j, last_j, first_c) = rows, cols
    target = plane[:, first_r : first_r + (last_i - first_i - 1) * stride[0] + 1 : stride[0],
                   first_c : first_c + (last_j - first_j - 1) * stride[1] + 1 : stride[1]]
    np.add(target, values[:, first_i:last_i, first_j:last_j], out=target, dtype=np.float32)


def _inside(start: int, stride: int, count: int, size: int) -> tuple[int, int, int] | None:
    """(first index, end index, first position) of positions start + i·stride in [0, size)."""
    first = max(0, -(start // stride))  # ceil(−start / stride)
    last = min(count, (size - 1 - start) // stride + 1) if size - 1 >= start else 0
    if last <= first:
        return None
    return first, last, start + first * stride
