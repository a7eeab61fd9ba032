"""The pooling unit: max, average and global-average pooling on quantized activations.

Max pooling is exact in any mode (max commutes with a monotone requantization). Average pooling
differs between the references: onnxruntime's com.microsoft QLinearAveragePool sums dequantized
float32 values (and switches to an integer path for a window covering the whole image), TFLite's
reference kernel sums integers and divides rounding half away from zero.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from accel.functional.geometry import (
    Pads,
    check_nchw,
    pad_to_windows,
    pads4,
    pair,
    windows,
)
from accel.functional.requant import (
    convert_f32_to_i32,
    dequantize_linear,
    dtype_bounds,
    requantize_onnx,
    saturation_bounds,
)
from accel.model.window import window_output_size

IntArray = npt.NDArray[np.integer]
I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]


def maxpool2d(
    x: IntArray,
    kernel: Sequence[int],
    *,
    strides: Sequence[int] = (1, 1),
    pads: Sequence[int] = (0, 0, 0, 0),
    dilations: Sequence[int] = (1, 1),
    ceil_mode: bool = False,
) -> IntArray:
    """MaxPool on quantized values (exact in any mode: max commutes with monotone requant).

    Padding is never selected (it holds the type minimum, like ORT's initial value).
    """
    x = check_nchw(x, "maxpool input")
    k, st, dl = (
        pair(kernel, "kernel", 1),
        pair(strides, "strides", 1),
        pair(dilations, "dilations", 1),
    )
    pd = pads4(pads)
    oh, ow = _output_hw(x, k, st, pd, dl, ceil_mode)
    fill = np.iinfo(x.dtype).min
    xp = pad_to_windows(x, pd, k, st, dl, (oh, ow), fill)
    return np.asarray(windows(xp, k, st, dl, (oh, ow)).max(axis=(2, 3)))


def _output_hw(
    x: IntArray,
    kernel: tuple[int, int],
    strides: tuple[int, int],
    pads: Pads,
    dilations: tuple[int, int],
    ceil_mode: bool,
) -> tuple[int, int]:
    top, bottom, left, right = pads
    return (
        window_output_size(x.shape[2], kernel[0], strides[0], top, bottom, dilations[0], ceil_mode),
        window_output_size(x.shape[3], kernel[1], strides[1], left, right, dilations[1], ceil_mode),
    )


def _in_image_taps(
    x: IntArray,
    kernel: tuple[int, int],
    strides: tuple[int, int],
    pads: Pads,
    out_hw: tuple[int, int],
) -> I64:
    """(OH, OW): how many taps of each window fall inside the image (ORT clips the window)."""
    rows = _valid_counts(x.shape[2], kernel[0], strides[0], pads[0], out_hw[0])
    cols = _valid_counts(x.shape[3], kernel[1], strides[1], pads[2], out_hw[1])
    return np.outer(rows, cols)


def _valid_counts(size: int, kernel: int, stride: int, pad_head: int, out: int) -> I64:
    # Number of in-image taps per output position along one axis (ORT: clip window to the image).
    start = np.arange(out, dtype=np.int64) * stride - pad_head
    return np.minimum(start + kernel, size) - np.maximum(start, 0)


def avgpool2d_onnx(
    x: IntArray,
    x_scale: float,
    x_zero_point: int,
    y_scale: float,
    y_zero_point: int,
    kernel: Sequence[int],
    *,
    strides: Sequence[int] = (1, 1),
    pads: Sequence[int] = (0, 0, 0, 0),
    ceil_mode: bool = False,
    count_include_pad: bool = False,
) -> IntArray:
    """com.microsoft QLinearAveragePool (NCHW) exactly as onnxruntime computes it.

    Values are dequantized to float32 and summed in window order (row by row); the sum is divided by
    the in-image tap count, or by KH*KW when count_include_pad (even where a ceil_mode window
    overhangs the padding), then ``rne(sum / y_s + y_zp)`` is saturated. A window covering the
    whole unpadded image takes ORT's integer global-average path instead.
    """
    x = check_nchw(x, "avgpool input")
    k, st, pd = pair(kernel, "kernel", 1), pair(strides, "strides", 1), pads4(pads)
    if k == x.shape[2:] and pd == (0, 0, 0, 0):
        return global_avgpool_onnx(x, x_scale, x_zero_point, y_scale, y_zero_point)
    oh, ow = _output_hw(x, k, st, pd, (1, 1), ceil_mode)
    xf = dequantize_linear(x, x_scale, x_zero_point)
    win = windows(pad_to_windows(xf, pd, k, st, (1, 1), (oh, ow), 0.0), k, st, (1, 1), (oh, ow))
    total = np.zeros(win.shape[:2] + win.shape[4:], dtype=np.float32)
    for i in range(k[0]):  # float32 addition in ORT's order; padded taps add +0.0 (a no-op)
        for j in range(k[1]):
            np.add(total, win[:, :, i, j], out=total)
    if count_include_pad:
        count = np.full((oh, ow), k[0] * k[1], dtype=np.float32)
    else:
        count = _in_image_taps(x, k, st, pd, (oh, ow)).astype(np.float32)
    mean = total / count
    return _quantize_add_zp(mean, y_scale, y_zero_point, x.dtype)


def _quantize_add_zp(v: F32, scale: float, zero_point: int, dtype: npt.DTypeLike) -> IntArray:
    # ORT pool epilogue: nearbyintf(v / scale + zp), then clamp in int32 (zp added in float32).
    lo, hi = dtype_bounds(dtype)
    f = np.asarray(v, np.float32) / np.float32(scale) + np.float32(zero_point)
    return np.clip(convert_f32_to_i32(f), lo, hi).astype(dtype)


def global_avgpool_onnx(
    x: IntArray, x_scale: float, x_zero_point: int, y_scale: float, y_zero_point: int
) -> IntArray:
    """com.microsoft QLinearGlobalAveragePool (NCHW): integer sum, then MlasRequantizeOutput with
    scale ``f32(x_s / f32(y_s * f32(H*W)))``; output shape (N, C, 1, 1)."""
    x = check_nchw(x, "global avgpool input")
    size = x.shape[2] * x.shape[3]
    scale = np.float32(x_scale) / (np.float32(y_scale) * np.float32(size))
    if size >= 1 << 24 or not 2.0**-32 <= scale < 256.0:
        raise ValueError(
            f"x_scale / (y_scale * H*W) must be in [2**-32, 256), not {float(scale)!r}"
        )
    acc = x.astype(np.int64).sum(axis=(2, 3), keepdims=True) - x_zero_point * size
    return requantize_onnx(acc, scale, y_zero_point, x.dtype)


def avgpool2d_tflite(
    x: IntArray,
    kernel: Sequence[int],
    *,
    strides: Sequence[int] = (1, 1),
    pads: Sequence[int] = (0, 0, 0, 0),
    act_min: int | None = None,
    act_max: int | None = None,
) -> IntArray:
    """TFLite reference int8 AveragePool: integer sum over in-image taps, divided by their count
    rounding half away from zero. TFLite requires equal input/output scale and zero point."""
    x = check_nchw(x, "avgpool input")
    k, st, pd = pair(kernel, "kernel", 1), pair(strides, "strides", 1), pads4(pads)
    oh, ow = _output_hw(x, k, st, pd, (1, 1), False)
    xp = pad_to_windows(x.astype(np.int64), pd, k, st, (1, 1), (oh, ow), 0)
    total = windows(xp, k, st, (1, 1), (oh, ow)).sum(axis=(2, 3))
    count = _in_image_taps(x, k, st, pd, (oh, ow))
    # C++ integer division truncates toward zero; rounding is done by the +-count/2 nudge.
    nudged = np.where(total > 0, total + count // 2, total - count // 2)
    avg = np.sign(nudged) * (np.abs(nudged) // count)
    lo, hi = saturation_bounds(x.dtype, act_min, act_max)
    out: IntArray = np.clip(avg, lo, hi).astype(x.dtype)
    return out
