"""float32 average pooling exactly as onnxruntime computes it on x86, for pools it leaves
unfused: DequantizeLinear → AveragePool / GlobalAveragePool / ReduceMean → QuantizeLinear.

Which kernel runs decides the summation order, and the optimized graph names it:
- NCHWc pools (`com.microsoft.nchwc.AveragePool` / `GlobalAveragePool`, chosen for channel
  counts the blocked layout takes): per window, a running sum row by row, then ÷ count;
- MLAS's global kernel (a kernel covering the whole input, stride 1, no padding): four lanes
  summing every fourth element, reduced as (l0 + l2) + (l1 + l3), then the leftover elements
  in order, ÷ H·W;
- MLAS's vector kernel (column stride ≤ 2, kernels ≤ 32): first each input column is summed
  down the window's rows, then the window's column sums left to right, ÷ count;
- otherwise (and for ceil_mode with count_include_pad) the generic kernel: row by row like
  NCHWc.
ReduceMean over H and W is Eigen's SSE sum (`mean_eigen`) ÷ H·W.
`count` is the window's area inside the padded input with count_include_pad (KH·KW except for
ceil_mode windows hanging over), else its area inside the image.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
Pads = tuple[int, int, int, int]  # top, bottom, left, right


def _add(a: F32, b: F32) -> F32:
    return np.add(a, b, dtype=np.float32)


def _rows(out_index: int, stride: int, pad: int, kernel: int, size: int) -> tuple[int, int]:
    start = out_index * stride - pad
    return max(start, 0), min(start + kernel, size)


def average_rowwise(x: F32, kernel: tuple[int, int], stride: tuple[int, int], pads: Pads,
                    out_hw: tuple[int, int], include_pad: bool) -> F32:
    """NCHWc and generic kernels: a running sum over the window, row by row, then ÷ count."""
    height, width = x.shape[2:]
    out = np.empty((*x.shape[:2], *out_hw), np.float32)
    for i in range(out_hw[0]):
        h0, h1 = _rows(i, stride[0], pads[0], kernel[0], height)
        for j in range(out_hw[1]):
            w0, w1 = _rows(j, stride[1], pads[2], kernel[1], width)
            total = np.zeros(x.shape[:2], np.float32)
            for row in range(h0, h1):
                for column in range(w0, w1):
                    total = _add(total, x[:, :, row, column])
            if include_pad:  # the window clipped to the padded input
                top, first = i * stride[0] - pads[0], j * stride[1] - pads[2]
                count = (min(top + kernel[0], height + pads[1]) - top) * (
                    min(first + kernel[1], width + pads[3]) - first)
            else:
                count = (h1 - h0) * (w1 - w0)
            out[:, :, i, j] = total / np.float32(count)
    return out


def average_vector(x: F32, kernel: tuple[int, int], stride: tuple[int, int], pads: Pads,
                   out_hw: tuple[int, int], include_pad: bool) -> F32:
    """MlasPool2DVectorKernel: column sums down the window rows, then across the columns."""
    height, width = x.shape[2:]
    left = pads[2]
    buffer_width = left + max(width + pads[3], (out_hw[1] - 1) * stride[1] + kernel[1]) + 4
    out = np.empty((*x.shape[:2], *out_hw), np.float32)
    for i in range(out_hw[0]):
        h0, h1 = _rows(i, stride[0], pads[0], kernel[0], height)
        columns = x[:, :, h0]
        for row in range(h0 + 1, h1):
            columns = _add(columns, x[:, :, row])
        buffer = np.zeros((*x.shape[:2], buffer_width), np.float32)
        buffer[:, :, left : left + width] = columns
        for j in range(out_hw[1]):
            start = j * stride[1]
            total = buffer[:, :, start]
            for offset in range(1, kernel[1]):
                total = _add(total, buffer[:, :, start + offset])
            if include_pad:
                count = kernel[0] * kernel[1]
            else:
                inside = min(start + kernel[1], left + width) - max(start, left)
                count = max(inside * (h1 - h0), 1)
            out[:, :, i, j] = total / np.float32(count)
    return out


def average_global(x: F32) -> F32:
    """MlasPoolGlobalKernel: four strided lanes, (l0 + l2) + (l1 + l3), the tail, ÷ H·W."""
    flat = x.reshape(*x.shape[:2], -1)
    size = flat.shape[2]
    lanes = np.zeros((*x.shape[:2], 4), np.float32)
    full = size // 4 * 4
    for start in range(0, full, 4):
        lanes = _add(lanes, flat[:, :, start : start + 4])
    total = _add(_add(lanes[..., 0], lanes[..., 2]), _add(lanes[..., 1], lanes[..., 3]))
    for index in range(full, size):
        total = _add(total, flat[:, :, index])
    return (total / np.float32(size)).reshape(*x.shape[:2], 1, 1)


def uses_vector_kernel(kernel: tuple[int, int], stride: tuple[int, int], pads: Pads,
                       width: int) -> bool:
    """MlasPool's choice of its vectorized 2-D kernel."""
    buffer = 2048 - 3 - pads[2] - pads[3]
    return stride[1] <= 2 and max(kernel) <= 32 and buffer >= width


def average_pool(x: F32, op_name: str, kernel: tuple[int, int], stride: tuple[int, int],
                 pads: Pads, out_hw: tuple[int, int], include_pad: bool,
                 ceil_mode: bool = False) -> F32:
    """The float32 result of ORT's AveragePool kernel named `op_name` in its optimized graph."""
    height, width = x.shape[2:]
    if op_name.startswith("com.microsoft.nchwc.") or (ceil_mode and include_pad):
        return average_rowwise(x, kernel, stride, pads, out_hw, include_pad)
    if kernel == (height, width) and stride == (1, 1) and not any(pads):
        return average_global(x)
    if uses_vector_kernel(kernel, stride, pads, width):
        return average_vector(x, kernel, stride, pads, out_hw, include_pad)
    return average_rowwise(x, kernel, stride, pads, out_hw, include_pad)


