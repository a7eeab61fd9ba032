"""Requantization: turning a wide integer accumulator back into an 8-bit activation.

In hardware this is the post-processing unit behind the MAC array: each int32 accumulator gets its
bias, is multiplied by a per-output-channel scale, rounded, offset by the output zero point and
saturated to int8/uint8 (with ReLU/ReLU6 folded into the saturation bounds). Two numerically
different post-processors are modelled, because the two reference runtimes disagree in the last bit:

* ``onnx`` - onnxruntime/MLAS on x86 (``MlasRequantizeOutput``): the scale
  ``f32(f32(x_s * w_s[o]) / y_s)`` is a float32, the accumulator is converted to float32,
  multiplied, clamped to ``[qmin - zp, qmax - zp]``, rounded half-to-even and offset by ``zp``.
* ``tflite`` - TFLite reference kernels and tflite-micro: the double-precision scale is split into a
  Q31 multiplier and a power-of-two shift (``QuantizeMultiplier``), applied with gemmlowp's
  ``SaturatingRoundingDoublingHighMul`` and ``RoundingDivideByPOT`` (round half away from zero).

A narrower accumulator than int32 (a cheaper MAC array) is modelled by `narrow_accumulator`.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.integer]
I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]
QuantMode = Literal["onnx", "tflite"]
Activation = Literal["none", "relu", "relu6"]

_INT32_MIN = -(1 << 31)
_INT32_MAX = (1 << 31) - 1


def dtype_bounds(dtype: npt.DTypeLike) -> tuple[int, int]:
    """The representable range of a quantized activation type (int8 or uint8)."""
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.int8), np.dtype(np.uint8)):
        raise ValueError(f"activation dtype must be int8 or uint8, not {dt.name!r}")
    info = np.iinfo(dt)
    return int(info.min), int(info.max)


def saturation_bounds(
    dtype: npt.DTypeLike, act_min: int | None, act_max: int | None
) -> tuple[int, int]:
    """The range an output stage saturates to: the type's, tightened by a fused activation's
    `act_min`/`act_max` (a ReLU/ReLU6 only ever tightens it)."""
    lo, hi = dtype_bounds(dtype)
    lo = lo if act_min is None else max(lo, int(act_min))
    hi = hi if act_max is None else min(hi, int(act_max))
    if lo > hi:
        raise ValueError(f"activation range must be non-empty, not {(lo, hi)!r}")
    return lo, hi


def _per_axis(values: npt.ArrayLike, ndim: int, axis: int) -> npt.NDArray[Any]:
    # Reshape a per-channel vector so it broadcasts along `axis` of an ndim-dimensional tensor.
    arr = np.asarray(values)
    if arr.ndim == 0 or arr.size == 1:
        return arr.reshape(())
    shape = [1] * ndim
    shape[axis] = arr.size
    return arr.reshape(shape)


# ----------------------------------------------------------------------------------- onnx mode


def onnx_requant_scale(x_scale: float, w_scale: npt.ArrayLike, y_scale: float) -> F32:
    """ORT's per-channel output scale: ``f32(f32(x_s * w_s[o]) / y_s)``, evaluated in float32."""
    xs, ys = np.float32(x_scale), np.float32(y_scale)
    ws = np.asarray(w_scale, dtype=np.float32)
    if not (xs > 0 and ys > 0 and np.all(ws > 0)):
        raise ValueError(f"scales must be positive, not {(x_scale, w_scale, y_scale)!r}")
    return np.asarray((xs * ws) / ys, dtype=np.float32)


def requantize_onnx(
    acc: IntArray | npt.NDArray[np.float64],
    scale: npt.ArrayLike,
    zero_point: int,
    dtype: npt.DTypeLike,
    *,
    axis: int = 1,
    act_min: int | None = None,
    act_max: int | None = None,
) -> IntArray:
    """MlasRequantizeOutput: ``clamp(rne(f32(acc) * scale), qmin - zp, qmax - zp) + zp``.

    `acc` already includes the bias (an integer array, or float64 holding exact integers:
    float64 -> float32 rounds to nearest even like int32 -> float32). `scale` is per-tensor or
    per-channel along `axis`. `act_min`/`act_max` are a fused activation's bounds.
    """
    lo, hi = saturation_bounds(dtype, act_min, act_max)
    s = _per_axis(np.asarray(scale, dtype=np.float32), np.ndim(acc), axis)
    # int32 -> float32 conversion rounds to nearest even above 2**24, like cvtdq2ps.
    f = np.asarray(acc).astype(np.float32) * s
    # Clamping before rounding is safe: the bounds are integers, so order does not matter.
    f = np.clip(f, np.float32(lo - zero_point), np.float32(hi - zero_point))
    out: IntArray = (np.rint(f).astype(np.int32) + zero_point).astype(dtype)
    return out


