"""The vector unit's part of a float training step: pooling, activations, residual adds and the
softmax cross-entropy loss, forward and backward, in fp32 on operands in the chip's format.

Conventions (each one is what JAX's autograd does, so the check can demand equal bits):

- Max pooling keeps, per window, the index of its first maximum in (kernel row, kernel column)
  order (padding taps are −inf and never win): the backward pass adds each output gradient to
  that tap's input pixel. Ties therefore go to the earliest tap, as XLA's select-and-scatter with
  a `≥` select does for `jax.lax.reduce_window` max.
- Average pooling sums its taps one after the other in (row, column) order in fp32 and divides
  by the count (the valid taps, or the whole window with `count_include_pad`); its backward
  divides dY by the count and adds it to every tap's pixel, tap after tap.
- Global average pooling sums the plane in (row, column) order and divides by its size.
- ReLU passes the gradient where x > 0 (0 at x = 0, as `jax.nn.relu`), ReLU6 where 0 < x < 6
  (`jax.nn.relu6`), leaky ReLU where x ≥ 0 and α·dY elsewhere (`jnp.where(x >= 0, x, αx)`).
  hsigmoid is `relu6(x + 3) / 6` with gradient dY / 6 where 0 < x + 3 < 6; hswish `x · h` with
  gradient `dY·h + (dY·x) / 6` there and `dY·h` elsewhere (`jax.nn.hard_sigmoid`,
  `jax.nn.hard_swish`); sigmoid `1 / (1 + e^−x)` (e^−x as the fp32 rounding of float64 exp),
  gradient `dY · (s · (1 − s))` from its fp32 output s. Their rounding differs from JAX's
  (a division against a reciprocal multiply, XLA's own exp), so they agree within a bound.
- The loss is the mean over the batch of softmax cross-entropy: per image `m = max z`,
  `e = exp(z − m)` (the fp32 rounding of the float64 exp), `s = Σ e` one class after the
  other, `loss = log s + m − z[target]`; its gradient `(e / s − onehot) / batch`.

Overlapping pooling windows add several gradients into one pixel: accel adds them in tap
order, JAX in an order of its own, so those pixels agree within the rounding bound only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from accel.functional.float_gemm import crop_plane
from accel.functional.geometry import Pads, pad_to_windows, windows
from accel.model.network import Layer
from accel.model.ops import Activation
from accel.model.pool_ops import AvgPool, MaxPool

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
Backward = Callable[[F32], F32]
SUPPORTED_ACTIVATIONS = ("relu", "relu6", "leaky_relu", "hsigmoid", "hswish", "sigmoid")


def _pool_windows(layer: Layer, x: F32, fill: float) -> tuple[F32, Pads, tuple[int, int]]:
    """(taps (B, C, kh·kw, Ho, Wo), fitted pads, padded plane size) of a pooling layer."""
    op = layer.op
    assert isinstance(op, MaxPool | AvgPool)
    out = layer.output_shape
    pads = op.fitted_pads(x.shape[2], x.shape[3])
    out_hw = (out.height, out.width)
    xp = pad_to_windows(x, pads, op.kernel, op.stride, op.dilation, out_hw, fill)
    win = windows(xp.astype(np.float32), op.kernel, op.stride, op.dilation, out_hw)
    taps = win.reshape(x.shape[0], x.shape[1], op.kernel[0] * op.kernel[1], *out_hw)
    plane = (x.shape[2] + pads[0] + pads[1], x.shape[3] + pads[2] + pads[3])
    return taps, pads, plane


def _scatter_taps(layer: Layer, per_tap: Callable[[int], F32], shape: tuple[int, ...],
                  pads: Pads, plane: tuple[int, int]) -> F32:  # fmt: skip
    """Each tap's (B, C, Ho, Wo) gradient added into its input pixels, tap after tap."""
    op = layer.op
    assert isinstance(op, MaxPool | AvgPool)
    out = layer.output_shape
    padded = np.zeros((*shape[:2], *plane), dtype=np.float32)
    for tap in range(op.kernel[0] * op.kernel[1]):
        row, col = divmod(tap, op.kernel[1])
        top, left = row * op.dilation[0], col * op.dilation[1]
        rows = slice(top, top + (out.height - 1) * op.stride[0] + 1, op.stride[0])
        cols = slice(left, left + (out.width - 1) * op.stride[1] + 1, op.stride[1])
        padded[:, :, rows, cols] += per_tap(tap)
    return crop_plane(padded, pads, shape[2], shape[3])


def max_pool(layer: Layer, x: F32) -> tuple[F32, Backward]:
    """The pooled maxima and the backward pass routing dY through the first argmax."""
    taps, pads, plane = _pool_windows(layer, x, -np.inf)
    argmax = np.argmax(taps, axis=2)  # the first maximum in tap order
    y = np.take_along_axis(taps, argmax[:, :, None], axis=2)[:, :, 0]

    def backward(dy: F32) -> F32:
        zero = np.float32(0.0)
        return _scatter_taps(layer, lambda tap: np.where(argmax == tap, dy, zero), x.shape,
                             pads, plane)  # fmt: skip

    return np.ascontiguousarray(y), backward


