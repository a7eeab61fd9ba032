"""The element-wise unit: residual add and squeeze-excitation multiply of quantized tensors.

`onnx` variants reproduce onnxruntime's com.microsoft QLinearAdd / QLinearMul x86 kernels, which
compute in float32 (QLinearAdd with fused multiply-adds); `tflite` variants reproduce TFLite's
reference integer ADD / MUL with their fixed-point rescaling.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from accel.functional.requant import (
    convert_f32_to_i32,
    dtype_bounds,
    multiply_by_quantized_multiplier,
    quantize_multiplier,
    saturation_bounds,
)

IntArray = npt.NDArray[np.integer]
F32 = npt.NDArray[np.float32]


def fma_f32(a: npt.ArrayLike, b: npt.ArrayLike, c: npt.ArrayLike) -> F32:
    """Correctly rounded float32 fused multiply-add (x86 vfmadd) emulated in float64.

    a*b is exact in float64; the sum is rounded to odd (TwoSum gives the exact error) so the final
    float64 -> float32 rounding is a single correct rounding.
    """
    p = np.asarray(a, np.float32).astype(np.float64) * np.asarray(b, np.float32).astype(np.float64)
    c64 = np.asarray(c, np.float32).astype(np.float64)
    s = p + c64
    bb = s - p
    err = (p - (s - bb)) + (c64 - bb)
    even = (s.view(np.uint64) & np.uint64(1)) == 0
    s = np.where((err != 0) & even, np.nextafter(s, np.where(err > 0, np.inf, -np.inf)), s)
    return s.astype(np.float32)


def saturate_f32(r: F32, dtype: npt.DTypeLike) -> IntArray:
    # cvtps2dq then packssdw/packsswb (or packuswb): saturation at every narrowing step.
    lo, hi = dtype_bounds(dtype)
    return np.clip(convert_f32_to_i32(r), lo, hi).astype(dtype)


def _same_shape_and_dtype(a: IntArray, b: IntArray, op: str) -> tuple[IntArray, IntArray]:
    # The onnx kernels here serve same-shape operands; broadcasting is the caller's job.
    a_arr, b_arr = np.asarray(a), np.asarray(b)
    if a_arr.shape != b_arr.shape or a_arr.dtype != b_arr.dtype:
        raise ValueError(
            f"{op} inputs must match in shape and dtype, not {a_arr.shape!r} {b_arr.shape!r}"
        )
    return a_arr, b_arr


def qlinear_add_onnx(
    a: IntArray,
    a_scale: float,
    a_zero_point: int,
    b: IntArray,
    b_scale: float,
    b_zero_point: int,
    y_scale: float,
    y_zero_point: int,
) -> IntArray:
    """com.microsoft QLinearAdd for same-shape inputs, as MLAS's AVX2 kernel computes it:
    ``rne(fma(a, ra, fma(b, rb, y_zp - fma(ra, a_zp, rb*b_zp))))`` with ``ra = f32(a_s / y_s)``,
    on the raw codes a, b (the zero points are folded into the constant)."""
    a_arr, b_arr = _same_shape_and_dtype(a, b, "QLinearAdd")
    ra = np.float32(a_scale) / np.float32(y_scale)
    rb = np.float32(b_scale) / np.float32(y_scale)
    # The compiler contracts ``ra*a_zp + rb*b_zp`` into fma(ra, a_zp, rb*b_zp) (verified: the
    # uncontracted and the other-order forms each differ from ORT on some inputs).
    fixed = np.float32(y_zero_point) - fma_f32(
        ra, np.float32(a_zero_point), rb * np.float32(b_zero_point)
    )
    r = fma_f32(a_arr.astype(np.float32), ra, fma_f32(b_arr.astype(np.float32), rb, fixed))
    return saturate_f32(r, a_arr.dtype)


def qlinear_mul_onnx(
    a: IntArray,
    a_scale: float,
    a_zero_point: int,
    b: IntArray,
    b_scale: float,
    b_zero_point: int,
    y_scale: float,
    y_zero_point: int,
) -> IntArray:
    """com.microsoft QLinearMul (MLAS SSE2 kernel): the integer product of the centred inputs is
    converted to float32, ``* f32(f32(a_s*b_s)/y_s) + f32(y_zp)`` (no FMA), rounded half to even
    and saturated."""
    a_arr, b_arr = _same_shape_and_dtype(a, b, "QLinearMul")
    ratio = (np.float32(a_scale) * np.float32(b_scale)) / np.float32(y_scale)
    prod = (a_arr.astype(np.int32) - a_zero_point) * (b_arr.astype(np.int32) - b_zero_point)
    r = prod.astype(np.float32) * ratio + np.float32(y_zero_point)
    return saturate_f32(r, a_arr.dtype)


def add_tflite(
    a: IntArray,
    a_scale: float,
    a_zero_point: int,
    b: IntArray,
    b_scale: float,
    b_zero_point: int,
    y_scale: float,
    y_zero_point: int,
    *,
    act_min: int | None = None,
    act_max: int | None = None,
) -> IntArray:
    """TFLite reference int8 ADD: both inputs rescaled to 2*max(s_a, s_b) with a 20-bit left shift,
    summed, and rescaled to the output, each step a MultiplyByQuantizedMultiplier."""
    twice_max = float(2 * max(np.float32(a_scale), np.float32(b_scale)))
    left_shift = 20
    ma, sa = quantize_multiplier(float(np.float32(a_scale)) / twice_max)
    mb, sb = quantize_multiplier(float(np.float32(b_scale)) / twice_max)
    my, sy = quantize_multiplier(twice_max / float(np.float32(2**left_shift) * np.float32(y_scale)))
    va = (np.asarray(a, np.int64) - a_zero_point) << left_shift
    vb = (np.asarray(b, np.int64) - b_zero_point) << left_shift
    raw = multiply_by_quantized_multiplier(va, ma, sa) + multiply_by_quantized_multiplier(
        vb, mb, sb
    )
    out = multiply_by_quantized_multiplier(raw, my, sy) + y_zero_point
    lo, hi = saturation_bounds(np.asarray(a).dtype, act_min, act_max)
    return np.clip(out, lo, hi).astype(np.asarray(a).dtype)


def mul_tflite(
    a: IntArray,
    a_scale: float,
    a_zero_point: int,
    b: IntArray,
    b_scale: float,
    b_zero_point: int,
    y_scale: float,
    y_zero_point: int,
    *,
    act_min: int | None = None,
    act_max: int | None = None,
) -> IntArray:
    """TFLite reference int8 MUL: ``MBQM((a - a_zp) * (b - b_zp), QM(s_a * s_b / s_y)) + y_zp``."""
    real = float(np.float32(a_scale)) * float(np.float32(b_scale)) / float(np.float32(y_scale))
    m, s = quantize_multiplier(real)
    prod = (np.asarray(a, np.int64) - a_zero_point) * (np.asarray(b, np.int64) - b_zero_point)
    out = multiply_by_quantized_multiplier(prod, m, s) + y_zero_point
    lo, hi = saturation_bounds(np.asarray(a).dtype, act_min, act_max)
    return np.clip(out, lo, hi).astype(np.asarray(a).dtype)
