"""Integer CNN kernels: what the accelerator's datapath computes, bit for bit.

Each function takes quantized numpy arrays (NCHW, int8/uint8 activations, int8 per-output-channel
weights) and returns either the raw integer accumulators of the MAC array (`conv2d_accumulate`,
`matmul_accumulate`; requantize them with `accel.functional.requant`) or the quantized output of a
fixed-function unit (pooling, element-wise add/mul, lookup-table activations, concat).

`onnx` variants reproduce onnxruntime's x86 CPU kernels exactly, including where those kernels
compute in float32 (QLinearAdd/Mul/AveragePool, lookup tables); `tflite` variants reproduce
TFLite's reference integer kernels. See /work/notes/functional.md for the verified semantics.

Conv/matmul accumulate int8 x int8 products in float64 BLAS: every partial sum is an integer below
2**53 while K < 2**38, so the result is exact and as fast as a float GEMM.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import as_strided

from accel.functional.requant import (
    dequantize_linear,
    dtype_bounds,
    multiply_by_quantized_multiplier,
    quantize_linear,
    quantize_multiplier,
    requantize_onnx,
)

IntArray = npt.NDArray[np.integer]
I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]
Pads = tuple[int, int, int, int]  # top, bottom, left, right


def _pair(value: Sequence[int], what: str, minimum: int) -> tuple[int, int]:
    vals = tuple(int(v) for v in value)
    if len(vals) != 2 or min(vals) < minimum:
        raise ValueError(f"{what} must be two integers >= {minimum}, not {value!r}")
    return vals[0], vals[1]


def _pads(pads: Sequence[int]) -> Pads:
    vals = tuple(int(p) for p in pads)
    if len(vals) != 4 or min(vals) < 0:
        raise ValueError(
            f"pads must be four integers [top, bottom, left, right] >= 0, not {pads!r}"
        )
    return vals[0], vals[1], vals[2], vals[3]


def _check_nchw(x: npt.ArrayLike, what: str) -> npt.NDArray[Any]:
    arr = np.asarray(x)
    if arr.ndim != 4:
        raise ValueError(f"{what} must be a 4-D NCHW array, not shape {arr.shape!r}")
    return arr


def pool_output_size(
    size: int,
    kernel: int,
    stride: int,
    pad_head: int,
    pad_tail: int,
    dilation: int,
    ceil_mode: bool,
) -> int:
    """Output length of a conv/pool window sweep (ONNX formula; ceil_mode drops a last window
    that would start inside the tail padding, as onnxruntime does)."""
    span = size + pad_head + pad_tail - ((kernel - 1) * dilation + 1)
    if span < 0:
        raise ValueError(f"padded input must cover the window, not {size + pad_head + pad_tail!r}")
    if not ceil_mode:
        return span // stride + 1
    out = -(-span // stride) + 1
    if (out - 1) * stride >= size + pad_head:
        out -= 1
    return out


def _windows(
    xp: npt.NDArray[np.generic],
    kernel: tuple[int, int],
    strides: tuple[int, int],
    dilations: tuple[int, int],
    out_hw: tuple[int, int],
) -> npt.NDArray[np.generic]:
    # View (N, C, KH, KW, OH, OW) of a padded NCHW array; no copy.
    s = xp.strides
    shape = (xp.shape[0], xp.shape[1], kernel[0], kernel[1], out_hw[0], out_hw[1])
    view_strides = (
        s[0],
        s[1],
        s[2] * dilations[0],
        s[3] * dilations[1],
        s[2] * strides[0],
        s[3] * strides[1],
    )
    return as_strided(xp, shape=shape, strides=view_strides, writeable=False)


def _pad_to_windows(
    x: npt.NDArray[np.generic],
    pads: Pads,
    kernel: tuple[int, int],
    strides: tuple[int, int],
    dilations: tuple[int, int],
    out_hw: tuple[int, int],
    fill: float | int,
) -> npt.NDArray[np.generic]:
    # Pad head as asked and the tail exactly as far as the last window reaches (ceil_mode may need
    # more than the declared tail padding; those taps are never valid and hold `fill`).
    h, w = x.shape[2], x.shape[3]
    need_h = (out_hw[0] - 1) * strides[0] + (kernel[0] - 1) * dilations[0] + 1
    need_w = (out_hw[1] - 1) * strides[1] + (kernel[1] - 1) * dilations[1] + 1
    tail_h, tail_w = need_h - h - pads[0], need_w - w - pads[2]
    xp = np.pad(
        x,
        ((0, 0), (0, 0), (pads[0], max(tail_h, 0)), (pads[2], max(tail_w, 0))),
        constant_values=fill,
    )
    return xp[:, :, : pads[0] + h + tail_h, : pads[2] + w + tail_w]


# ------------------------------------------------------------------------------ MAC array


def conv2d_accumulate(
    x: IntArray,
    x_zero_point: int,
    w: IntArray,
    bias: IntArray | None = None,
    *,
    strides: Sequence[int] = (1, 1),
    pads: Sequence[int] = (0, 0, 0, 0),
    dilations: Sequence[int] = (1, 1),
    groups: int = 1,
    w_zero_point: int = 0,
) -> I64:
    """Exact accumulators ``sum((x - x_zp) * (w - w_zp)) + bias`` of a grouped 2-D convolution.

    x: (N, C, H, W); w: (M, C/groups, KH, KW); bias: (M,) int32 at scale x_s*w_s[o].
    Padding taps equal x_zp, so they contribute zero. Returns int64 (N, M, OH, OW).
    """
    x, w = _check_nchw(x, "conv input"), _check_nchw(w, "conv weight")
    st, dl, pd = _pair(strides, "strides", 1), _pair(dilations, "dilations", 1), _pads(pads)
    (n, c, h, wd), (m, cg, kh, kw) = x.shape, w.shape
    if groups < 1 or c != cg * groups or m % groups:
        raise ValueError(
            f"groups must divide channels {(c, m)!r} with C/groups = {cg}, not {groups!r}"
        )
    oh = pool_output_size(h, kh, st[0], pd[0], pd[1], dl[0], False)
    ow = pool_output_size(wd, kw, st[1], pd[2], pd[3], dl[1], False)
    xp = np.pad(x.astype(np.float64) - x_zero_point, ((0, 0), (0, 0), pd[:2], pd[2:]))
    win = _windows(xp, (kh, kw), st, dl, (oh, ow))  # (N, C, KH, KW, OH, OW)
    win = win.reshape(n, groups, cg, kh, kw, oh, ow)
    cols = win.transpose(1, 0, 5, 6, 2, 3, 4).reshape(groups, n * oh * ow, cg * kh * kw)
    wf = (w.astype(np.float64) - w_zero_point).reshape(groups, m // groups, cg * kh * kw)
    out = np.matmul(cols, wf.transpose(0, 2, 1))  # exact: integer partial sums < 2**53
    out = out.reshape(groups, n, oh, ow, m // groups).transpose(1, 0, 4, 2, 3)
    acc: I64 = out.reshape(n, m, oh, ow).astype(np.int64)
    if bias is not None:
        acc += np.asarray(bias, dtype=np.int64).reshape(1, m, 1, 1)
    return acc


def matmul_accumulate(
    a: IntArray,
    a_zero_point: int,
    b: IntArray,
    b_zero_point: npt.ArrayLike = 0,
    bias: IntArray | None = None,
) -> I64:
    """Exact ``(a - a_zp) @ (b - b_zp) + bias`` for a: (..., M, K), b: (K, N) (QLinearMatMul/Gemm).

    b_zero_point may be per column (N,). For a fully-connected layer with weights (out, in), pass
    ``b = w.T``.
    """
    a_arr, b_arr = np.asarray(a), np.asarray(b)
    if b_arr.ndim != 2 or a_arr.shape[-1] != b_arr.shape[0]:
        raise ValueError(
            f"matmul shapes must be (..., K) x (K, N), not {a_arr.shape!r} x {b_arr.shape!r}"
        )
    af = a_arr.astype(np.float64) - a_zero_point
    bf = b_arr.astype(np.float64) - np.asarray(b_zero_point, dtype=np.float64)
    acc: I64 = np.matmul(af, bf).astype(np.int64)
    if bias is not None:
        acc += np.asarray(bias, dtype=np.int64)
    return acc


# -------------------------------------------------------------------------------- pooling


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
    x = _check_nchw(x, "maxpool input")
    k, st, dl = (
        _pair(kernel, "kernel", 1),
        _pair(strides, "strides", 1),
        _pair(dilations, "dilations", 1),
    )
    pd = _pads(pads)
    oh = pool_output_size(x.shape[2], k[0], st[0], pd[0], pd[1], dl[0], ceil_mode)
    ow = pool_output_size(x.shape[3], k[1], st[1], pd[2], pd[3], dl[1], ceil_mode)
    fill = np.iinfo(x.dtype).min
    xp = _pad_to_windows(x, pd, k, st, dl, (oh, ow), fill)
    return np.asarray(_windows(xp, k, st, dl, (oh, ow)).max(axis=(2, 3)))


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
    x = _check_nchw(x, "avgpool input")
    k, st, pd = _pair(kernel, "kernel", 1), _pair(strides, "strides", 1), _pads(pads)
    if k == x.shape[2:] and pd == (0, 0, 0, 0):
        return global_avgpool_onnx(x, x_scale, x_zero_point, y_scale, y_zero_point)
    oh = pool_output_size(x.shape[2], k[0], st[0], pd[0], pd[1], 1, ceil_mode)
    ow = pool_output_size(x.shape[3], k[1], st[1], pd[2], pd[3], 1, ceil_mode)
    xf = dequantize_linear(x, x_scale, x_zero_point)
    win = _windows(_pad_to_windows(xf, pd, k, st, (1, 1), (oh, ow), 0.0), k, st, (1, 1), (oh, ow))
    total = np.zeros(win.shape[:2] + win.shape[4:], dtype=np.float32)
    for i in range(k[0]):  # float32 addition in ORT's order; padded taps add +0.0 (a no-op)
        for j in range(k[1]):
            np.add(total, win[:, :, i, j], out=total)
    if count_include_pad:
        count = np.full((oh, ow), k[0] * k[1], dtype=np.float32)
    else:
        ch = _valid_counts(x.shape[2], k[0], st[0], pd[0], oh)
        cw = _valid_counts(x.shape[3], k[1], st[1], pd[2], ow)
        count = np.outer(ch, cw).astype(np.float32)
    mean = total / count
    return _quantize_add_zp(mean, y_scale, y_zero_point, x.dtype)


def _quantize_add_zp(v: F32, scale: float, zero_point: int, dtype: npt.DTypeLike) -> IntArray:
    # ORT pool epilogue: nearbyintf(v / scale + zp), then clamp in int32 (zp added in float32).
    lo, hi = dtype_bounds(dtype)
    f = np.asarray(v, np.float32) / np.float32(scale) + np.float32(zero_point)
    return np.clip(_cvt_f32_to_i32(f), lo, hi).astype(dtype)


def _cvt_f32_to_i32(f: F32) -> I64:
    # x86 cvtps2dq: round half to even; NaN and out-of-range give INT32_MIN ("integer indefinite").
    f64 = np.asarray(f, dtype=np.float64)
    bad = ~np.isfinite(f64) | (np.abs(f64) >= 2.0**31)
    return np.where(bad, -(2**31), np.rint(np.where(bad, 0.0, f64))).astype(np.int64)


def global_avgpool_onnx(
    x: IntArray, x_scale: float, x_zero_point: int, y_scale: float, y_zero_point: int
) -> IntArray:
    """com.microsoft QLinearGlobalAveragePool (NCHW): integer sum, then MlasRequantizeOutput with
    scale ``f32(x_s / f32(y_s * f32(H*W)))``; output shape (N, C, 1, 1)."""
    x = _check_nchw(x, "global avgpool input")
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
    x = _check_nchw(x, "avgpool input")
    k, st, pd = _pair(kernel, "kernel", 1), _pair(strides, "strides", 1), _pads(pads)
    oh = pool_output_size(x.shape[2], k[0], st[0], pd[0], pd[1], 1, False)
    ow = pool_output_size(x.shape[3], k[1], st[1], pd[2], pd[3], 1, False)
    xp = _pad_to_windows(x.astype(np.int64), pd, k, st, (1, 1), (oh, ow), 0)
    total = _windows(xp, k, st, (1, 1), (oh, ow)).sum(axis=(2, 3))
    ch = _valid_counts(x.shape[2], k[0], st[0], pd[0], oh)
    cw = _valid_counts(x.shape[3], k[1], st[1], pd[2], ow)
    count = np.outer(ch, cw)
    # C++ integer division truncates toward zero; rounding is done by the +-count/2 nudge.
    nudged = np.where(total > 0, total + count // 2, total - count // 2)
    avg = np.sign(nudged) * (np.abs(nudged) // count)
    lo, hi = dtype_bounds(x.dtype)
    lo, hi = (
        max(lo, act_min if act_min is not None else lo),
        min(hi, act_max if act_max is not None else hi),
    )
    out: IntArray = np.clip(avg, lo, hi).astype(x.dtype)
    return out


# ------------------------------------------------------------------------ element-wise ops


def _fma_f32(a: npt.ArrayLike, b: npt.ArrayLike, c: npt.ArrayLike) -> F32:
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


def _saturate(r: F32, dtype: npt.DTypeLike) -> IntArray:
    # cvtps2dq then packssdw/packsswb (or packuswb): saturation at every narrowing step.
    lo, hi = dtype_bounds(dtype)
    return np.clip(_cvt_f32_to_i32(r), lo, hi).astype(dtype)


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
    a_arr, b_arr = np.asarray(a), np.asarray(b)
    if a_arr.shape != b_arr.shape or a_arr.dtype != b_arr.dtype:
        raise ValueError(
            f"QLinearAdd inputs must match in shape and dtype, not {a_arr.shape!r} {b_arr.shape!r}"
        )
    ra = np.float32(a_scale) / np.float32(y_scale)
    rb = np.float32(b_scale) / np.float32(y_scale)
    # The compiler contracts ``ra*a_zp + rb*b_zp`` into fma(ra, a_zp, rb*b_zp) (verified: the
    # uncontracted and the other-order forms each differ from ORT on some inputs).
    fixed = np.float32(y_zero_point) - _fma_f32(
        ra, np.float32(a_zero_point), rb * np.float32(b_zero_point)
    )
    r = _fma_f32(a_arr.astype(np.float32), ra, _fma_f32(b_arr.astype(np.float32), rb, fixed))
    return _saturate(r, a_arr.dtype)


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
    a_arr, b_arr = np.asarray(a), np.asarray(b)
    if a_arr.shape != b_arr.shape or a_arr.dtype != b_arr.dtype:
        raise ValueError(
            f"QLinearMul inputs must match in shape and dtype, not {a_arr.shape!r} {b_arr.shape!r}"
        )
    ratio = (np.float32(a_scale) * np.float32(b_scale)) / np.float32(y_scale)
    prod = (a_arr.astype(np.int32) - a_zero_point) * (b_arr.astype(np.int32) - b_zero_point)
    r = prod.astype(np.float32) * ratio + np.float32(y_zero_point)
    return _saturate(r, a_arr.dtype)


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
    lo, hi = dtype_bounds(np.asarray(a).dtype)
    lo, hi = (
        max(lo, act_min if act_min is not None else lo),
        min(hi, act_max if act_max is not None else hi),
    )
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
    lo, hi = dtype_bounds(np.asarray(a).dtype)
    lo, hi = (
        max(lo, act_min if act_min is not None else lo),
        min(hi, act_max if act_max is not None else hi),
    )
    return np.clip(out, lo, hi).astype(np.asarray(a).dtype)


# ------------------------------------------------------------------ lookup-table activations


def mlas_logistic(x: npt.ArrayLike) -> F32:
    """MlasComputeLogistic on x86 with FMA3 (MlasLogisticKernelFma3): Eigen's rational
    approximation on x clamped to [-18, 18], evaluated with fused multiply-adds, floored at 0."""
    c = {k: np.float32(v) for k, v in _LOGISTIC.items()}
    v = np.minimum(c["hi"], np.maximum(c["lo"], np.asarray(x, np.float32)))
    v2 = v * v
    p = _fma_f32(v2, c["a9"], c["a7"])
    for name in ("a5", "a3", "a1"):
        p = _fma_f32(v2, p, c[name])
    q = _fma_f32(v2, c["b10"], c["b8"])
    for name in ("b6", "b4", "b2", "b0"):
        q = _fma_f32(v2, q, c[name])
    r = (v * p) / q + np.float32(0.5)
    out: F32 = np.maximum(np.float32(0.0), r)
    return out


_LOGISTIC = {
    "lo": -18.0,
    "hi": 18.0,
    "a9": 4.37031012579801e-11,
    "a7": 1.15627324459942e-07,
    "a5": 6.08574864600143e-05,
    "a3": 8.51377133304701e-03,
    "a1": 2.48287947061529e-01,
    "b10": 6.10247389755681e-13,
    "b8": 5.76102136993427e-09,
    "b6": 6.29106785017040e-06,
    "b4": 1.70198817374094e-03,
    "b2": 1.16817656904453e-01,
    "b0": 9.93151921023180e-01,
}


def build_lookup_table(
    fn: Callable[[F32], F32],
    x_scale: float,
    x_zero_point: int,
    y_scale: float,
    y_zero_point: int,
    dtype: npt.DTypeLike,
) -> IntArray:
    """ORT's QlinearBuildLookupTable: entry i is ``Q(fn(DQ(T(i))))``, indexed by the raw byte."""
    codes = np.arange(256, dtype=np.uint8).view(np.dtype(dtype))
    return quantize_linear(
        fn(dequantize_linear(codes, x_scale, x_zero_point)), y_scale, y_zero_point, dtype
    )