def convert_f32_to_i32(f: F32) -> I64:
    """float32 -> int32 as x86 cvtps2dq does it (MXCSR default rounding)."""
    # x86 cvtps2dq: round half to even; NaN and out-of-range give INT32_MIN ("integer indefinite").
    f64 = np.asarray(f, dtype=np.float64)
    bad = ~np.isfinite(f64) | (np.abs(f64) >= 2.0**31)
    return np.where(bad, -(2**31), np.rint(np.where(bad, 0.0, f64))).astype(np.int64)


def quantize_linear(
    x: npt.ArrayLike, scale: float, zero_point: int, dtype: npt.DTypeLike
) -> IntArray:
    """ONNX QuantizeLinear as MLAS does it: float32 divide, saturate, round half to even.

    NaN quantizes to the type minimum (MAXPS returns its second operand for a NaN first).
    """
    lo, hi = dtype_bounds(dtype)
    f = np.asarray(x, dtype=np.float32) / np.float32(scale)
    f = np.where(np.isnan(f), np.float32(lo - zero_point), f)
    f = np.clip(f, np.float32(lo - zero_point), np.float32(hi - zero_point))
    out: IntArray = (np.rint(f).astype(np.int32) + zero_point).astype(dtype)
    return out


def dequantize_linear(q: IntArray, scale: float, zero_point: int) -> F32:
    """ONNX DequantizeLinear: ``f32(q - zp) * f32(scale)``, one float32 rounding."""
    diff = np.asarray(q).astype(np.int32) - np.int32(zero_point)
    return np.asarray(diff.astype(np.float32) * np.float32(scale), dtype=np.float32)


# --------------------------------------------------------------------------------- tflite mode


def quantize_multiplier(real_multiplier: float) -> tuple[int, int]:
    """TFLite QuantizeMultiplier: ``real = q * 2**(shift - 31)`` with q a Q31 int32.

    frexp gives a significand in [0.5, 1); it is rounded half away from zero (std::round) to 31
    fractional bits. Multipliers below ~2**-31 in magnitude flush to zero, as in TFLite.
    """
    if not math.isfinite(real_multiplier):
        raise ValueError(f"real multiplier must be finite, not {real_multiplier!r}")
    if real_multiplier == 0.0:
        return 0, 0
    significand, shift = math.frexp(real_multiplier)
    # significand * 2**31 is exact in double and below 2**31, so +0.5 is exact too.
    q_fixed = int(math.copysign(math.floor(abs(significand) * (1 << 31) + 0.5), significand))
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q_fixed, int(shift)


def tflite_conv_multipliers(
    x_scale: float, w_scale: npt.ArrayLike, y_scale: float
) -> tuple[I64, I64]:
    """Per-channel (multiplier, shift) as PopulateConvolutionQuantizationParams computes them.

    The effective scale is formed in double from the float32 scales: ``x_s * w_s[o] / y_s``.
    """
    ws = np.atleast_1d(np.asarray(w_scale, dtype=np.float32))
    xs, ys = float(np.float32(x_scale)), float(np.float32(y_scale))
    pairs = [quantize_multiplier(xs * float(w) / ys) for w in ws]
    return (
        np.array([p[0] for p in pairs], dtype=np.int64),
        np.array([p[1] for p in pairs], dtype=np.int64),
    )


def _wrap_int32(x: I64) -> I64:
    # C++ int32 arithmetic that overflows wraps on every target TFLite runs on.
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def saturating_rounding_doubling_high_mul(a: npt.ArrayLike, b: npt.ArrayLike) -> I64:
    """gemmlowp SaturatingRoundingDoublingHighMul on int32 values: ``round(a * b / 2**31)``.

    Ties round away from zero; the single overflow case (INT32_MIN * INT32_MIN) saturates.
    """
    a64, b64 = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    ab = a64 * b64
    nudged = ab + np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    # C++ '/' truncates toward zero; numpy's >> floors, so divide the magnitude.
    high = np.where(nudged >= 0, nudged >> 31, -((-nudged) >> 31))
    overflow = (a64 == _INT32_MIN) & (b64 == _INT32_MIN)
    return np.where(overflow, _INT32_MAX, high).astype(np.int64)


