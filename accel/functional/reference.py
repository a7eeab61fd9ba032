"""The float32 model a quantized network approximates: a plain forward pass of every layer kind.

Calibration runs it on sample inputs to see each tensor's range. It follows the same
conventions as the integer engine (ONNX Runtime's ceil_mode rule, padding never wins a max pool,
average pooling divides by the in-image taps unless count_include_pad), so the ranges it measures
are those of the tensors the engine quantizes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from accel.errors import InputError
from accel.functional.conv import grouped_conv
from accel.functional.float_norms import batch_norm
from accel.functional.geometry import pad_to_windows, windows
from accel.model.conv_transpose import ConvTranspose
from accel.model.network import Layer, Network
from accel.model.ops import (
    Activation,
    Add,
    ChannelSlice,
    Concat,
    Conv,
    Flatten,
    FullyConnected,
    Mul,
    Softmax,
)
from accel.model.pool_ops import AvgPool, GlobalAvgPool, MaxPool
from accel.model.quantized import BatchNormConstants, FloatWeights
from accel.model.resample_ops import DepthToSpace, PRelu, ReduceMean, Resize, SpaceToDepth

F32 = npt.NDArray[np.float32]
Float = TypeVar("Float", np.float32, np.float64)


def forward(
    network: Network,
    weights: Mapping[str, FloatWeights],
    inputs: Mapping[str, F32],
    on_layer: Callable[[str], None] | None = None,
    norms: Mapping[str, BatchNormConstants] | None = None,
) -> dict[str, F32]:
    """Every graph input and layer output (NCHW float32) for a batch of `inputs`; `on_layer`
    is told each layer's name when it is done. `norms` are the constants of standalone
    BatchNorm layers (`weights.random_batchnorms`)."""
    tensors = {name: np.asarray(inputs[name], np.float32) for name, _ in network.inputs}
    norms = norms or {}
    for layer in network.layers:
        sources = [tensors[name] for name in layer.inputs]
        if layer.name in norms:
            tensors[layer.name] = batch_norm(sources[0], norms[layer.name])
        else:
            tensors[layer.name] = _layer(layer, sources, weights.get(layer.name))
        if on_layer is not None:
            on_layer(layer.name)
    return tensors


def _layer(layer: Layer, x: list[F32], weights: FloatWeights | None) -> F32:
    op = layer.op
    if isinstance(op, Conv | FullyConnected):
        if weights is None:
            raise InputError(f"layer {layer.name!r} must have float weights")
        y = _conv(layer, x[0], weights) if isinstance(op, Conv) else _fc(x[0], weights)
        return _activate(y, op.activation)
    if isinstance(op, ConvTranspose):
        if weights is None:
            raise InputError(f"layer {layer.name!r} must have float weights")
        y = conv_transpose(x[0], weights.weight, op) + weights.bias.reshape(1, -1, 1, 1)
        return _activate(np.asarray(y, np.float32), op.activation)
    if isinstance(op, MaxPool | AvgPool):
        return _pool(layer, x[0])
    if isinstance(op, GlobalAvgPool):
        mean: F32 = x[0].mean(axis=(2, 3), keepdims=True, dtype=np.float32)
        return mean
    if isinstance(op, Add):
        return _activate(np.sum(x, axis=0, dtype=np.float32), op.activation)
    if isinstance(op, Mul):
        return x[0] * x[1]
    if isinstance(op, Concat):
        return np.concatenate(x, axis=1)
    if isinstance(op, ChannelSlice):
        return x[0][:, op.start : op.end]
    if isinstance(op, Flatten):
        return x[0].reshape(x[0].shape[0], -1, 1, 1)
    if isinstance(op, Softmax):
        e = np.exp(x[0] - x[0].max(axis=op.axis + 1, keepdims=True))
        probabilities: F32 = e / e.sum(axis=op.axis + 1, keepdims=True)
        return probabilities
    if isinstance(op, Resize | DepthToSpace | SpaceToDepth | PRelu | ReduceMean):
        return _resample(layer, x[0], weights)
    if not isinstance(op, Activation):
        # A BatchNorm that folds into no conv (DenseNet's pre-activation), an LRN, ...: a
        # quantized file brings its own scales, but calibration has no model of these.
        what = _NOT_CALIBRATED.get(layer.kind, repr(layer.kind))
        raise InputError(f"layer {layer.name!r} must be a kind calibration can run (conv, fc, "
                         f"pools, add, mul, concat, channel slices, flatten, softmax, "
                         f"activations), not "
                         f"{what}; quantize the model first (e.g. quantize_static)")
    if op.function == "tanh":
        tanh: F32 = np.tanh(x[0]).astype(np.float32)
        return tanh
    if op.function == "hard_sigmoid":
        linear = np.float32(op.alpha) * x[0] + np.float32(op.beta)
        gate: F32 = np.clip(linear, 0.0, 1.0).astype(np.float32)
        return gate
    return _activate(x[0], op.function, op.alpha)


def _resample(layer: Layer, x: F32, weights: FloatWeights | None) -> F32:
    """Resize (nearest as onnxruntime indexes; bilinear from each mode's sample positions),
    the block moves, PReLU (its slopes are its float weights) and reduce_mean, in float32."""
    from accel.functional import resample  # the datapath's index rules

    op = layer.op
    if isinstance(op, DepthToSpace):
        return resample.depth_to_space(x, op)  # type: ignore[return-value]
    if isinstance(op, SpaceToDepth):
        return resample.space_to_depth(x, op)  # type: ignore[return-value]
    if isinstance(op, ReduceMean):
        mean: F32 = x.mean(axis=tuple(a + 1 for a in op.axes), keepdims=True, dtype=np.float32)
        return mean
    if isinstance(op, PRelu):
        if weights is None:
            raise InputError(f"layer {layer.name!r} must have its prelu slopes")
        slope = np.broadcast_to(weights.weight.reshape(-1), (x.shape[1],)).reshape(1, -1, 1, 1)
        return np.where(x < 0, x * slope, x).astype(np.float32)
    assert isinstance(op, Resize)
    if op.mode == "nearest":
        return resample.resize_nearest(x, op, "onnx")  # type: ignore[arg-type,return-value]
    return _bilinear(x, op)


def _bilinear(x: F32, op: Resize) -> F32:
    height, width = x.shape[2], x.shape[3]
    out = op.output_size(height, width)
    scales = op.axis_scales(height, width)
    coordinates = []
    for size, length, scale in zip((height, width), out, scales, strict=True):
        index = np.arange(length, dtype=np.float64)
        if op.coordinate_mode == "align_corners":
            position = index * (size - 1) / max(length - 1, 1)
        elif op.coordinate_mode == "asymmetric":
            position = index / scale
        else:
            position = (index + 0.5) / scale - 0.5
        position = np.clip(position, 0, size - 1)
        low = np.floor(position).astype(np.int64)
        coordinates.append((low, np.minimum(low + 1, size - 1), position - low))
    (y0, y1, dy), (x0, x1, dx) = coordinates
    dy, dx = dy[:, None], dx[None, :]
    top = x[:, :, y0][:, :, :, x0] * (1 - dx) + x[:, :, y0][:, :, :, x1] * dx
    bottom = x[:, :, y1][:, :, :, x0] * (1 - dx) + x[:, :, y1][:, :, :, x1] * dx
    return np.asarray(top * (1 - dy) + bottom * dy, dtype=np.float32)


# Layer kinds a float file can bring that calibration refuses, as a user would recognise them.
_NOT_CALIBRATED = {
    "batchnorm": "'batchnorm' (a BatchNormalization, or a Mul/Add by a constant such as "
    "Paddle's dropout-as-Mul 0.8, that no conv before it absorbs)",
    "pad": "'pad' (a Pad that no conv after it absorbs: reflect/edge mode or non-zero value)",
}


def _activate(y: F32, function: str | None, alpha: float = 0.01) -> F32:
    if function is None:
        return y
    if function == "relu":
        return np.maximum(y, np.float32(0.0))
    if function == "relu6":
        return np.clip(y, np.float32(0.0), np.float32(6.0))
    gate = np.clip(y + np.float32(3.0), 0.0, 6.0) / np.float32(6.0)  # h-sigmoid
    if function == "hswish":
        return np.asarray(y * gate, dtype=np.float32)
    if function == "hsigmoid":
        return np.asarray(gate, dtype=np.float32)
    if function == "sigmoid":
        return np.asarray(1.0 / (1.0 + np.exp(-y)), dtype=np.float32)
    if function == "leaky_relu":
        return np.where(y >= 0, y, np.float32(alpha) * y).astype(np.float32)
    raise InputError(f"activation must be a known function, not {function!r}")


def _conv(layer: Layer, x: F32, weights: FloatWeights) -> F32:
    from accel.functional.conv_layer import conv_pads  # the engine's padding, incl. ceil mode

    op = layer.op
    assert isinstance(op, Conv)
    out = layer.output_shape
    top, bottom, left, right = conv_pads(layer)
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    out_hw = (out.height, out.width)
    y = grouped_conv(xp, weights.weight, op.stride, op.dilation, op.groups, out_hw)
    return np.asarray(y + weights.bias.reshape(1, -1, 1, 1), dtype=np.float32)


def conv_transpose(x: npt.NDArray[Float], weight: npt.NDArray[Float],
                   op: ConvTranspose) -> npt.NDArray[Float]:
    """The transposed convolution of `x` (N, C_in, H, W) by `weight` (C_out, C_in/groups, kh,
    kw), without bias, in the operands' float type, by its definition: every input pixel
    scatters its kernel, scaled, to output `i·stride − pad + t·dilation`, one kernel tap at a
    time, and whatever lands outside the output is dropped."""
    n, _, height, width = x.shape
    out_channels, per_group, kh, kw = weight.shape
    groups = op.groups
    (sh, sw), (dh, dw) = op.stride, op.dilation
    top, bottom, left, right = op.padding
    full_h = (height - 1) * sh + dh * (kh - 1) + op.output_padding[0] + 1
    full_w = (width - 1) * sw + dw * (kw - 1) + op.output_padding[1] + 1
    full = np.zeros((n, out_channels, full_h, full_w), x.dtype)
    xg = x.reshape(n, groups, per_group, height, width)
    wg = weight.reshape(groups, out_channels // groups, per_group, kh, kw)
    for r in range(kh):
        for s in range(kw):
            # (N, groups, C_out/groups, H, W): each input pixel times tap (r, s)
            part = np.einsum("ngchw,goc->ngohw", xg, wg[:, :, :, r, s])
            rows = slice(r * dh, r * dh + (height - 1) * sh + 1, sh)
            cols = slice(s * dw, s * dw + (width - 1) * sw + 1, sw)
            full[:, :, rows, cols] += part.reshape(n, out_channels, height, width)
    cropped: npt.NDArray[Float] = full[:, :, top : full_h - bottom, left : full_w - right]
    return cropped


def _fc(x: F32, weights: FloatWeights) -> F32:
    y = x.reshape(x.shape[0], -1) @ weights.weight.T + weights.bias
    return np.asarray(y, dtype=np.float32).reshape(x.shape[0], -1, 1, 1)


def _pool(layer: Layer, x: F32) -> F32:
    op = layer.op
    assert isinstance(op, MaxPool | AvgPool)
    out = layer.output_shape
    pads = op.pads(x.shape[2], x.shape[3])
    out_hw = (out.height, out.width)
    if isinstance(op, MaxPool):
        xp = pad_to_windows(x, pads, op.kernel, op.stride, op.dilation, out_hw, -np.inf)
        return np.asarray(windows(xp, op.kernel, op.stride, op.dilation, out_hw).max(axis=(2, 3)))
    ones = np.ones((1, 1, x.shape[2], x.shape[3]), np.float32)
    total, taps = (
        windows(pad_to_windows(t, pads, op.kernel, op.stride, (1, 1), out_hw, 0.0),
                op.kernel, op.stride, (1, 1), out_hw).sum(axis=(2, 3))
        for t in (x, ones)
    )  # fmt: skip
    count = op.kernel[0] * op.kernel[1] if op.count_include_pad else taps
    return np.asarray(total / count, dtype=np.float32)
