"""TFLite's int8 kernels that move codes from one quantization to another: MEAN and QUANTIZE.

In hardware both are a post-processing pass of the vector unit: an integer sum (MEAN) or a
single code (QUANTIZE) minus the input zero point, one fixed-point multiply and shift, plus the
output zero point, saturated.

* MEAN over height and width (`reference_ops::QuantizedMeanOrSum`, what tflite-micro and
  LiteRT's reference resolver both run for int8, whether or not the quantizations differ and
  whatever keep_dims): the multiplier of ``s_x / s_y`` (QuantizeMultiplier, double) absorbs
  1/n as ``(m << k) // n`` with ``k = min(floor(log2 n), 32, 31 + shift)`` and the shift drops
  by k; the centred sum ``sum - zp_x·n`` then goes through MultiplyByQuantizedMultiplier.
  This is not AVERAGE_POOL_2D's ``round(sum / n)``: the two can differ by one.
* QUANTIZE of int8 codes to another int8 quantization (`reference_ops::Requantize`):
  ``MBQM(x - zp_x, QM(s_x / s_y)) + zp_y``. TFLite's int8 CONCATENATION requires every input
  quantized like the output, so converters put a QUANTIZE in front of each input that is not.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from accel.functional.requant import (
    dtype_bounds,
    multiply_by_quantized_multiplier,
    quantize_multiplier,
)

IntArray = npt.NDArray[np.integer]


def mean_multiplier(x_scale: float, y_scale: float, count: int) -> tuple[int, int]:
    """QuantizedMeanOrSum's (multiplier, shift) for a mean of `count` elements."""
    multiplier, shift = quantize_multiplier(float(np.float32(x_scale)) / float(np.float32(y_scale)))
    absorbed = min(int(count).bit_length() - 1, 32, 31 + shift)
    return (multiplier << absorbed) // count, shift - absorbed


def mean_tflite(
    x: IntArray, x_scale: float, x_zero_point: int, y_scale: float, y_zero_point: int,
    axes: tuple[int, ...] = (2, 3),
) -> IntArray:
    """TFLite int8 MEAN (QuantizedMeanOrSum) over `axes` of an NCHW tensor, kept as size 1 (by
    default the spatial axes: (N, C, 1, 1)): the sum of x − zp rescaled once by input / output
    scale with 1/count folded into the multiplier."""
    arr = np.asarray(x)
    count = int(np.prod([arr.shape[axis] for axis in axes]))
    multiplier, shift = mean_multiplier(x_scale, y_scale, count)
    total = arr.astype(np.int64).sum(axis=axes, keepdims=True) - x_zero_point * count
    lo, hi = dtype_bounds(arr.dtype)
    out = multiply_by_quantized_multiplier(total, multiplier, shift) + y_zero_point
    return np.clip(out, lo, hi).astype(arr.dtype)


def requantize_tflite_codes(
    x: IntArray, x_scale: float, x_zero_point: int, y_scale: float, y_zero_point: int
) -> IntArray:
    """TFLite QUANTIZE from int8 codes to int8 codes of another scale and zero point."""
    arr = np.asarray(x)
    real = float(np.float32(x_scale)) / float(np.float32(y_scale))
    multiplier, shift = quantize_multiplier(real)
    centred = arr.astype(np.int64) - x_zero_point
    lo, hi = dtype_bounds(arr.dtype)
    out = multiply_by_quantized_multiplier(centred, multiplier, shift) + y_zero_point
    return np.clip(out, lo, hi).astype(arr.dtype)
