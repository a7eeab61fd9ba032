"""A transposed convolution on the MAC array: lowered to a dense stride-1 convolution, two ways.

The array only runs dense convolutions (GEMMs), so a transposed conv is rewritten as one; the
chip's `array.conv_transpose` picks how:

- `zero_insertion` (the textbook form): the ifmap is upsampled with `stride − 1` zeros between
  pixels, padded by `dilation·(kernel − 1) − pad` at the start and `dilation·(kernel − 1) − pad
  + output_padding` at the end (a negative amount crops), and convolved at stride 1 with the
  kernel flipped. Every inserted zero is read and multiplied: the GEMM's M is the full output,
  so about stride_h·stride_w times more MACs issue than are useful.
- `sub_pixel` (stride-phase decomposition, what NPUs do): output row `o` with
  `o + pad_top = stride·q + r` only receives kernel rows `r, r + stride, ...` (of the kernel
  with its dilation spelled out as zero taps), all reading input rows `q, q − 1, ...`. So each
  of the `stride_h·stride_w` output phases is a dense stride-1 conv on the original input with
  a sub-kernel of `ceil((dilation·(kernel − 1) + 1) / stride)` taps per axis; the phases share
  their windows, so the array runs them as one GEMM with the phases side by side on N
  (`N = stride_h·stride_w·C_out / groups`; the sub-pixel convolution of Shi et al., CVPR 2016)
  and the write-back interleaves them (depth to space, an addressing choice). Phases with fewer
  taps than the others get zero taps, and the border rows where one phase has an output and
  another has none are computed and dropped: both count as issued MACs.

An axis with stride 1 has one phase and lowers the same way in both forms. `lower` gives the
dense `Conv` layer (its ifmap cropped where the lowering reads less than the input), and the
three rearrangements that make it compute the transposed conv: `ifmap` (upsample and crop),
`weight` (flip, or pick each phase's taps) and `ofmap` (crop, or interleave the phases).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import numpy as np
import numpy.typing as npt

from accel.model.conv_transpose import ConvTranspose
from accel.model.network import Layer
from accel.model.ops import Conv, Shape

ConvTransposeMapping = Literal["sub_pixel", "zero_insertion"]
Scalar = TypeVar("Scalar", bound=np.generic)


@dataclass(frozen=True)
class AxisLowering:
    """How one spatial axis (height or width) of a transposed conv becomes a dense conv's."""

    insert: int  # the ifmap is upsampled by this factor (zeros between pixels)
    crop_begin: int  # upsampled ifmap rows the dense conv never reads, at the start
    crop_end: int  # ... and at the end
    kernel: int  # taps of the dense conv
    dilation: int
    pad_begin: int
    pad_end: int
    phases: int  # output phases side by side on N
    offset: int  # output row o is lowered row (o + offset) // phases − first, phase ... % phases
    first: int
    taps: tuple[tuple[int, ...], ...]  # per phase, per dense tap: the kernel tap it reads, or −1
    size: int  # lowered output rows

    @classmethod
    def of(cls, form: ConvTransposeMapping, size: int, out: int, kernel: int, stride: int,
           dilation: int, pads: tuple[int, int], output_padding: int) -> AxisLowering:
        """The lowering of an axis with `size` input rows and `out` output rows."""
        if form == "zero_insertion" or stride == 1:
            span = dilation * (kernel - 1)
            begin, end = span - pads[0], span - pads[1] + output_padding
            flipped = (tuple(kernel - 1 - j for j in range(kernel)),)
            return cls(stride, max(0, -begin), max(0, -end), kernel, dilation, max(0, begin),
                       max(0, end), 1, 0, 0, flipped, out)  # fmt: skip
        extent = dilation * (kernel - 1) + 1  # the kernel with its dilation as zero taps
        taps_per_phase = -(-extent // stride)
        first = pads[0] // stride
        last = (out - 1 + pads[0]) // stride
        begin, end = taps_per_phase - 1 - first, last - (size - 1)
        taps = tuple(
            tuple(_tap(phase + (taps_per_phase - 1 - j) * stride, dilation, kernel)
                  for j in range(taps_per_phase))
            for phase in range(stride)
        )  # fmt: skip
        return cls(1, max(0, -begin), max(0, -end), taps_per_phase, 1, max(0, begin),
                   max(0, end), stride, pads[0], first, taps, last - first + 1)  # fmt: skip

    def upsampled(self, size: int) -> int:
        """Rows of the dense conv's ifmap (upsampled and cropped) for `size` input rows."""
        return (size - 1) * self.insert + 1 - self.crop_begin - self.crop_end

    def output_index(self, out: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(lowered row, phase) of every output row 0 .. out − 1."""
        shifted = np.arange(out) + self.offset
        return shifted // self.phases - self.first, shifted % self.phases


def _tap(expanded: int, dilation: int, kernel: int) -> int:
    """The kernel tap at position `expanded` of the dilated kernel, or −1 for a zero tap."""
    tap, rest = divmod(expanded, dilation)
    return tap if rest == 0 and tap < kernel else -1


@dataclass(frozen=True)
class Lowering:
    """A transposed conv layer as the dense conv the array runs, and how to feed and read it."""

    form: ConvTransposeMapping
    layer: Layer  # the transposed conv
    conv: Layer  # the dense conv (same name), on the upsampled / cropped ifmap
    height: AxisLowering
    width: AxisLowering

    @property
    def phases(self) -> int:
        return self.height.phases * self.width.phases

    @property
    def issued_macs(self) -> int:
        """MACs per image the array performs (inserted zeros, zero taps, dropped borders)."""
        return self.conv.macs

    def ifmap(self, x: npt.NDArray[Scalar], fill: Any = 0) -> npt.NDArray[Scalar]:
        """The dense conv's ifmap (N, C, H', W') from the layer's: `fill` (the zero point for
        codes) between the pixels, then the crop."""
        n, c, h, w = x.shape
        hl, wl = self.height, self.width
        if hl.insert == wl.insert == 1:
            up = x
        else:
            up = np.full((n, c, (h - 1) * hl.insert + 1, (w - 1) * wl.insert + 1), fill, x.dtype)
            up[:, :, :: hl.insert, :: wl.insert] = x
        rows = slice(hl.crop_begin, up.shape[2] - hl.crop_end)
        cols = slice(wl.crop_begin, up.shape[3] - wl.crop_end)
        cropped: npt.NDArray[Scalar] = np.ascontiguousarray(up[:, :, rows, cols])
        return cropped

    def weight(self, w: npt.NDArray[Scalar]) -> npt.NDArray[Scalar]:
        """The dense conv's weights (groups·phases·C_out/groups, C_in/groups, J_h, J_w) from the
        transposed conv's (C_out, C_in/groups, kh, kw); output channels ordered (group, phase
        row, phase column, channel of the group)."""
        op = self.layer.op
        assert isinstance(op, ConvTranspose)
        out_channels, per_group, kh, kw = w.shape
        padded = np.zeros((out_channels, per_group, kh + 1, kw + 1), w.dtype)
        padded[:, :, :kh, :kw] = w  # tap −1 reads the zero row / column
        rows = np.asarray(self.height.taps)  # (phases_h, J_h)
        cols = np.asarray(self.width.taps)
        picked = padded[:, :, rows[:, None, :, None], cols[None, :, None, :]]
        # (C_out, C_in/g, P_h, P_w, J_h, J_w) → (g, P_h, P_w, C_out/g, C_in/g, J_h, J_w)
        groups = op.groups
        grouped = picked.reshape(groups, out_channels // groups, *picked.shape[1:])
        ordered = grouped.transpose(0, 3, 4, 1, 2, 5, 6)
        dense: npt.NDArray[Scalar] = np.ascontiguousarray(
            ordered.reshape(-1, per_group, *ordered.shape[-2:]))
        return dense

    def channel_of(self) -> npt.NDArray[np.int64]:
        """The transposed conv's output channel behind each dense conv output channel."""
        op = self.layer.op
        assert isinstance(op, ConvTranspose)
        per_group = op.out_channels // op.groups
        channels = np.arange(op.out_channels).reshape(op.groups, 1, per_group)
        return np.broadcast_to(channels, (op.groups, self.phases, per_group)).reshape(-1)

    def ofmap(self, y: npt.NDArray[Scalar]) -> npt.NDArray[Scalar]:
        """The transposed conv's ofmap (N, C_out, H_out, W_out) from the dense conv's."""
        op = self.layer.op
        assert isinstance(op, ConvTranspose)
        out = self.layer.output_shape
        n = y.shape[0]
        per_group = op.out_channels // op.groups
        phased = y.reshape(n, op.groups, self.height.phases, self.width.phases, per_group,
                           y.shape[2], y.shape[3])  # fmt: skip
        rows, row_phase = self.height.output_index(out.height)
        cols, col_phase = self.width.output_index(out.width)
        picked = phased[:, :, row_phase[:, None], col_phase[None, :], :,
                        rows[:, None], cols[None, :]]  # fmt: skip
        # advanced indices first: (H_out, W_out, N, groups, C_out/g)
        result = picked.transpose(2, 3, 4, 0, 1).reshape(n, op.out_channels, out.height,
                                                          out.width)  # fmt: skip
        interleaved: npt.NDArray[Scalar] = np.ascontiguousarray(result)
        return interleaved


def lower(layer: Layer, form: ConvTransposeMapping) -> Lowering:
    """`layer` (a transposed conv) as the dense conv of mapping `form`."""
    op = layer.op
    assert isinstance(op, ConvTranspose), f"layer {layer.name!r} is not a transposed conv"
    source, out = layer.input_shapes[0], layer.output_shape
    top, bottom, left, right = op.padding
    axes = [
        AxisLowering.of(form, size, out_size, op.kernel[axis], op.stride[axis], op.dilation[axis],
                        pads, op.output_padding[axis])
        for axis, (size, out_size, pads) in enumerate(
            ((source.height, out.height, (top, bottom)), (source.width, out.width, (left, right))))
    ]  # fmt: skip
    height, width = axes
    conv_op = Conv(
        out_channels=op.out_channels * height.phases * width.phases,
        kernel=(height.kernel, width.kernel),
        padding=(height.pad_begin, height.pad_end, width.pad_begin, width.pad_end),
        dilation=(height.dilation, width.dilation),
        groups=op.groups,
        bias=op.bias,
        activation=op.activation,
    )
    ifmap = Shape(source.channels, height.upsampled(source.height),
                  width.upsampled(source.width))  # fmt: skip
    conv_out = conv_op.output_shape((ifmap,))
    assert (conv_out.height, conv_out.width) == (height.size, width.size), (conv_out, axes)
    conv = Layer(layer.name, conv_op, layer.inputs, (ifmap,), conv_out)
    return Lowering(form, layer, conv, height, width)
