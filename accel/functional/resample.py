"""The vector unit's resize and depth/space block moves on quantized NCHW tensors, in each
reference's arithmetic (PReLU and tanh, the other two detection/segmentation layers, are in
`accel.functional.prelu_tanh`).

- Nearest resize copies codes; which input pixel an output reads is computed as the reference
  does: onnxruntime maps an output coordinate back in float32 (`coordinate_mode`, dividing by
  the float32 scale) and rounds by `nearest_mode`; TFLite multiplies by in / out (or
  (in − 1) / (out − 1) with align_corners) and floors, or rounds half away from zero.
- Bilinear resize in `tflite` mode is ResizeBilinearInteger: coordinates in 10 fractional bits,
  the four taps weighted in 20 and rounded half away from zero. In `onnx` mode it is
  onnxruntime's UpsampleBilinear (float32 weights, the sum truncated toward zero on codes), or
  on codes ORT holds channels-last its NhwcUpsampleBilinearInteger (weights in 10 fractional
  bits, the sum divided by 2^20 truncating; at height scale 1 the float kernel over width and
  channels).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from accel.model.resample_ops import DepthToSpace, Resize, SpaceToDepth

IntArray = npt.NDArray[np.integer]
F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

# --- resize -------------------------------------------------------------------------------


def _onnx_coordinates(op: Resize, out: int, size: int, scale: float) -> F32:
    """Input coordinate of each output index along one axis, in float32 as onnxruntime's
    GetOriginalCoordinateFromResizedCoordinate computes it (dividing by the float32 scale)."""
    x = np.arange(out, dtype=np.float32)
    s, half = np.float32(scale), np.float32(0.5)
    mode = op.coordinate_mode
    if mode == "half_pixel":
        original = (x + half) / s - half
    elif mode == "pytorch_half_pixel":
        original = (x + half) / s - half if out > 1 else np.zeros_like(x)
    elif mode == "align_corners":
        original = (x * np.float32(size - 1) / np.float32(out - 1) if out > 1
                    else np.zeros_like(x))  # fmt: skip
    elif mode == "tf_half_pixel_for_nn":
        original = (x + half) / s
    else:
        original = x / s
    result: F32 = original.astype(np.float32)
    return result


def _onnx_nearest(op: Resize, out: int, size: int, scale: float) -> I64:
    """Input index of each output index along one axis, as onnxruntime's Resize computes it."""
    original = _onnx_coordinates(op, out, size, scale)
    half = np.float32(0.5)
    if op.nearest_mode == "floor":
        index = np.floor(original)
    elif op.nearest_mode == "ceil":
        index = np.ceil(original)
    else:
        away = np.sign(original) * np.floor(np.abs(original) + half)  # std::round
        if op.nearest_mode == "round_prefer_floor":
            tie = original == np.trunc(original) + half
            away = np.where(tie, np.floor(original), away)
        index = away
    clipped: I64 = np.clip(index.astype(np.int64), 0, size - 1)
    return clipped


def _tflite_nearest(op: Resize, out: int, size: int) -> I64:
    """GetNearestNeighbor of TFLite's reference ResizeNearestNeighbor."""
    align = op.coordinate_mode == "align_corners"
    half = op.coordinate_mode == "tf_half_pixel_for_nn"
    scale = (np.float32(size - 1) / np.float32(out - 1) if align and out > 1
             else np.float32(size) / np.float32(out))  # fmt: skip
    offset = np.float32(0.5 if half else 0.0)
    value = (np.arange(out, dtype=np.float32) + offset) * scale
    index = np.sign(value) * np.floor(np.abs(value) + 0.5) if align else np.floor(value)
    clipped: I64 = np.clip(index.astype(np.int64), 0, size - 1)
    return clipped


def resize_nearest(x: IntArray, op: Resize, mode: str) -> IntArray:
    """Nearest-neighbour resize of NCHW codes: each output copies one input code."""
    height, width = x.shape[2], x.shape[3]
    out_height, out_width = op.output_size(height, width)
    if mode == "tflite":
        if op.coordinate_mode not in ("asymmetric", "align_corners", "tf_half_pixel_for_nn"):
            raise ValueError(f"TFLite's RESIZE_NEAREST_NEIGHBOR has no {op.coordinate_mode} "
                             "coordinates")  # fmt: skip
        rows, cols = _tflite_nearest(op, out_height, height), _tflite_nearest(op, out_width, width)
    else:
        scale_h, scale_w = op.axis_scales(height, width)
        rows = _onnx_nearest(op, out_height, height, scale_h)
        cols = _onnx_nearest(op, out_width, width, scale_w)
    result: IntArray = x[:, :, rows][:, :, :, cols]
    return result


