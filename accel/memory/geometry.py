"""Which input pixels and channels a block of a layer's GEMM touches: the ifmap side of a tile.

In the im2col view a conv layer's GEMM has `M` = output pixels (image, row, column in raster
order) and `K` = input channel × kernel tap, channel outermost and taps in raster order (the
`[N][C][R][S]` weight layout). A block of `M` × a block of `K` needs, for each channel the
K-block touches, the input pixels its output pixels' windows read through the taps it covers.
The DMA moves those pixels once per tile, never the im2col copies: neighbouring tiles fetch their
shared halo again (real traffic); one tile's overlapping windows read each input pixel once.

Exactness rules: only rows and columns some window reads count (a strided DMA skips rows a
stride-2 1×1 conv never touches); a tile spanning output rows reads the union of its first
partial row's, middle rows' and last partial row's boxes (up to three rectangles); a K-block
covering only some of a channel's taps reads the bounding box of those taps (a whole window when
it covers the channel). A fully-connected layer is a 1×1 conv on a 1×1 image with `K`
channels, one "pixel" per image.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache, reduce

import numpy as np
from numpy.typing import NDArray

from accel.model.network import Layer
from accel.model.ops import Conv, FullyConnected

IntArray = NDArray[np.int64]
Taps = tuple[int, int, int, int]  # kernel rows first..last, kernel columns first..last
KPart = tuple[tuple[int, Taps], ...]  # one K-tile: (channels, taps they cover) pieces


@dataclass(frozen=True)
class _Axis:
    """One spatial axis of a convolution: input size, output size and the window's reach."""

    size: int  # input rows (or columns)
    outputs: int  # output rows (or columns)
    kernel: int
    stride: int
    dilation: int
    pad_before: int

    def part(self, first_tap: int, last_tap: int) -> _Axis:
        """The axis as kernel taps `first_tap..last_tap` alone see it: a shifted, smaller kernel."""
        pad = self.pad_before - first_tap * self.dilation
        kernel = last_tap - first_tap + 1
        return _Axis(self.size, self.outputs, kernel, self.stride, self.dilation, pad)

    def touched(self, first: IntArray, last: IntArray) -> IntArray:
        """Input positions read by output positions `first..last` (inclusive), per pair."""
        reach = self.dilation * (self.kernel - 1) + 1
        if self.dilation != 1 or self.stride > reach:
            return self.common(((first, last),))
        # `common` of one range that reads one interval, without its reductions over ranges.
        low = np.maximum(first * self.stride - self.pad_before, 0)
        high = np.minimum(last * self.stride - self.pad_before + reach - 1, self.size - 1)
        result: IntArray = np.where(first > last, 0, np.maximum(high - low + 1, 0))
        return result.astype(np.int64)

    @cached_property
    def each_output(self) -> tuple[int, int]:
        """(sum, largest) of the input positions each single output position reads."""
        outputs = np.arange(self.outputs)
        per_output = self.touched(outputs, outputs)
        return int(per_output.sum()), int(per_output.max())

    @cached_property
    def fewest_per_output(self) -> int:
        """The fewest input positions a single output position reads."""
        outputs = np.arange(self.outputs)
        return int(self.touched(outputs, outputs).min())

    def common(self, ranges: tuple[tuple[IntArray, IntArray], ...]) -> IntArray:
        """Input positions read by every one of several output ranges (per element)."""
        reach = self.dilation * (self.kernel - 1) + 1
        if self.dilation == 1 and self.stride <= reach:  # each range reads one interval
            low = reduce(np.maximum, (f * self.stride for f, _ in ranges)) - self.pad_before
            high = reduce(np.minimum, (x * self.stride for _, x in ranges)) - self.pad_before
            low, high = np.maximum(low, 0), np.minimum(high + reach - 1, self.size - 1)
            count = high - low + 1
        elif self.dilation == 1:  # windows never overlap: only shared outputs share inputs
            first = np.clip(reduce(np.maximum, (f for f, _ in ranges)), 0, self.outputs)
            last = np.clip(reduce(np.minimum, (x for _, x in ranges)), -1, self.outputs - 1)
            prefix = self._disjoint_prefix
            start = np.minimum(first, last + 1)
            count = np.where(first <= last, prefix[last + 1] - prefix[start], 0)
        else:
            bounds = np.broadcast_arrays(*(a for pair in ranges for a in pair))
            count = np.array([self._shared(values) for values in zip(*bounds, strict=True)])
        empty = reduce(np.logical_or, (f > x for f, x in ranges))
        result: IntArray = np.where(empty, 0, np.maximum(count, 0)).astype(np.int64)
        return result

    @cached_property
    def _disjoint_prefix(self) -> IntArray:
        starts = np.arange(self.outputs) * self.stride - self.pad_before
        low = np.maximum(starts, 0)
        high = np.minimum(starts + self.kernel - 1, self.size - 1)
        return np.concatenate(([0], np.cumsum(np.maximum(high - low + 1, 0))))

    def _shared(self, bounds: tuple[int, ...]) -> int:
        """Dilated windows: intersect the position sets of each (first, last) range."""
        sets = [
            {
                o * self.stride - self.pad_before + tap * self.dilation
                for o in range(int(first), int(last) + 1)
                for tap in range(self.kernel)
            }
            for first, last in zip(bounds[::2], bounds[1::2], strict=True)
        ]
        return sum(1 for p in set.intersection(*sets) if 0 <= p < self.size)


