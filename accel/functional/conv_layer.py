"""A conv or fc layer on the MAC array followed by the requantization unit.

`prepare_array_layer` lays the 8-bit weights out as the array consumes them (w − w_zp per
output channel in float32, so int8 and uint8 weights alike become integers in [−255, 255];
K ordered (input channel, kernel row, kernel column) per group, as `accel.mapping.im2col` and
the memory model's K-tiles; depthwise as (tap, channel, multiplier)) and precomputes the
per-channel requantization constants of the chip's mode; `layer_accumulators` executes one batch
along a `Schedule` (the int32 values the array hands over) and `run_array_layer` requantizes them.
A transposed conv runs as the dense conv of the chip's mapping (`accel.mapping.conv_transpose`):
its ifmap upsampled with the zero point between pixels (zero insertion) or its phases' taps side
by side on N (sub-pixel), and the dense conv's ofmap cropped or interleaved back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from accel.errors import InputError
from accel.functional.accumulate import Accumulated, Accumulator, accumulate
from accel.functional.geometry import Pads
from accel.functional.operands import GemmOperands, TapOperands, centred_nhwc, window_view
from accel.functional.requant import (
    Activation,
    QuantMode,
    activation_bounds,
    onnx_requant_scale,
    requantize_onnx,
    requantize_tflite,
    tflite_conv_multipliers,
)
from accel.functional.schedule import Schedule
from accel.mapping.conv_transpose import ConvTransposeMapping, Lowering, lower
from accel.model.network import Layer
from accel.model.ops import Add, Conv, ConvTranspose, FullyConnected
from accel.model.quantized import QuantizedNetwork, QuantizedWeights, QuantParams

IntArray = npt.NDArray[np.integer]
F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class ArrayLayer:
    """One conv/fc layer as stored on chip."""

    layer: Layer
    weight: F32  # (groups, K, N) for a GEMM; (taps, channels, multiplier) for depthwise
    depthwise: bool
    bias: F64  # (out_channels,), at scale ifmap_scale · weight_scale[o]
    weight_l1: F64  # Σ |w| per output channel, bounds every partial sum
    weight_abs_max: float
    mode: QuantMode
    scale: F32  # onnx: f32(f32(x_s · w_s[o]) / y_s)
    multiplier: npt.NDArray[np.int64]  # tflite: Q31 multiplier per channel
    shift: npt.NDArray[np.int64]
    output: QuantParams
    activation_min: int
    activation_max: int
    lowering: Lowering | None = None  # a transposed conv: `layer` is its dense conv


def conv_pads(layer: Layer) -> Pads:
    """Top, bottom, left, right padding of a conv, widened at the end for ceil-mode windows."""
    op, shape = layer.op, layer.input_shapes[0]
    assert isinstance(op, Conv)
    return op.fitted_pads(shape.height, shape.width)


def fused_activation(layer: Layer) -> Activation:
    """The ReLU/ReLU6 folded into a conv, fc or add layer's requantization ("none" if absent)."""
    op = layer.op
    if isinstance(op, Conv | FullyConnected | Add | ConvTranspose) and op.activation is not None:
        return op.activation
    return "none"


def _centred_weight(name: str, weights: QuantizedWeights) -> F32:
    # w − w_zp with one zero point per output channel (or one for all), exact in float32.
    zero_points = weights.weight_zero_points
    channels = weights.weight.shape[0]
    if zero_points is not None and np.asarray(zero_points).size not in (1, channels):
        raise InputError(
            f"layer {name!r}: weight zero points must be one or one per output channel "
            f"({channels}), not {np.asarray(zero_points).size!r}"
        )
    return weights.centred().astype(np.float32)


