"""The vector unit's detection/segmentation layers on quantized NCHW tensors, in each reference's
arithmetic: resize, depth/space block moves, PReLU and tanh.

- Nearest resize copies codes; which input pixel an output reads is computed as the reference
  does: onnxruntime maps an output coordinate back in float32 (`coordinate_mode`, dividing by
  the float32 scale) and rounds by `nearest_mode`; TFLite multiplies by in / out (or
  (in − 1) / (out − 1) with align_corners) and floors, or rounds half away from zero.
- Bilinear resize in `tflite` mode is ResizeBilinearInteger: coordinates in 10 fractional bits,
  the four taps weighted in 20 and rounded half away from zero. onnxruntime's int8 linear
  resize is not modelled (refused by name).
- PReLU: onnxruntime runs DequantizeLinear → float PRelu → QuantizeLinear (`x·slope` in
  float32 for x < 0); TFLite's PRELU multiplies x − zp by 1 or by alpha − alpha_zp and rescales
  each with its own fixed-point multiplier (input·alpha / output in double, as tflite-micro).
- tanh: onnx mode a 256-entry table of MLAS's tanh (Eigen's rational approximation with FMA, as
  `lookup.mlas_logistic`); tflite mode reference_integer_ops::Tanh (gemmlowp's fixed-point
  tanh of the input in Q4.27, output at scale 1/128, zero point 0).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from accel.functional import gemmlowp
from accel.functional.elementwise import fma_f32
from accel.functional.requant import (
    dequantize_linear,
    multiply_by_quantized_multiplier,
    quantize_linear,
    quantize_multiplier,
    rounding_divide_by_pot,
)
from accel.model.quantized import QuantParams
from accel.model.resample_ops import DepthToSpace, Resize, SpaceToDepth

IntArray = npt.NDArray[np.integer]
F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

# MlasTanhConstants (onnxruntime's mlas/lib/tanh.cpp, Eigen's coefficients).
_TANH = {"lo": -9.0, "hi": 9.0, "a13": -2.76076847742355e-16, "a11": 2.00018790482477e-13,
         "a9": -8.60467152213735e-11, "a7": 5.12229709037114e-08, "a5": 1.48572235717979e-05,
         "a3": 6.37261928875436e-04, "a1": 4.89352455891786e-03, "b6": 1.19825839466702e-06,
         "b4": 1.18534705686654e-04, "b2": 2.26843463243900e-03, "b0": 4.89352518554385e-03}
TFLITE_TANH_OUTPUT = QuantParams(1.0 / 128.0, 0, "int8")  # the only int8 output TFLite takes


def mlas_tanh(x: npt.ArrayLike) -> F32:
    """MlasComputeTanh on x86 with FMA3: x clamped to [-9, 9], odd polynomial over even one,
    each evaluated by Horner's rule in fused multiply-adds."""
    c = {k: np.float32(v) for k, v in _TANH.items()}
    v = np.minimum(c["hi"], np.maximum(c["lo"], np.asarray(x, np.float32)))
    v2 = v * v
    p = fma_f32(v2, c["a13"], c["a11"])
    for name in ("a9", "a7", "a5", "a3", "a1"):
        p = fma_f32(v2, p, c[name])
    q = fma_f32(v2, c["b6"], c["b4"])
    for name in ("b2", "b0"):
        q = fma_f32(v2, q, c[name])
    result: F32 = (v * p) / q
    return result


def tanh_tflite(x: IntArray, x_scale: float, x_zero_point: int) -> IntArray:
    """reference_integer_ops::Tanh on int8 codes (output scale 1/128, zero point 0)."""
    significand, left_shift = math.frexp(float(np.float32(x_scale)) * float(1 << 27))
    multiplier = math.floor(abs(significand) * (1 << 31) + 0.5)  # TfLiteRound, > 0
    radius = math.floor(15.0 * (1 << 27) / 2.0**left_shift)  # CalculateInputRadius(4, shift)
    centred = np.asarray(x).astype(np.int64) - x_zero_point
    inside = np.clip(centred, -radius + 1, radius - 1)
    q0 = gemmlowp.tanh(multiply_by_quantized_multiplier(inside, multiplier, left_shift), 4)
    out = np.clip(rounding_divide_by_pot(q0, 24), -128, 127)
    out = np.where(centred <= -radius, -128, np.where(centred >= radius, 127, out))
    return out.astype(np.int8)


# --- resize -------------------------------------------------------------------------------


def _onnx_nearest(op: Resize, out: int, size: int, scale: float) -> I64:
    """Input index of each output index along one axis, as onnxruntime's Resize computes it."""
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
    original = original.astype(np.float32)
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


# --- PReLU --------------------------------------------------------------------------------


def _per_channel(values: npt.ArrayLike, channels: int) -> npt.NDArray[Any]:
    flat = np.asarray(values).reshape(-1)
    return np.broadcast_to(flat, (channels,)).reshape(1, channels, 1, 1)


def prelu_onnx(x: IntArray, xq: QuantParams, y: QuantParams, slopes: F32) -> IntArray:
    """DequantizeLinear → PRelu (float32 `x·slope` below zero) → QuantizeLinear."""
    real = dequantize_linear(x, xq.scale, xq.zero_point)
    slope = _per_channel(np.asarray(slopes, np.float32), x.shape[1])
    out = np.where(real < 0, real * slope, real).astype(np.float32)
    return quantize_linear(out, y.scale, y.zero_point, y.dtype)


def prelu_tflite(x: IntArray, xq: QuantParams, y: QuantParams, alpha: IntArray,
                 alpha_quant: QuantParams) -> IntArray:
    """reference_ops::BroadcastPrelu4DSlow: x − zp ≥ 0 rescaled by x_s / y_s, below zero
    (x − zp)·(alpha − alpha_zp) rescaled by x_s·alpha_s / y_s (both multipliers in double)."""
    x_s, a_s, y_s = (float(np.float32(v)) for v in (xq.scale, alpha_quant.scale, y.scale))
    identity = quantize_multiplier(x_s / y_s)
    product = quantize_multiplier(x_s * a_s / y_s)
    centred = np.asarray(x).astype(np.int64) - xq.zero_point
    slope = _per_channel(np.asarray(alpha).astype(np.int64) - alpha_quant.zero_point,
                         x.shape[1])  # fmt: skip
    positive = multiply_by_quantized_multiplier(centred, *identity)
    negative = multiply_by_quantized_multiplier(centred * slope, *product)
    out = np.where(centred >= 0, positive, negative) + y.zero_point
    result: IntArray = np.clip(out, y.qmin, y.qmax).astype(y.dtype)
    return result
