"""A conv or fc layer's three GEMMs on the float array: forward, data gradient (dX), weight
gradient (dW), laid out as `accel.model.backward` maps them and summed along their schedules.

- Forward: `Y = X_col · Wᵀ + b` per group (M = batch·Ho·Wo, K = Cin/g·kh·kw, N = Cout/g).
- dW: `dW = dYᵀ · X_col` (M = Cout/g, K = batch·Ho·Wo in (image, row, column) order, N =
  Cin/g·kh·kw), the correlation of the input with the output gradient.
- dX of a plane-keeping stride-1 conv (and of an fc layer): the full convolution of dY, padded
  by `dilation·(k − 1) − pad`, with the kernel rotated 180° and its channels swapped (M =
  batch·H·W, K = Cout/g·kh·kw, N = Cin/g); of any other conv: the columns `dY · W` (M =
  batch·Ho·Wo, K = Cout/g, N = Cin/g·kh·kw), which `col2im` adds into the input's pixels.
- The bias gradient: Σ dY over images and pixels, one fp32 addition after the other in
  (image, row, column) order (on the vector unit).

An fc layer is the 1×1 convolution of its flattened input ((channel, row, column) order).
Operands arrive already in the chip's format; results leave as fp32 accumulators.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from accel.functional.float_gemm import add_columns, columns, crop_plane, float_gemm, pad_plane
from accel.functional.geometry import Pads
from accel.functional.schedule import Schedule
from accel.model.backward import keeps_plane
from accel.model.network import Layer
from accel.model.ops import Conv, FullyConnected

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class ConvGeometry:
    """Where a conv (or fc, as a 1×1 conv) layer's windows sit."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    pads: Pads  # fitted: the last window fits
    groups: int
    in_hw: tuple[int, int]
    out_hw: tuple[int, int]
    direct_dx: bool  # dX as a full convolution, else as columns and col2im

    @classmethod
    def of(cls, layer: Layer) -> ConvGeometry:
        shape, out = layer.input_shapes[0], layer.output_shape
        if isinstance(layer.op, FullyConnected):
            return cls((1, 1), (1, 1), (1, 1), (0, 0, 0, 0), 1, (1, 1), (1, 1), True)
        if not isinstance(layer.op, Conv):
            raise ValueError(f"layer {layer.name!r} must be conv or fc, not {layer.kind!r}")
        op = layer.op
        return cls(op.kernel, op.stride, op.dilation, op.fitted_pads(shape.height, shape.width),
                   op.groups, (shape.height, shape.width), (out.height, out.width),
                   keeps_plane(layer))  # fmt: skip

    def padded_shape(self, batch: int, channels: int) -> tuple[int, int, int, int]:
        top, bottom, left, right = self.pads
        return (batch, channels, top + self.in_hw[0] + bottom, left + self.in_hw[1] + right)


def as_conv_input(layer: Layer, x: F32) -> F32:
    """An fc layer's input flattened to (batch, features, 1, 1); a conv's unchanged."""
    if isinstance(layer.op, FullyConnected):
        return x.reshape(x.shape[0], -1, 1, 1)
    return x