def rounding_divide_by_pot(x: npt.ArrayLike, exponent: npt.ArrayLike) -> I64:
    """gemmlowp RoundingDivideByPOT: ``x / 2**exponent`` rounded half away from zero."""
    x64, e = np.asarray(x, dtype=np.int64), np.asarray(exponent, dtype=np.int64)
    outside = (e < 0) | (e > 31)
    if np.any(outside):
        count, first = int(np.count_nonzero(outside)), int(e[outside].flat[0])
        raise ValueError(f"exponent must be in [0, 31], not {first} ({count} such values)")
    mask = (np.int64(1) << e) - 1
    remainder = x64 & mask
    threshold = (mask >> 1) + (x64 < 0)
    return (x64 >> e) + (remainder > threshold)


def multiply_by_quantized_multiplier(
    x: npt.ArrayLike, multiplier: npt.ArrayLike, shift: npt.ArrayLike
) -> I64:
    """TFLite MultiplyByQuantizedMultiplier (double rounding, the default build)."""
    sh = np.asarray(shift, dtype=np.int64)
    left, right = np.maximum(sh, 0), np.maximum(-sh, 0)
    shifted = _wrap_int32(np.asarray(x, dtype=np.int64) * (np.int64(1) << left))
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, multiplier), right)


def requantize_tflite(
    acc: IntArray,
    multiplier: npt.ArrayLike,
    shift: npt.ArrayLike,
    zero_point: int,
    dtype: npt.DTypeLike,
    *,
    axis: int = 1,
    act_min: int | None = None,
    act_max: int | None = None,
) -> IntArray:
    """Reference-kernel output stage: ``clamp(MBQM(acc, m[o], s[o]) + zp, act_min, act_max)``."""
    lo, hi = saturation_bounds(dtype, act_min, act_max)
    nd = np.ndim(acc)
    m = _per_axis(np.asarray(multiplier, dtype=np.int64), nd, axis)
    s = _per_axis(np.asarray(shift, dtype=np.int64), nd, axis)
    scaled = multiply_by_quantized_multiplier(_wrap_int32(np.asarray(acc, np.int64)), m, s)
    return np.clip(scaled + zero_point, lo, hi).astype(dtype)


# --------------------------------------------------------------------------- shared utilities


def activation_bounds(
    activation: Activation, scale: float, zero_point: int, dtype: npt.DTypeLike, mode: QuantMode
) -> tuple[int, int]:
    """Quantized [min, max] of a fused ReLU/ReLU6 on an output with (scale, zero_point).

    ``onnx``: QuantizeLinear of 0 and 6 (float32 divide, half to even), what a
    DequantizeLinear->Clip->QuantizeLinear chain computes. ``tflite``:
    CalculateActivationRangeQuantized (float32 divide, TfLiteRound = half away from zero).
    """
    lo, hi = dtype_bounds(dtype)
    if activation == "none":
        return lo, hi
    if activation not in ("relu", "relu6"):
        raise ValueError(f"activation must be 'none', 'relu' or 'relu6', not {activation!r}")

    def quantize(value: float) -> int:
        ratio = float(np.float32(value) / np.float32(scale))
        # TfLiteRound is std::round; in double, |ratio| + 0.5 is exact for a float32 ratio.
        rounded = (
            np.rint(ratio) if mode == "onnx" else math.copysign(math.floor(abs(ratio) + 0.5), ratio)
        )
        return int(zero_point + int(rounded))

    low = max(lo, quantize(0.0))
    high = min(hi, quantize(6.0)) if activation == "relu6" else hi
    return low, high


def narrow_accumulator(
    acc: IntArray, bits: int, overflow: Literal["wrap", "saturate"]
) -> tuple[I64, bool]:
    """Model a `bits`-wide signed accumulator: the narrowed values and whether any overflowed.

    ``wrap`` is two's-complement wrap-around (a plain adder); ``saturate`` clamps the final sum
    (per-partial-sum saturation would depend on the summation order, which is not modelled).
    """
    if not 2 <= bits <= 63:
        raise ValueError(f"accumulator bits must be in [2, 63], not {bits!r}")
    if overflow not in ("wrap", "saturate"):
        raise ValueError(f"overflow mode must be 'wrap' or 'saturate', not {overflow!r}")
    a = np.asarray(acc, dtype=np.int64)
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    overflowed = bool(np.any((a < lo) | (a > hi)))
    if overflow == "saturate":
        return np.clip(a, lo, hi), overflowed
    span = np.int64(1) << bits
    return ((a - lo) & (span - 1)) + lo, overflowed
