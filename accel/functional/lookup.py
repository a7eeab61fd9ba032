"""Per-element activations as 256-entry lookup tables, and channel concatenation.

A quantized activation function of one int8/uint8 input has only 256 possible inputs, so the
hardware evaluates it as a table indexed by the raw byte (int8 codes by their uint8 bit pattern).
The tables here are built exactly as onnxruntime builds them (``Q(f(DQ(code)))``), with `f` the
float32 function onnxruntime's CPU kernels compute (MLAS's logistic, HardSwish, HardSigmoid).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from accel.functional.elementwise import fma_f32
from accel.functional.requant import convert_f32_to_i32, dequantize_linear, quantize_linear

IntArray = npt.NDArray[np.integer]
F32 = npt.NDArray[np.float32]


def mlas_logistic(x: npt.ArrayLike) -> F32:
    """MlasComputeLogistic on x86 with FMA3 (MlasLogisticKernelFma3): Eigen's rational
    approximation on x clamped to [-18, 18], evaluated with fused multiply-adds, floored at 0."""
    c = {k: np.float32(v) for k, v in _LOGISTIC.items()}
    v = np.minimum(c["hi"], np.maximum(c["lo"], np.asarray(x, np.float32)))
    v2 = v * v
    p = fma_f32(v2, c["a9"], c["a7"])
    for name in ("a5", "a3", "a1"):
        p = fma_f32(v2, p, c[name])
    q = fma_f32(v2, c["b10"], c["b8"])
    for name in ("b6", "b4", "b2", "b0"):
        q = fma_f32(v2, q, c[name])
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
    return _lookup(mlas_logistic, x, x_scale, x_zero_point, y_scale, y_zero_point)


def leaky_relu_f32(v: F32, alpha: float) -> F32:
    """ORT float LeakyRelu: ``v >= 0 ? v : f32(alpha * v)``."""
    out: F32 = np.where(v >= 0, v, np.float32(alpha) * v).astype(np.float32)
    return out


def qlinear_leaky_relu_onnx(
    x: IntArray,
    x_scale: float,
    x_zero_point: int,
    y_scale: float,
    y_zero_point: int,
    alpha: float = 0.01,
) -> IntArray:
    """com.microsoft QLinearLeakyRelu: a table of `leaky_relu_f32`."""
    return _lookup(
        lambda v: leaky_relu_f32(v, alpha), x, x_scale, x_zero_point, y_scale, y_zero_point
    )


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
    return _lookup(hard_swish_f32, x, x_scale, x_zero_point, y_scale, y_zero_point)


def hard_sigmoid_onnx(
    x: IntArray, x_scale: float, x_zero_point: int, y_scale: float, y_zero_point: int
) -> IntArray:
    """DequantizeLinear -> HardSigmoid(1/6, 0.5) -> QuantizeLinear."""
    return _lookup(hard_sigmoid_f32, x, x_scale, x_zero_point, y_scale, y_zero_point)


def _lookup(
    fn: Callable[[F32], F32],
    x: IntArray,
    x_scale: float,
    x_zero_point: int,
    y_scale: float,
    y_zero_point: int,
) -> IntArray:
    # DQ -> fn -> Q of every element, through the 256-entry table of x's type.
    dtype = np.asarray(x).dtype
    table = build_lookup_table(fn, x_scale, x_zero_point, y_scale, y_zero_point, dtype)
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


def softmax_onnx(
    x: IntArray, x_scale: float, y_scale: float, y_zero_point: int, axis: int = 1
) -> IntArray:
    """com.microsoft QLinearSoftmax (opset-13 semantics: along `axis`) as onnxruntime computes it.

    The exponentials come from a 256-entry float32 table, ``exp((d + shift) * x_s)`` in double for
    the distance d = x - max(x) <= 0 (x's zero point cancels), with ``shift`` chosen so the sum
    of D entries cannot overflow float32. The sum runs in float32 in element order; each output is
    ``rne(f32(f32(t / sum) * floor(1 / y_s))) + y_zp``, saturated at the top of the type.
    Dividing first differs from onnxruntime 1.32 on 10 of 640,000 random rows, multiplying first
    (``t * floor(1/y_s) / sum``) on 1,024: .5 ties, and one-element rows whose product overflows
    float32 (`python benchmarks/softmax_order.py 40000`). The last 10 are not explained yet.
    """
    arr = np.asarray(x)
    rows = np.moveaxis(arr, axis, -1)
    d = rows.shape[-1]
    table = _softmax_exp_table(x_scale, d)
    flat = rows.reshape(-1, d).astype(np.int64)
    t = table[flat - flat.max(axis=1, keepdims=True) + 255]
    total = np.zeros(t.shape[0], dtype=np.float32)
    for j in range(d):  # sequential float32 accumulation, as the C++ loop
        total += t[:, j]
    inverse = np.floor(np.float32(1.0) / np.float32(y_scale))
    top = np.iinfo(arr.dtype).max
    ratio = ((t / total[:, None]).astype(np.float32) * inverse).astype(np.float32)
    q = convert_f32_to_i32(ratio) + y_zero_point
    out = np.minimum(q, top).astype(arr.dtype)
    return np.moveaxis(out.reshape(rows.shape), -1, axis)


def _softmax_exp_table(x_scale: float, length: int) -> F32:
    # QlinearBuildLookupTableUint32 with float entries: entry i is exp((i - 255 + shift) * x_s).
    # The C++ computes FLT_MAX / length in float32 and the rest in double via libm (math.exp/log).
    quotient = float(np.float32(np.finfo(np.float32).max) / np.float32(length))
    shift = max(0.0, math.log(quotient) - 5.0) / float(np.float32(x_scale))
    xs = float(np.float32(x_scale))
    return np.array([math.exp(((i - 255) + shift) * xs) for i in range(256)]).astype(np.float32)