def _output_matrix(y: F32, groups: int) -> F32:
    """(B, Cout, Ho, Wo) as (G, B·Ho·Wo, Cout/G): the GEMM's M × N per group."""
    batch, channels, height, width = y.shape
    per_group = y.reshape(batch, groups, channels // groups, height, width)
    matrix: F32 = per_group.transpose(1, 0, 3, 4, 2).reshape(groups, -1, channels // groups)
    return np.ascontiguousarray(matrix)


def _from_output_matrix(matrix: F32, batch: int, out_hw: tuple[int, int]) -> F32:
    groups, _, per_group = matrix.shape
    y = matrix.reshape(groups, batch, *out_hw, per_group).transpose(1, 0, 4, 2, 3)
    result: F32 = np.ascontiguousarray(y).reshape(batch, groups * per_group, *out_hw)
    return result


def conv_forward(x: F32, weight: F32, bias: F32 | None, geometry: ConvGeometry,
                 schedule: Schedule) -> F32:  # fmt: skip
    """The fp32 accumulators (B, Cout, Ho, Wo) of `x` (B, Cin, H, W) and `weight` (Cout,
    Cin/g, kh, kw), both in the chip's format, with the fp32 `bias` preloaded."""
    g, out_channels = geometry.groups, weight.shape[0]
    cols = columns(pad_plane(x, geometry.pads), geometry.kernel, geometry.stride,
                   geometry.dilation, geometry.out_hw, g)  # fmt: skip
    w = weight.reshape(g, out_channels // g, -1).transpose(0, 2, 1)
    b = None if bias is None else bias.reshape(g, out_channels // g)
    return _from_output_matrix(float_gemm(cols, w, schedule, b), x.shape[0], geometry.out_hw)


def conv_weight_gradient(x: F32, dy: F32, weight_shape: tuple[int, ...],
                         geometry: ConvGeometry, schedule: Schedule) -> F32:  # fmt: skip
    """dW (Cout, Cin/g, kh, kw) in fp32: the correlation of `x` with the output gradient."""
    g = geometry.groups
    cols = columns(pad_plane(x, geometry.pads), geometry.kernel, geometry.stride,
                   geometry.dilation, geometry.out_hw, g)  # fmt: skip
    dy_t = np.ascontiguousarray(_output_matrix(dy, g).transpose(0, 2, 1))  # (G, Cout/g, M)
    return float_gemm(dy_t, cols, schedule).reshape(weight_shape)


def conv_data_gradient(dy: F32, weight: F32, geometry: ConvGeometry, in_channels: int,
                       schedule: Schedule) -> F32:  # fmt: skip
    """dX (B, Cin, H, W) in fp32 of the output gradient `dy` (B, Cout, Ho, Wo)."""
    if geometry.direct_dx:
        return _full_convolution(dy, weight, geometry, schedule)
    g, out_channels = geometry.groups, weight.shape[0]
    w = weight.reshape(g, out_channels // g, -1)  # (G, Cout/g, Cin/g·kh·kw)
    cols = float_gemm(_output_matrix(dy, g), w, schedule)
    padded = geometry.padded_shape(dy.shape[0], in_channels)
    plane = add_columns(cols, padded, geometry.kernel, geometry.stride, geometry.dilation,
                        geometry.out_hw)  # fmt: skip
    return crop_plane(plane, geometry.pads, *geometry.in_hw)


def _full_convolution(dy: F32, weight: F32, geometry: ConvGeometry, schedule: Schedule) -> F32:
    g = geometry.groups
    out_channels, per_group, kh, kw = weight.shape
    rotated = weight.reshape(g, out_channels // g, per_group, kh, kw)[:, :, :, ::-1, ::-1]
    rotated = rotated.transpose(0, 2, 1, 3, 4).reshape(g * per_group, out_channels // g, kh, kw)
    span_h, span_w = (geometry.dilation[0] * (kh - 1), geometry.dilation[1] * (kw - 1))
    top, bottom, left, right = geometry.pads
    mirrored = ConvGeometry((kh, kw), (1, 1), geometry.dilation,
                            (span_h - top, span_h - bottom, span_w - left, span_w - right), g,
                            geometry.out_hw, geometry.in_hw, True)  # fmt: skip
    return conv_forward(dy, np.ascontiguousarray(rotated), None, mirrored, schedule)


def bias_gradient(dy: F32) -> F32:
    """Σ dY per channel over (image, row, column), added one after the other in fp32."""
    per_channel = dy.transpose(1, 0, 2, 3).reshape(dy.shape[1], -1)
    total: F32 = np.cumsum(per_channel, axis=1, dtype=np.float32)[:, -1]
    return total