@dataclass(frozen=True)
class LayerGeometry:
    """The ifmap geometry of one conv/fc layer for a batch, per group."""

    batch: int
    channels_per_group: int
    rows: _Axis
    cols: _Axis

    @classmethod
    def of(cls, layer: Layer, batch: int) -> LayerGeometry:
        op = layer.op
        shape = layer.input_shapes[0]
        if isinstance(op, FullyConnected):
            flat = _Axis(1, 1, 1, 1, 1, 0)
            return cls(batch, shape.elements, flat, flat)
        assert isinstance(op, Conv), f"layer {layer.name!r} is not a conv or fc layer"
        top, _, left, _ = op.pads(shape.height, shape.width)
        out = layer.output_shape
        rows = _Axis(shape.height, out.height, op.kernel[0], op.stride[0], op.dilation[0], top)
        cols = _Axis(shape.width, out.width, op.kernel[1], op.stride[1], op.dilation[1], left)
        return cls(batch, shape.channels // op.groups, rows, cols)

    @property
    def taps(self) -> int:
        """Kernel taps per channel (R·S); K = channels_per_group · taps."""
        return self.rows.kernel * self.cols.kernel

    @property
    def all_taps(self) -> Taps:
        return (0, self.rows.kernel - 1, 0, self.cols.kernel - 1)

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
        """Input pixels one whole image's outputs read (through every tap): the largest
        M-tile of one image, in closed form."""
        return int(self.box_stats((self.plane,))[1][0])

    def box_pixels(self, m_tile: int, taps: Taps | None = None) -> IntArray:
        """Input pixels each M-tile of `m_tile` output pixels reads (through `taps`), in order."""
        rows, cols = self.rows, self.cols
        if taps is not None and taps != self.all_taps:
            rows, cols = rows.part(taps[0], taps[1]), cols.part(taps[2], taps[3])
        return _box_pixels(self.plane, self.m, m_tile, rows, cols).copy()

    def first_box(self, m_tiles: IntArray, taps: Taps | None = None) -> IntArray:
        """Input pixels the first M-tile of each of `m_tiles` output pixels reads (through
        `taps`): whole images, then the start of the next."""
        rows, cols = self.rows, self.cols
        if taps is not None and taps != self.all_taps:
            rows, cols = rows.part(taps[0], taps[1]), cols.part(taps[2], taps[3])
        size = np.minimum(m_tiles, self.m)
        images, rest = size // self.plane, size % self.plane
        whole = _part_box(np.array([0]), np.array([self.plane - 1]), rows, cols)
        start = _part_box(np.zeros_like(rest), np.maximum(rest - 1, 0), rows, cols)
        result: IntArray = images * whole + np.where(rest > 0, start, 0)
        return result

    def box_stats(
        self, m_tiles: tuple[int, ...], taps: Taps | None = None
    ) -> tuple[IntArray, IntArray]:
        """(sum, largest) of `box_pixels(m_tile, taps)` for each of `m_tiles`, in closed form
        for row-aligned tiles.

        Tiles that cut output rows evenly are a row × column-range grid, and tiles of whole
        rows that start each image afresh are row bands; both sum without visiting every tile,
        every such tile size in one pass over its column ranges (row bands).
        Memoized per geometry: layers of one shape and sweep points that change only the chip
        ask again for the same boxes.
        """
        sums, largest, _ = _box_stats(self, m_tiles, taps)
        return sums, largest

    def box_smallest(self, m_tiles: tuple[int, ...], taps: Taps | None = None) -> IntArray:
        """The smallest of `box_pixels(m_tile, taps)` for each of `m_tiles` (as `box_stats`)."""
        return _box_stats(self, m_tiles, taps)[2]

    def _box_stats(
        self, m_tiles: tuple[int, ...], taps: Taps | None
    ) -> tuple[IntArray, IntArray, IntArray]:
        rows, cols = self.rows, self.cols
        if taps is not None and taps != self.all_taps:
            rows, cols = rows.part(taps[0], taps[1]), cols.part(taps[2], taps[3])
        width, height = cols.outputs, rows.outputs
        sums = np.zeros(len(m_tiles), dtype=np.int64)
        largest = np.zeros(len(m_tiles), dtype=np.int64)
        smallest = np.zeros(len(m_tiles), dtype=np.int64)
        aligned = [i for i, m in enumerate(m_tiles) if m <= width and width % m == 0]
        banded = [
            i for i, m in enumerate(m_tiles)
            if m > width and m % width == 0 and (self.batch == 1 or self.plane % m == 0)
        ]  # fmt: skip
        if aligned:  # a row × column-range grid: every output row with every column range
            row_sum, row_max = rows.each_output
            first, last, at = _ranges([m_tiles[i] for i in aligned], width)
            per_col = cols.touched(first, last)
            sums[aligned] = self.batch * row_sum * np.add.reduceat(per_col, at)
            largest[aligned] = row_max * np.maximum.reduceat(per_col, at)
            smallest[aligned] = rows.fewest_per_output * np.minimum.reduceat(per_col, at)
        if banded:  # bands of whole rows, each image cut alike
            bands = [m_tiles[i] // width for i in banded]
            first, last, at = _ranges(bands, height)
            whole_rows = int(cols.touched(np.array([0]), np.array([width - 1]))[0])
            per_band = rows.touched(first, last) * whole_rows
            sums[banded] = self.batch * np.add.reduceat(per_band, at)
            largest[banded] = np.maximum.reduceat(per_band, at)
            smallest[banded] = np.minimum.reduceat(per_band, at)
        for i in sorted(set(range(len(m_tiles))) - set(aligned) - set(banded)):
            boxes = _box_pixels(self.plane, self.m, m_tiles[i], rows, cols)
            sums[i], largest[i], smallest[i] = boxes.sum(), boxes.max(), boxes.min()
        return sums, largest, smallest

    def channels(self, k_tile: int) -> IntArray:
        """Input channels each K-tile of `k_tile` reduction elements touches, in tile order."""
        starts = np.arange(0, self.k, k_tile, dtype=np.int64)
        ends = np.minimum(starts + k_tile, self.k) - 1
        return ends // self.taps - starts // self.taps + 1

    def k_parts(self, k_tile: int) -> list[KPart]:
        """Each K-tile as (channel count, taps covered) pieces, in tile order."""
        return [
            _k_part(start % self.taps, min(k_tile, self.k - start), self.rows.kernel,
                    self.cols.kernel)
            for start in range(0, self.k, k_tile)
        ]

    def first_k_part(self, k_tile: int) -> KPart:
        """The first K-tile as (channel count, taps covered) pieces."""
        return _k_part(0, min(k_tile, self.k), self.rows.kernel, self.cols.kernel)

    def k_patterns(self, k_tile: int) -> Mapping[KPart, int]:
        """The distinct K-tile shapes and how many K-tiles have each (per group)."""
        return _k_patterns(self.k, self.taps, self.rows.kernel, self.cols.kernel, k_tile)


def clear_geometry_cache() -> None:
    """Forget the memoized ifmap boxes and K-tile patterns."""
    _box_stats.cache_clear()
    _k_patterns.cache_clear()
    _box_pixels.cache_clear()


@lru_cache(maxsize=1 << 14)
def _box_stats(
    geometry: LayerGeometry, m_tiles: tuple[int, ...], taps: Taps | None
) -> tuple[IntArray, IntArray, IntArray]:
    return geometry._box_stats(m_tiles, taps)


def _ranges(tiles: list[int], extent: int) -> tuple[IntArray, IntArray, IntArray]:
    """Positions `0..extent − 1` cut into ranges of each of several tile lengths, one cut after
    another: (first and last position of every range, where each tile length's ranges begin)."""
    firsts = [np.arange(0, extent, tile) for tile in tiles]
    lasts = [np.minimum(first + tile, extent) - 1
             for first, tile in zip(firsts, tiles, strict=True)]  # fmt: skip
    at = np.cumsum([0] + [len(first) for first in firsts[:-1]])
    return np.concatenate(firsts), np.concatenate(lasts), at


@lru_cache(maxsize=1 << 14)
def _k_patterns(k: int, taps: int, kernel_rows: int, kernel_cols: int, k_tile: int
                ) -> dict[KPart, int]:  # fmt: skip
    starts = np.arange(0, k, k_tile, dtype=np.int64)
    shapes = np.stack([starts % taps, np.minimum(k_tile, k - starts)], axis=1)
    unique, counts = np.unique(shapes, axis=0, return_counts=True)
    patterns: dict[KPart, int] = {}
    for (offset, length), count in zip(unique.tolist(), counts.tolist(), strict=True):
        part = _k_part(offset, length, kernel_rows, kernel_cols)
        patterns[part] = patterns.get(part, 0) + count
    return patterns


@lru_cache(maxsize=4096)
def _k_part(offset: int, length: int, kernel_rows: int, kernel_cols: int) -> KPart:
    """A K-tile of `length` elements starting at tap `offset` of a channel, as pieces."""
    taps = kernel_rows * kernel_cols
    pieces: dict[Taps, int] = {}

    def add(first: int, last: int, count: int = 1) -> None:
        key = _tap_box(first, last, kernel_cols)
        pieces[key] = pieces.get(key, 0) + count

    head = min(length, taps - offset)
    add(offset, offset + head - 1)
    whole, tail = divmod(length - head, taps)
    if whole:
        add(0, taps - 1, whole)
    if tail:
        add(0, tail - 1)
    return tuple(sorted((count, key) for key, count in pieces.items()))


def _tap_box(first: int, last: int, kernel_cols: int) -> Taps:
    """Bounding box (kernel rows, kernel columns) of taps `first..last` in raster order."""
    row_first, row_last = first // kernel_cols, last // kernel_cols
    if row_first == row_last:
        return (row_first, row_last, first % kernel_cols, last % kernel_cols)
    return (row_first, row_last, 0, kernel_cols - 1)


@lru_cache(maxsize=1024)
def _box_pixels(plane: int, total: int, m_tile: int, rows: _Axis, cols: _Axis) -> IntArray:
    starts = np.arange(0, total, m_tile, dtype=np.int64)
    ends = np.minimum(starts + m_tile, total) - 1
    first_image, last_image = starts // plane, ends // plane
    first_pixel, last_pixel = starts % plane, ends % plane
    one_image = first_image == last_image
    inside = _part_box(first_pixel, np.where(one_image, last_pixel, plane - 1), rows, cols)
    tail = _part_box(np.zeros_like(last_pixel), last_pixel, rows, cols)
    image = _part_box(np.array([0]), np.array([plane - 1]), rows, cols)
    middle = np.maximum(last_image - first_image - 1, 0) * image
    result: IntArray = np.where(one_image, inside, inside + middle + tail)
    return result


def _part_box(first: IntArray, last: IntArray, rows: _Axis, cols: _Axis) -> IntArray:
    """Input pixels read by output pixels `first..last` of one image (raster order).

    A span over several output rows is three rectangles: the rest of the first row, the whole
    middle rows and the start of the last row; their union is counted by inclusion–exclusion.
    """
    width = cols.outputs
    top, bottom = first // width, last // width
    left, right = first % width, last % width
    end = np.full_like(first, width - 1)
    zero = np.zeros_like(first)
    if (top == bottom).all():  # each span within one row: one rectangle
        within: IntArray = rows.touched(top, top) * cols.touched(left, right)
        return within
    if not left.any() and (right == width - 1).all():  # whole rows: one rectangle
        whole: IntArray = rows.touched(top, bottom) * cols.touched(zero, end)
        return whole
    single = rows.touched(top, top) * cols.touched(left, right)
    head = ((top, top), (left, end))
    body = ((top + 1, bottom - 1), (zero, end))
    foot = ((bottom, bottom), (zero, right))

    def area(*parts: tuple[tuple[IntArray, IntArray], tuple[IntArray, IntArray]]) -> IntArray:
        shared_rows = rows.common(tuple(part[0] for part in parts))
        return shared_rows * cols.common(tuple(part[1] for part in parts))

    spanning = (
        area(head) + area(body) + area(foot)
        - area(head, body) - area(body, foot) - area(head, foot)
        + area(head, body, foot)
    )
    result: IntArray = np.where(top == bottom, single, spanning)
    return result