def _tap_sum(taps: F32) -> F32:
    total: F32 = np.cumsum(taps, axis=2, dtype=np.float32)[:, :, -1]
    return total


def avg_pool(layer: Layer, x: F32) -> tuple[F32, Backward]:
    """The window means and the backward pass spreading dY / count over each window."""
    op = layer.op
    assert isinstance(op, AvgPool)
    taps, pads, plane = _pool_windows(layer, x, 0.0)
    if op.count_include_pad:
        count = np.full(taps.shape[-2:], op.kernel[0] * op.kernel[1], dtype=np.float32)
    else:
        ones = np.ones((1, 1, *x.shape[2:]), dtype=np.float32)
        count = _tap_sum(_pool_windows(layer, ones, 0.0)[0])[0, 0]
    y = _tap_sum(taps) / count

    def backward(dy: F32) -> F32:
        share = dy / count
        return _scatter_taps(layer, lambda tap: share, x.shape, pads, plane)

    return y, backward


def global_avg_pool(x: F32) -> tuple[F32, Backward]:
    """The plane means (B, C, 1, 1) and the backward pass spreading dY / (H·W)."""
    count = np.float32(x.shape[2] * x.shape[3])
    flat = x.reshape(*x.shape[:2], -1)
    y = (np.cumsum(flat, axis=2, dtype=np.float32)[:, :, -1] / count)[:, :, None, None]

    def backward(dy: F32) -> F32:
        return np.broadcast_to(dy / count, x.shape).astype(np.float32)

    return y.astype(np.float32), backward


def activation(function: str, alpha: float, x: F32) -> tuple[F32, Backward]:
    """An activation's fp32 output and its backward pass (see the module's conventions)."""
    zero, six = np.float32(0.0), np.float32(6.0)
    if function == "relu":
        mask = x > zero
        return np.where(mask, x, zero), lambda dy: np.where(mask, dy, zero)
    if function == "relu6":
        mask = (x > zero) & (x < six)
        return np.clip(x, zero, six), lambda dy: np.where(mask, dy, zero)
    if function == "leaky_relu":
        slope = np.float32(alpha)
        mask = x >= zero
        return np.where(mask, x, slope * x), lambda dy: np.where(mask, dy, slope * dy)
    if function in ("hsigmoid", "hswish"):
        return _hard(function, x)
    if function == "sigmoid":
        one = np.float32(1.0)
        s = one / (one + np.exp(-x.astype(np.float64)).astype(np.float32))
        return s, lambda dy: dy * (s * (one - s))
    raise ValueError(f"activation must be one of {', '.join(SUPPORTED_ACTIVATIONS)} in a "
                     f"training step, not {function!r}")  # fmt: skip


def _hard(function: str, x: F32) -> tuple[F32, Backward]:
    """hsigmoid h = relu6(x + 3) / 6 and hswish x·h, their gradients 1/6 and h + x/6 inside
    0 < x + 3 < 6 (h alone outside)."""
    zero, three, six = np.float32(0.0), np.float32(3.0), np.float32(6.0)
    shifted = x + three
    mask = (shifted > zero) & (shifted < six)
    h: F32 = np.clip(shifted, zero, six) / six

    def hsigmoid_backward(dy: F32) -> F32:
        inside: F32 = np.where(mask, dy, zero)
        return inside / six

    def hswish_backward(dy: F32) -> F32:
        inside: F32 = np.where(mask, dy * x, zero)
        return dy * h + inside / six

    if function == "hsigmoid":
        return h, hsigmoid_backward
    return x * h, hswish_backward


def activation_layer(layer: Layer, x: F32) -> tuple[F32, Backward]:
    op = layer.op
    assert isinstance(op, Activation)
    return activation(op.function, op.alpha, x)


def softmax_cross_entropy(logits: F32, targets: I64) -> tuple[float, F32, F32]:
    """(the mean loss, its gradient with respect to the (batch, classes) logits, the softmax
    probabilities), fp32."""
    batch = logits.shape[0]
    top = np.max(logits, axis=1, keepdims=True)
    shifted = logits - top
    e = np.exp(shifted.astype(np.float64)).astype(np.float32)
    s = np.cumsum(e, axis=1, dtype=np.float32)[:, -1:]
    picked = np.take_along_axis(shifted, targets[:, None], axis=1)
    losses = np.log(s.astype(np.float64)).astype(np.float32) - picked
    loss = float(np.cumsum(losses[:, 0], dtype=np.float32)[-1] / np.float32(batch))
    onehot = np.zeros_like(logits)
    onehot[np.arange(batch), targets] = 1.0
    probabilities = e / s
    return loss, ((probabilities - onehot) / np.float32(batch)).astype(np.float32), probabilities
