"""The vector unit's PReLU and tanh on quantized NCHW tensors, in each reference's arithmetic
(the activations detection/segmentation models add beside resize, `accel.functional.resample`).

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

IntArray = npt.NDArray[np.integer]
F32 = npt.NDArray[np.float32]

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