def apply_lookup_table(x: IntArray, table: IntArray) -> IntArray:
    """Per-element table lookup by raw byte value (int8 codes index as their uint8 bit pattern)."""
    xa = np.asarray(x)
    return np.asarray(table)[xa.view(np.uint8)]


def qlinear_sigmoid_onnx(
    x: IntArray, x_scale: float, x_zero_point: int, y_scale: float, y_zero_point: int
) -> IntArray:
    """com.microsoft QLinearSigmoid (== DequantizeLinear -> Sigmoid -> QuantizeLinear in ORT)."""
    table = build_lookup_table(
        mlas_logistic, x_scale, x_zero_point, y_scale, y_zero_point, np.asarray(x).dtype
    )
    return apply_lookup_table(x, table)


def qlinear_leaky_relu_onnx(
    x: IntArray,
    x_scale: float,
    x_zero_point: int,
    y_scale: float,
    y_zero_point: int,
    alpha: float = 0.01,
) -> IntArray:
    """com.microsoft QLinearLeakyRelu: table of ``v >= 0 ? v : f32(alpha * v)``."""
    a = np.float32(alpha)
    table = build_lookup_table(
        lambda v: np.where(v >= 0, v, a * v).astype(np.float32),
        x_scale,
        x_zero_point,
        y_scale,
        y_zero_point,
        np.asarray(x).dtype,
    )
    return apply_lookup_table(x, table)


