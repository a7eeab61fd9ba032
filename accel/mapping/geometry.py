"""Which input pixels and channels a block of a layer's GEMM touches: the ifmap side of a tile.

In the im2col view a conv layer's GEMM has `M` = output pixels (image, row, column in raster
order) and `K` = input channel × kernel tap, channel outermost (the `[N][C][R][S]` weight layout),
so a block of `M` × a block of `K` needs a *box* of the input: the input rows and columns the
block's output pixels read, times the input channels its taps belong to. The DMA moves that box
once per tile, never the im2col copies: neighbouring tiles share halo rows, and each tile fetches
them again (that is real traffic); one tile's overlapping windows read each input pixel once.

A box counts only rows and columns some window actually reads (a strided DMA skips rows a
stride-2 1×1 conv never touches). A tile whose output pixels lie in one output row reads just the
columns under them; a tile that spans output rows reads whole rows. A fully-connected layer is a
1×1 conv on a 1×1 image with `K` channels, one "pixel" per image.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from accel.model.network import Layer
from accel.model.ops import Conv, FullyConnected

IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class _Axis:
    """One spatial axis of a convolution: input size, output size and the window's reach."""

    size: int  # input rows (or columns)
    outputs: int  # output rows (or columns)
    kernel: int
    stride: int
    dilation: int
    pad_before: int

    def touched(self, first: IntArray, last: IntArray) -> IntArray:
        """Input positions read by output positions `first..last` (inclusive), per pair."""
        reach = self.dilation * (self.kernel - 1) + 1
        if self.dilation == 1 and self.stride <= reach:
            low = np.maximum(first * self.stride - self.pad_before, 0)
            high = np.minimum(last * self.stride - self.pad_before + reach - 1, self.size - 1)
            count: IntArray = np.maximum(high - low + 1, 0)
            return count
        if self.dilation == 1:  # windows never overlap: add each window's clipped length
            return np.asarray(self._disjoint_prefix[last + 1] - self._disjoint_prefix[first])
        return np.array([self._union(int(a), int(b)) for a, b in zip(first, last, strict=True)])

    @cached_property
    def _disjoint_prefix(self) -> IntArray:
        starts = np.arange(self.outputs) * self.stride - self.pad_before
        low = np.maximum(starts, 0)
        high = np.minimum(starts + self.kernel - 1, self.size - 1)
        return np.concatenate(([0], np.cumsum(np.maximum(high - low + 1, 0))))

    def _union(self, first: int, last: int) -> int:
        rows = {
            o * self.stride - self.pad_before + tap * self.dilation
            for o in range(first, last + 1)
            for tap in range(self.kernel)
        }
        return sum(1 for row in rows if 0 <= row < self.size)


@dataclass(frozen=True)
class LayerGeometry:
    """The ifmap geometry of one conv/fc layer for a batch, per group."""

    batch: int
    channels_per_group: int
    taps: int  # kernel taps per channel (R·S); K = channels_per_group · taps
    rows: _Axis
    cols: _Axis

    @classmethod
    def of(cls, layer: Layer, batch: int) -> LayerGeometry:
        op = layer.op
        shape = layer.input_shapes[0]
        if isinstance(op, FullyConnected):
            flat = _Axis(1, 1, 1, 1, 1, 0)
            return cls(batch, shape.elements, 1, flat, flat)
        assert isinstance(op, Conv), f"layer {layer.name!r} is not a conv or fc layer"
        top, _, left, _ = op.pads(shape.height, shape.width)
        out = layer.output_shape
        rows = _Axis(shape.height, out.height, op.kernel[0], op.stride[0], op.dilation[0], top)
        cols = _Axis(shape.width, out.width, op.kernel[1], op.stride[1], op.dilation[1], left)
        return cls(batch, shape.channels // op.groups, op.kernel[0] * op.kernel[1], rows, cols)

    @property
    def plane(self) -> int:
        """Output pixels per image."""
        return self.rows.outputs * self.cols.outputs

    @property
    def m(self) -> int:
        return self.batch * self.plane

    @property
    def k(self) -> int:
        return self.channels_per_group * self.taps

    @cached_property
    def image_box(self) -> int:
        """Input pixels one whole image's outputs read."""
        return int(self._part_box(np.array([0]), np.array([self.plane - 1]))[0])

    def box_pixels(self, m_tile: int) -> IntArray:
        """Input pixels each M-tile of `m_tile` output pixels reads, in tile order."""
        starts = np.arange(0, self.m, m_tile, dtype=np.int64)
        ends = np.minimum(starts + m_tile, self.m) - 1
        first_image, last_image = starts // self.plane, ends // self.plane
        first_pixel, last_pixel = starts % self.plane, ends % self.plane
        one_image = first_image == last_image
        inside = self._part_box(first_pixel, np.where(one_image, last_pixel, self.plane - 1))
        tail = self._part_box(np.zeros_like(last_pixel), last_pixel)
        middle = np.maximum(last_image - first_image - 1, 0) * self.image_box
        return np.where(one_image, inside, inside + middle + tail)

    def _part_box(self, first: IntArray, last: IntArray) -> IntArray:
        """Input pixels read by output pixels `first..last` of one image (raster order)."""
        width = self.cols.outputs
        first_row, last_row = first // width, last // width
        one_row = first_row == last_row
        col_first = np.where(one_row, first % width, 0)
        col_last = np.where(one_row, last % width, width - 1)
        return self.rows.touched(first_row, last_row) * self.cols.touched(col_first, col_last)

    def channels(self, k_tile: int) -> IntArray:
        """Input channels each K-tile of `k_tile` reduction elements touches, in tile order."""
        starts = np.arange(0, self.k, k_tile, dtype=np.int64)
        ends = np.minimum(starts + k_tile, self.k) - 1
        return ends // self.taps - starts // self.taps + 1
