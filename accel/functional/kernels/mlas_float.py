"""float32 convolution and matrix multiply exactly as onnxruntime's MLAS computes them on x86.

A QDQ layer that onnxruntime does not fuse runs as DequantizeLinear → float Conv/Gemm/MatMul →
QuantizeLinear, and its codes depend on the last bit of MLAS's float result, so accel
reproduces MLAS's summation order (one intra-op thread; `accel.check.ort_graph` runs the
reference that way):
- `sgemm` is MlasSgemmOperation (no transposes, alpha 1): N and K are cut into slices whose size
  depends on N and K (strides 128 × 128, doubled/halved to fit a small side); each K slice is a
  fused-multiply-add chain in K order per output, added to C after the first slice. Two special
  cases use the AVX "M=1" kernels, without FMA: M = 1 sums four products at a time and adds C;
  N = 1 with a contiguous column (a conv with one output pixel) computes dot products in eight
  lanes reduced in a fixed pattern that depends on the row's position in blocks of 4, 2, 1.
- `conv2d` is MlasConvPrepare + MlasConv with one thread: a pointwise conv without padding or
  stride multiplies the input directly (so does a one-channel kernel spanning the input's
  width, reading it transposed, or its height); a conv with more filters than output pixels expands
  the whole input (im2col, K ordered channel, kernel row, kernel column) and multiplies once;
  otherwise it walks N and K slices of the expanded input, accumulating in the output. The bias
  is added once at the end.
- `gemm` is ORT's Gemm with C preloaded with the bias: for one row the M=1 kernel (transposed
  B or not, as the file stores B), else `sgemm` adding to C from the first K slice.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from accel.functional.elementwise import fma_f32

F32 = npt.NDArray[np.float32]
STRIDE_N = STRIDE_K = 128  # MLAS_SGEMM_STRIDEN / MLAS_SGEMM_STRIDEK


def strides(n: int, k: int) -> tuple[int, int]:
    """MLAS's (StrideN, StrideK) for an N × K panel: widen N when K is short, deepen K when N is
    narrow, keeping StrideN · StrideK constant."""
    stride_n, stride_k = STRIDE_N, STRIDE_K
    if n >= k:
        while stride_k // 2 >= k:
            stride_n, stride_k = stride_n * 2, stride_k // 2
    else:
        while stride_n > 16 and stride_n // 2 >= n:
            stride_n, stride_k = stride_n // 2, stride_k * 2
    return stride_n, stride_k


def _add(a: F32, b: F32) -> F32:
    return np.add(a, b, dtype=np.float32)


def _m1(a: F32, b: F32, c: F32 | None) -> F32:
    """MlasSgemmKernelM1Avx: one row `a` (K,) times `b` (K, N), four rows of B per step (then
    two, then one), each step's products summed in order and then added to C."""
    k_total = a.shape[0]
    out = np.zeros(b.shape[1], np.float32) if c is None else c.astype(np.float32)
    steps = [4] * (k_total // 4) + [size for size in (2, 1) if k_total % 4 & size]
    k = 0
    for size in steps:
        partial = np.multiply(a[k], b[k], dtype=np.float32)
        for j in range(1, size):
            partial = _add(partial, np.multiply(a[k + j], b[k + j], dtype=np.float32))
        out = _add(partial, out)
        k += size
    return out


def _m1_transposed(a: F32, rows: F32, c: F32 | None) -> F32:
    """MlasSgemmKernelM1TransposeBAvx: dot products of `a` (K,) with each row (R, K)."""
    count, k_total = rows.shape
    padded = -(-k_total // 8) * 8
    lanes = np.zeros((count, 8), np.float32)
    products = np.zeros((count, padded), np.float32)
    products[:, :k_total] = np.multiply(rows, a, dtype=np.float32)
    for start in range(0, padded, 8):
        lanes = _add(lanes, products[:, start : start + 8])
    l0, l1, l2, l3, l4, l5, l6, l7 = (lanes[:, i] for i in range(8))
    four = _add(_add(_add(_add(l0, l1), l2), l3), _add(_add(_add(l4, l5), l6), l7))
    two = _add(_add(_add(l2, l0), _add(l6, l4)), _add(_add(l3, l1), _add(l7, l5)))
    one = _add(_add(_add(l0, l1), _add(l2, l3)), _add(_add(l4, l5), _add(l6, l7)))
    blocks_of_four = count // 4 * 4
    pairs_end = blocks_of_four + (count - blocks_of_four) // 2 * 2
    position = np.arange(count)
    total = np.where(position < blocks_of_four, four, np.where(position < pairs_end, two, one))
    return total if c is None else _add(total, c.astype(np.float32))


def sgemm(a: F32, b: F32, c: F32 | None = None, column_contiguous: bool = False,
          trans_b: bool = False, trans_a: bool = False) -> F32:
    """C = A·B (+ C): `a` (M, K), `b` (K, N); `c` None means beta = 0. `column_contiguous`: B
    and C are single contiguous columns (ldb = ldc = 1), which enables the N = 1 kernel.
    `trans_b`: MLAS reads B transposed, which picks the transposed M = 1 kernel. `trans_a`: MLAS
    reads A transposed (it is stored K × M): no M = 1 kernel, the plain M = 1 kernel for N = 1
    (A's rows are B there), and a K slice never deepened for a narrow N."""
    m, k_total = a.shape
    n = b.shape[1]
    if trans_a and n == 1 and column_contiguous:
        return _m1(b[:, 0], np.ascontiguousarray(a.T), None if c is None else c[:, 0])[:, None]
    if m == 1 and trans_b and not trans_a:
        return _m1_transposed(a[0], np.ascontiguousarray(b.T), None if c is None else c[0])[None]
    if m == 1 and not trans_a:
        return _m1(a[0], b, None if c is None else c[0])[None, :]
    if n == 1 and column_contiguous and not trans_a:
        return _m1_transposed(b[:, 0], a, None if c is None else c[:, 0])[:, None]
    stride_n, stride_k = strides(n, k_total) if n >= k_total or not trans_a else (STRIDE_N,
                                                                                  STRIDE_K)
    out = np.zeros((m, n), np.float32) if c is None else c.astype(np.float32)
    for n0 in range(0, n, stride_n):
        n1 = min(n, n0 + stride_n)
        for k0 in range(0, k_total, stride_k):
            acc = np.zeros((m, n1 - n0), np.float32)
            for k in range(k0, min(k_total, k0 + stride_k)):
                acc = fma_f32(a[:, k : k + 1], b[k : k + 1, n0:n1], acc)
            zero_mode = c is None and k0 == 0
            out[:, n0:n1] = acc if zero_mode else _add(acc, out[:, n0:n1])
    return out


def gemm(x: F32, weight: F32, bias: F32, trans_b: bool) -> F32:
    """ORT's float Gemm (alpha = beta = 1) of `x` (M, K) by `weight` (N, K) as the layer
    stores it, with C preloaded with the bias; `trans_b` says how the file stores B."""
    m, k_total = x.shape
    n = weight.shape[0]
    c = np.broadcast_to(bias, (m, n)).astype(np.float32)
    contiguous = n == 1 and (not trans_b or k_total == 1)  # ldb = ldc = 1
    return sgemm(x, np.ascontiguousarray(weight.T), c, contiguous, trans_b)


def im2col(x: F32, kernel: tuple[int, int], stride: tuple[int, int], pads: tuple[int, ...],
           dilation: tuple[int, int], out_hw: tuple[int, int]) -> F32:
    """(C·KH·KW, OH·OW) of one image (C, H, W), K ordered (channel, kernel row, column)."""
    channels, height, width = x.shape
    top, bottom, left, right = pads
    padded = np.zeros((channels, height + top + bottom, width + left + right), np.float32)
    padded[:, top : top + height, left : left + width] = x
    out_h, out_w = out_hw
    cols = np.empty((channels, kernel[0], kernel[1], out_h, out_w), np.float32)
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            rows = slice(i * dilation[0], i * dilation[0] + stride[0] * (out_h - 1) + 1, stride[0])
            columns = slice(j * dilation[1], j * dilation[1] + stride[1] * (out_w - 1) + 1,
                            stride[1])  # fmt: skip
            cols[:, i, j] = padded[:, rows, columns]
    return cols.reshape(channels * kernel[0] * kernel[1], out_h * out_w)


def _segmented(filters: F32, cols: F32) -> F32:
    """MlasConvOperation over all output pixels: N slices, each accumulated over K slices."""
    k_total, n = cols.shape
    stride_n, stride_k = strides(n, k_total)
    out = np.zeros((filters.shape[0], n), np.float32)
    for n0 in range(0, n, stride_n):
        n1 = min(n, n0 + stride_n)
        part: F32 | None = None
        for k0 in range(0, k_total, stride_k):
            k1 = min(k_total, k0 + stride_k)
            part = sgemm(filters[:, k0:k1], cols[k0:k1, n0:n1], part, column_contiguous=n == 1)
        assert part is not None
        out[:, n0:n1] = part
    return out


def conv2d(x: F32, weight: F32, bias: F32, stride: tuple[int, int], pads: tuple[int, ...],
           dilation: tuple[int, int], groups: int, out_hw: tuple[int, int]) -> F32:
    """ORT's float Conv (MLAS, one thread): `x` (N, C, H, W), `weight` (O, C/g, KH, KW),
    `pads` (top, bottom, left, right); returns (N, O, OH, OW) float32."""
    batch, channels = x.shape[:2]
    out_channels, group_channels, kh, kw = weight.shape
    filters_per_group = out_channels // groups
    output_size = out_hw[0] * out_hw[1]
    out = np.empty((batch, out_channels, output_size), np.float32)
    for image in range(batch):
        for group in range(groups):
            channels_in = slice(group * group_channels, (group + 1) * group_channels)
            filters_out = slice(group * filters_per_group, (group + 1) * filters_per_group)
            filters = weight[filters_out].reshape(filters_per_group, -1)
            cols = im2col(x[image, channels_in], (kh, kw), stride, pads, dilation, out_hw)
            geometry = (group_channels, (kh, kw), x.shape[2:], stride, pads, dilation)
            result = _group_product(filters, cols, geometry)
            out[image, filters_out] = _add(result, bias[filters_out, None])
    del channels
    return out.reshape(batch, out_channels, *out_hw)


def _group_product(filters: F32, cols: F32, geometry: tuple[Any, ...]) -> F32:
    """One group's filters × expanded input, the way MlasConvPrepare chose to multiply."""
    channels, kernel, (height, width), stride, pads, dilation = geometry
    output_size = cols.shape[1]
    direct = stride == (1, 1) and not any(pads)
    if direct and kernel == (1, 1):  # pointwise: the input is B (ldb = ldc = output pixels)
        return sgemm(filters, cols, column_contiguous=output_size == 1)
    if direct and dilation == (1, 1) and channels == 1 and kernel[1] == width:
        # The kernel spans the width: B is the input read transposed with ldb = width.
        return sgemm(filters, cols, column_contiguous=output_size == 1 and width == 1,
                     trans_b=True)  # fmt: skip
    if direct and dilation == (1, 1) and channels == 1 and kernel == (height, 1):
        return sgemm(filters, cols, column_contiguous=output_size == 1 and width == 1)
    if filters.shape[0] > output_size:  # expand all, then one GEMM (ldb = ldc = pixels)
        return sgemm(filters, cols, column_contiguous=output_size == 1)
    return _segmented(filters, cols)