def _layout(layer: Layer, centred: F32) -> F32:
    # Weights as the array reads them (see the module docstring).
    op = layer.op
    if isinstance(op, FullyConnected):
        layout: F32 = np.ascontiguousarray(centred.reshape(op.out_features, -1).T[None])
        return layout
    assert isinstance(op, Conv)
    out_channels, cg, kh, kw = centred.shape
    groups = op.groups
    per_group = centred.reshape(groups, out_channels // groups, cg, kh, kw)
    if layer.is_depthwise:
        taps = per_group.transpose(3, 4, 0, 1, 2).reshape(kh * kw, groups, out_channels // groups)
        return np.ascontiguousarray(taps)
    gemm = per_group.reshape(groups, out_channels // groups, cg * kh * kw).transpose(0, 2, 1)
    return np.ascontiguousarray(gemm)


def prepare_array_layer(
    layer: Layer, qnet: QuantizedNetwork, mode: QuantMode,
    conv_transpose: ConvTransposeMapping = "sub_pixel",
) -> ArrayLayer:
    """Weights in the array's layout and the requantization constants of `mode` (a transposed
    conv: of its dense conv under mapping `conv_transpose`)."""
    if layer.name not in qnet.weights:
        raise InputError(f"layer {layer.name!r} must have quantized weights")
    weights = qnet.weights[layer.name]
    x, y = qnet.activations[layer.inputs[0]], qnet.activations[layer.name]
    centred = _centred_weight(layer.name, weights)
    out_channels = centred.shape[0]
    w_scale = np.broadcast_to(np.asarray(weights.weight_scales, np.float32), (out_channels,))
    bias = np.asarray(weights.bias, dtype=np.float64).reshape(out_channels)
    lowering = None
    if isinstance(layer.op, ConvTranspose):
        # The dense conv's output channels are the layer's, once per phase.
        lowering = lower(layer, conv_transpose)
        channel = lowering.channel_of()
        centred, w_scale, bias = lowering.weight(centred), w_scale[channel], bias[channel]
        layer, out_channels = lowering.conv, channel.size
    low, high = activation_bounds(fused_activation(layer), y.scale, y.zero_point, y.dtype, mode)
    multiplier, shift = tflite_conv_multipliers(x.scale, w_scale, y.scale)
    return ArrayLayer(
        layer=layer,
        weight=_layout(layer, centred),
        depthwise=layer.is_depthwise,
        bias=bias,
        weight_l1=np.abs(centred.reshape(out_channels, -1)).sum(axis=1, dtype=np.float64),
        weight_abs_max=float(np.abs(centred).max(initial=0.0)),
        mode=mode,
        scale=onnx_requant_scale(x.scale, w_scale, y.scale),
        multiplier=multiplier,
        shift=shift,
        output=y,
        activation_min=low,
        activation_max=high,
        lowering=lowering,
    )


def _operands(prepared: ArrayLayer, x: IntArray, xq: QuantParams) -> GemmOperands | TapOperands:
    layer, op = prepared.layer, prepared.layer.op
    bound = max(xq.zero_point - xq.qmin, xq.qmax - xq.zero_point) * prepared.weight_abs_max
    if isinstance(op, FullyConnected):
        cols = x.reshape(1, x.shape[0], -1).astype(np.float32) - np.float32(xq.zero_point)
        return GemmOperands(cols, prepared.weight, bound)
    assert isinstance(op, Conv)
    out = layer.output_shape
    xp = centred_nhwc(x, xq.zero_point, conv_pads(layer))
    windows = window_view(xp, op.kernel, op.stride, op.dilation, (out.height, out.width))
    if prepared.depthwise:
        return TapOperands(windows, prepared.weight, bound)
    return GemmOperands.from_windows(windows, op.groups, prepared.weight, bound)


def layer_accumulators(
    prepared: ArrayLayer,
    x: IntArray,
    xq: QuantParams,
    schedule: Schedule | None,
    accumulator: Accumulator,
) -> Accumulated:
    """The accumulators the requantization unit reads: (M, groups · N), bias + Σ products
    narrowed as the hardware does, M ordered (image, output row, output column)."""
    operands = _operands(prepared, x, xq)
    m, k, n = operands.m, operands.k, operands.n
    schedule = schedule or Schedule.whole(m, k, n)
    if (schedule.m, schedule.k, schedule.n) != (m, k, n):
        raise ValueError(
            f"schedule of layer {prepared.layer.name!r} must be for M×K×N = {m}×{k}×{n}, "
            f"not {schedule.m}×{schedule.k}×{schedule.n}"
        )
    abs_max = max(xq.zero_point - xq.qmin, xq.qmax - xq.zero_point)
    return accumulate(operands, prepared.bias, schedule, accumulator, prepared.weight_l1, abs_max)


def run_array_layer(
    prepared: ArrayLayer,
    x: IntArray,
    xq: QuantParams,
    schedule: Schedule | None,
    accumulator: Accumulator,
) -> tuple[IntArray, int]:
    """The layer's NCHW output and how many accumulators the narrow width changed."""
    lowering = prepared.lowering
    if lowering is not None:  # zeros inserted as the zero point: exactly 0 once centred
        x = lowering.ifmap(x, fill=xq.zero_point)
    acc = layer_accumulators(prepared, x, xq, schedule, accumulator)
    y, bounds = prepared.output, (prepared.activation_min, prepared.activation_max)
    if prepared.mode == "onnx":
        q = requantize_onnx(
            acc.values, prepared.scale, y.zero_point, y.dtype, axis=-1,
            act_min=bounds[0], act_max=bounds[1],
        )  # fmt: skip
    else:
        q = requantize_tflite(
            acc.values.astype(np.int64), prepared.multiplier, prepared.shift, y.zero_point,
            y.dtype, axis=-1, act_min=bounds[0], act_max=bounds[1],
        )  # fmt: skip
    shape = prepared.layer.output_shape
    nhwc = q.reshape(x.shape[0], shape.height, shape.width, shape.channels)
    nchw = nhwc.transpose(0, 3, 1, 2)
    return (nchw if lowering is None else lowering.ofmap(nchw)), acc.overflowed