def mean_eigen(x: F32) -> F32:
    """ReduceMean over (H, W): Eigen's vectorized sum of each channel's H·W values, ÷ H·W.

    Eigen sums 4-float packets from the first 16-byte aligned element (tensor buffers are
    aligned, so a channel's alignment follows from its offset), in two interleaved
    accumulators, reduces the packet as (p0 + p2) + (p1 + p3), then adds the unaligned head
    and the tail one by one.
    """
    flat = np.ascontiguousarray(x, np.float32).reshape(-1, x.shape[2] * x.shape[3])
    size = flat.shape[1]
    sums = np.empty(flat.shape[0], np.float32)
    for row in range(flat.shape[0]):
        sums[row] = _eigen_sum(flat[row], (-row * size) % 4)
    return (sums / np.float32(size)).reshape(*x.shape[:2], 1, 1)


def _eigen_sum(values: F32, head: int) -> np.float32:
    size = values.shape[0]
    head = min(head, size)
    packets = (size - head) // 4 * 4
    if not packets:
        total = values[0]
        for value in values[1:]:
            total = np.float32(total + value)
        return np.float32(total)
    end, pairs_end = head + packets, head + (size - head) // 8 * 8
    first = values[head : head + 4]
    if packets > 4:
        second = values[head + 4 : head + 8]
        for start in range(head + 8, pairs_end, 8):
            first = _add(first, values[start : start + 4])
            second = _add(second, values[start + 4 : start + 8])
        first = _add(first, second)
        if end > pairs_end:
            first = _add(first, values[pairs_end:end])
    total = np.float32(np.float32(first[0] + first[2]) + np.float32(first[1] + first[3]))
    for value in (*values[:head], *values[end:]):
        total = np.float32(total + value)
    return total


def reduce_mean(x: F32, axes: tuple[int, ...]) -> F32:
    """ReduceMean of an NCHW tensor over `axes` (1 channels, 2 height, 3 width; kept as size
    1) in onnxruntime's summation order.

    ORT merges neighbouring dimensions that are all kept (K) or all reduced (R), drops a
    leading kept block of size 1, and has a fast kernel per pattern: KR (and R) sums each row
    with Eigen (`_eigen_sum`, alignment from the row's offset), RK adds the rows in order, KRK
    multiplies each K×N block by a row of ones in MLAS's M=1 SGEMM kernel (`_ones_gemv`); then
    ÷ the count in float32. The other pattern (channels and width without height: KRKR, or
    RKR at batch 1) takes ORT's generic loop (`_generic_sum`).
    """
    blocks: list[tuple[int, bool]] = []
    for axis, size in enumerate(x.shape):
        reduced = axis in axes
        if blocks and blocks[-1][1] == reduced:
            blocks[-1] = (blocks[-1][0] * size, reduced)
        else:
            blocks.append((size, reduced))
    if len(blocks) > 1 and not blocks[0][1] and blocks[0][0] == 1:
        blocks = blocks[1:]
    pattern = "".join("R" if reduced else "K" for _, reduced in blocks)
    flat = np.ascontiguousarray(x, np.float32).reshape([size for size, _ in blocks])
    if pattern == "K":
        sums = flat
    elif pattern in ("R", "KR"):
        rows = flat.reshape(-1, flat.shape[-1])
        size = rows.shape[1]
        sums = np.array([_eigen_sum(rows[r], (-r * size) % 4) for r in range(rows.shape[0])],
                        np.float32)  # fmt: skip
    elif pattern == "RK":
        sums = flat[0]
        for row in flat[1:]:
            sums = _add(sums, row)
    elif pattern == "KRK":
        sums = np.stack([_ones_gemv(block) for block in flat])
    else:
        sums = _generic_sum(x, axes)
    count = int(np.prod([x.shape[axis] for axis in axes]))
    shape = [1 if axis in axes else size for axis, size in enumerate(x.shape)]
    mean: F32 = (np.asarray(sums, np.float32) / np.float32(count)).reshape(shape)
    return mean


def _ones_gemv(block: F32) -> F32:
    """A row of ones times a K×N block in MLAS's M=1 SGEMM kernel: rows summed four at a time
    in order, each group added to the total, then a remaining pair, then a last row."""
    total: F32 | None = None
    index, rows = 0, block.shape[0]
    while index < rows:
        step = 4 if rows - index >= 4 else 2 if rows - index >= 2 else 1
        group = block[index]
        for row in block[index + 1 : index + step]:
            group = _add(group, row)
        total = group if total is None else _add(total, group)
        index += step
    assert total is not None
    return total


def _generic_sum(x: F32, axes: tuple[int, ...]) -> F32:
    """ORT's generic reduction loop (NoTransposeReduce1Loop): one float32 accumulator per
    kept position, starting at 0 and adding the reduced elements one by one in their
    row-major order (measured: `tests/test_mlas_pool.py`)."""
    reduced = sorted(axes)
    kept = [axis for axis in range(x.ndim) if axis not in reduced]
    count = int(np.prod([x.shape[axis] for axis in reduced]))
    rows = np.transpose(x, (*kept, *reduced)).reshape(-1, count)
    total = np.zeros(rows.shape[0], np.float32)
    for column in rows.T:
        total = _add(total, column)
    return total