def _onnx_linear_taps(op: Resize, out: int, size: int, scale: float) -> tuple[F32, I64, I64]:
    """SetupUpsampleBilinear along one axis: the input coordinate (float32, clamped to
    [0, size − 1]; an axis at scale 1 keeps its index) and its lower and upper input index."""
    if np.float32(scale) == 1:
        original = np.arange(out, dtype=np.float32)
    else:
        original = _onnx_coordinates(op, out, size, scale)
    clamped = np.minimum(np.maximum(original, np.float32(0)), np.float32(size - 1))
    lower = np.minimum(clamped.astype(np.int64), size - 1)  # truncation of a value >= 0
    upper = np.minimum(lower + 1, size - 1)
    return clamped.astype(np.float32), lower, upper


def _linear_weights(op: Resize, out: int, size: int, scale: float,
                    fixed: bool) -> tuple[I64, I64, npt.NDArray[Any], npt.NDArray[Any]]:
    """(lower, upper, d2, d1) along one axis: d2 = |c − upper| weighs the lower tap and
    d1 = |c − lower| the upper one, each 0.5 where both taps coincide; float32, or `fixed`
    (SetupUpsampleBilinearInteger) in 10 fractional bits from c·1024 truncated."""
    c, lower, upper = _onnx_linear_taps(op, out, size, scale)
    if fixed:
        c10 = (c * np.float32(1 << 10)).astype(np.int64)
        d1: npt.NDArray[Any] = np.abs(c10 - lower * (1 << 10))
        d2: npt.NDArray[Any] = np.abs(c10 - upper * (1 << 10))
        half: Any = 1 << 9
    else:
        d1 = np.abs(c - lower.astype(np.float32))
        d2 = np.abs(c - upper.astype(np.float32))
        half = np.float32(0.5)
    same = lower == upper
    return lower, upper, np.where(same, half, d2), np.where(same, half, d1)


def _linear(values: npt.NDArray[Any], op: Resize, out: tuple[int, int], scales: tuple[float, float],
            fixed: bool) -> npt.NDArray[Any]:
    """ORT's bilinear interpolation over the last two axes of `values` (its "height" and
    "width")."""
    y1, y2, dy2, dy1 = _linear_weights(op, out[0], values.shape[-2], scales[0], fixed)
    x1, x2, dx2, dx1 = _linear_weights(op, out[1], values.shape[-1], scales[1], fixed)
    v = values.astype(np.int64 if fixed else np.float32)
    top, bottom = v[..., y1, :], v[..., y2, :]
    dy1c, dy2c = dy1[:, None], dy2[:, None]
    total = ((dx2 * dy2c) * top[..., x1] + (dx1 * dy2c) * top[..., x2]
             + (dx2 * dy1c) * bottom[..., x1] + (dx1 * dy1c) * bottom[..., x2])  # fmt: skip
    if fixed:
        total = np.sign(total) * (np.abs(total) >> 20)  # C division truncates
    elif values.dtype != np.float32:
        total = np.trunc(total)  # static_cast<T> of the float32 sum
    result: npt.NDArray[Any] = np.ascontiguousarray(total, values.dtype)
    return result


