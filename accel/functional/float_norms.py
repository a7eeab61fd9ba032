"""Normalisations onnxruntime computes in float32 between quantized tensors: BatchNormalization
and LRN, bit for bit as its CPU kernels do (x86, one intra-op thread).

No quantizer fuses these into an integer kernel: a BatchNormalization left after a quantized
conv (a model quantized without folding it first) or before one (DenseNet's pre-activation
BN), and AlexNet's and GoogLeNet's LRN, run in float32 on dequantized codes.
- BatchNormalization (inference): per channel `inv_std = 1 / sqrt(var + epsilon)`,
  `scale' = inv_std · scale`, `bias' = bias - mean · scale'`, then `y = x · scale' + bias'`,
  every step rounded to float32, no fused multiply-add (Eigen, built without FMA).
  When a float Conv with constant weights feeds a BatchNormalization with constant inputs,
  onnxruntime instead folds it into the conv at load time (ConvBNFusion) with other roundings:
  `s = scale / sqrt(var + epsilon)` (a division), `w' = w · s`, `b' = (b - mean) · s + bias`.
- LRN: the running sum of squares over `size` channels, as onnxruntime keeps it — per channel
  the previous channel's sum plus the entering channel's squares times alpha/size, plus the
  leaving channel's squares times -alpha/size (both rounded, no FMA), starting from `bias` —
  then `y = x · sum ** -beta`, the power as Eigen evaluates it
  (`accel.functional.kernels.eigen_pow`).
  The power's rounding depends on where an element falls in the whole (N, C, H, W) tensor
  (Eigen's packets of four), so the batch must be computed as one tensor, as the engine does.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from accel.functional.kernels.eigen_pow import eigen_pow
from accel.model.quantized import BatchNormConstants

F32 = npt.NDArray[np.float32]


def batch_norm(x: F32, constants: BatchNormConstants) -> F32:
    """BatchNormalization of an NCHW float32 tensor (inference mode)."""
    multiplier, addend = constants.folded()
    shape = (1, -1) + (1,) * (np.ndim(x) - 2)
    product = np.multiply(x, multiplier.reshape(shape), dtype=np.float32)
    return np.add(product, addend.reshape(shape), dtype=np.float32)


def lrn(x: F32, size: int, alpha: float, beta: float, bias: float) -> F32:
    """LRN across channels of an NCHW float32 tensor."""
    x = np.ascontiguousarray(x, np.float32)
    channels = x.shape[1]
    before = (size - 1) // 2
    step = np.divide(np.float32(alpha), np.float32(size), dtype=np.float32)
    squares = np.zeros((x.shape[0], channels + size - 1, *x.shape[2:]), np.float32)
    squares[:, before : before + channels] = np.multiply(x, x, dtype=np.float32)
    running = np.full((x.shape[0], *x.shape[2:]), np.float32(bias), np.float32)
    for channel in range(size):
        running = np.add(running, np.multiply(step, squares[:, channel], dtype=np.float32),
                         dtype=np.float32)  # fmt: skip
    sums = np.empty_like(x)
    sums[:, 0] = running
    for channel in range(1, channels):
        entering = np.multiply(step, squares[:, channel + size - 1], dtype=np.float32)
        leaving = np.multiply(-step, squares[:, channel - 1], dtype=np.float32)
        running = np.add(np.add(running, entering, dtype=np.float32), leaving, dtype=np.float32)
        sums[:, channel] = running
    return np.multiply(x, eigen_pow(sums, -float(np.float32(beta))), dtype=np.float32)