def hard_sigmoid_f32(v: F32, alpha: float = 1.0 / 6.0, beta: float = 0.5) -> F32:
    """ORT float HardSigmoid: ``clamp(f32(f32(alpha * v) + beta), 0, 1)`` (no FMA)."""
    t = np.float32(alpha) * np.asarray(v, np.float32) + np.float32(beta)
    out: F32 = np.minimum(np.maximum(t, np.float32(0.0)), np.float32(1.0))
    return out


def hard_swish_f32(v: F32) -> F32:
    """ORT float HardSwish: ``v * HardSigmoid(v)`` with alpha = f32(1/6), beta = 0.5."""
    return np.asarray(v, np.float32) * hard_sigmoid_f32(v)


def hard_swish_onnx(
    x: IntArray, x_scale: float, x_zero_point: int, y_scale: float, y_zero_point: int
) -> IntArray:
    """DequantizeLinear -> HardSwish -> QuantizeLinear (ORT has no QLinear h-swish op)."""
    table = build_lookup_table(
        hard_swish_f32, x_scale, x_zero_point, y_scale, y_zero_point, np.asarray(x).dtype
    )
    return apply_lookup_table(x, table)


def hard_sigmoid_onnx(
    x: IntArray, x_scale: float, x_zero_point: int, y_scale: float, y_zero_point: int
) -> IntArray:
    """DequantizeLinear -> HardSigmoid(1/6, 0.5) -> QuantizeLinear."""
    table = build_lookup_table(
        hard_sigmoid_f32, x_scale, x_zero_point, y_scale, y_zero_point, np.asarray(x).dtype
    )
    return apply_lookup_table(x, table)


def concat_onnx(
    inputs: Sequence[tuple[IntArray, float, int]], y_scale: float, y_zero_point: int, axis: int = 1
) -> IntArray:
    """com.microsoft QLinearConcat: inputs whose (scale, zp) equal the output's are copied, others
    are requantized through ``Q(DQ(x))`` lookup tables (float32 multiply, then divide)."""
    if not inputs:
        raise ValueError(f"concat inputs must be non-empty, not {inputs!r}")
    dtype = np.asarray(inputs[0][0]).dtype
    parts = []
    for q, s, zp in inputs:
        if np.float32(s) == np.float32(y_scale) and zp == y_zero_point:
            parts.append(np.asarray(q))
        else:
            table = build_lookup_table(lambda v: v, s, zp, y_scale, y_zero_point, dtype)
            parts.append(apply_lookup_table(q, table))
    return np.concatenate(parts, axis=axis)