def resize_bilinear_onnx(x: npt.NDArray[Any], op: Resize, nhwc: bool = False) -> npt.NDArray[Any]:
    """onnxruntime's linear Resize of NCHW codes (int8/uint8) or float32 values.

    UpsampleBilinear (an NCHW tensor, and every float32 one): each output is
    `dx2·dy2·X11 + dx1·dy2·X21 + dx2·dy1·X12 + dx1·dy1·X22` in float32, left to right (each
    weight product first); codes take that sum truncated toward zero. `nhwc`: ORT moved the
    Resize channels-last (between NHWC QLinearConvs in an optimized graph): then it runs
    NhwcUpsampleBilinearInteger, the same sum in integers with weights in 10 fractional bits
    each (c·1024 truncated; 20 bits per product), divided by 2^20 truncating toward zero; but a
    height scale of 1 makes ORT read the NHWC tensor as NCHW (its scales [1, 1, s_w, 1]), so it
    interpolates width and channels with UpsampleBilinear (channels at scale 1)."""
    values = np.asarray(x)
    height, width = values.shape[2], values.shape[3]
    out_height, out_width = op.output_size(height, width)
    scale_h, scale_w = op.axis_scales(height, width)
    if not nhwc or values.dtype == np.float32:
        return _linear(values, op, (out_height, out_width), (scale_h, scale_w), False)
    channels_last = values.transpose(0, 2, 3, 1)
    if np.float32(scale_h) == 1:
        resized = _linear(channels_last, op, (out_width, values.shape[1]), (scale_w, 1.0), False)
    else:
        moved = np.moveaxis(channels_last, 3, 1)  # the integer kernel's taps are per channel
        resized = np.moveaxis(_linear(moved, op, (out_height, out_width), (scale_h, scale_w),
                                      True), 1, 3)  # fmt: skip
    result: npt.NDArray[Any] = np.ascontiguousarray(resized.transpose(0, 3, 1, 2))
    return result


def _interpolation_10(out: int, size: int, align: bool, half: bool) -> tuple[I64, I64, I64]:
    """ComputeInterpolationValuesInteger along one axis: (scaled coordinate in Q10, lower
    and upper input index)."""
    scale = ((1 << 10) * size + out // 2) // out
    if align and out > 1:
        scale = ((1 << 10) * (size - 1) + (out - 1) // 2) // (out - 1)
    value = np.arange(out, dtype=np.int64)
    scaled = value * scale + scale // 2 - (1 << 9) if half else value * scale
    lower = np.maximum(np.trunc(scaled / (1 << 10)).astype(np.int64), 0)  # C division
    upper = np.minimum((scaled + (1 << 10) - 1) // (1 << 10), size - 1)
    upper = np.where(scaled + (1 << 10) - 1 < 0, 0, upper)
    return scaled, lower, upper


def resize_bilinear_tflite(x: IntArray, op: Resize) -> IntArray:
    """reference_ops::ResizeBilinearInteger on int8/uint8 NCHW codes."""
    if op.coordinate_mode not in ("asymmetric", "align_corners", "half_pixel"):
        raise ValueError(f"TFLite's RESIZE_BILINEAR has no {op.coordinate_mode} coordinates")
    height, width = x.shape[2], x.shape[3]
    out_height, out_width = op.output_size(height, width)
    align, half = op.coordinate_mode == "align_corners", op.coordinate_mode == "half_pixel"
    ys, y0, y1 = _interpolation_10(out_height, height, align, half)
    xs, x0, x1 = _interpolation_10(out_width, width, align, half)
    one = 1 << 10
    dy = (ys - one * y0)[:, None]
    dx = (xs - one * x0)[None, :]
    v = np.asarray(x).astype(np.int64)
    total = (v[:, :, y0][:, :, :, x0] * (one - dy) * (one - dx)
             + v[:, :, y1][:, :, :, x0] * dy * (one - dx)
             + v[:, :, y0][:, :, :, x1] * (one - dy) * dx
             + v[:, :, y1][:, :, :, x1] * dy * dx)  # fmt: skip
    rounded = total + np.where(total > 0, 1 << 19, -(1 << 19))
    quotient = np.sign(rounded) * (np.abs(rounded) >> 20)  # C division truncates
    result: IntArray = quotient.astype(x.dtype)
    return result


# --- block moves --------------------------------------------------------------------------


def depth_to_space(x: npt.NDArray[np.generic], op: DepthToSpace) -> npt.NDArray[np.generic]:
    n, c, h, w = x.shape
    b = op.block
    if op.order == "DCR":
        t = x.reshape(n, b, b, c // (b * b), h, w).transpose(0, 3, 4, 1, 5, 2)
    else:
        t = x.reshape(n, c // (b * b), b, b, h, w).transpose(0, 1, 4, 2, 5, 3)
    return np.ascontiguousarray(t).reshape(n, c // (b * b), h * b, w * b)


def space_to_depth(x: npt.NDArray[np.generic], op: SpaceToDepth) -> npt.NDArray[np.generic]:
    n, c, h, w = x.shape
    b = op.block
    t = x.reshape(n, c, h // b, b, w // b, b).transpose(0, 3, 5, 1, 2, 4)
    return np.ascontiguousarray(t).reshape(n, c * b * b, h // b, w // b)
