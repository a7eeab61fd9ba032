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

import math
from collections.abc import Mapping
from functools import lru_cache

import numpy as np

from accel.memory import boxes
from accel.memory.axis import Axis, clear_axis_cache
from accel.memory.axis import IntArray as IntArray  # the grid's integer arrays, for every module
from accel.model.frozen import Frozen
from accel.model.network import Layer
from accel.model.ops import Conv, FullyConnected

Taps = tuple[int, int, int, int]  # kernel rows first..last, kernel columns first..last
KPart = tuple[tuple[int, Taps], ...]  # one K-tile: (channels, taps they cover) pieces


class LayerGeometry(Frozen):
    """The ifmap geometry of one conv/fc layer for a batch, per group. Hand-written, not a
    frozen dataclass (see `frozen.py`: no methods compiled at import)."""

    _compared = ("batch", "channels_per_group", "rows", "cols")

    batch: int
    channels_per_group: int
    rows: Axis
    cols: Axis

    def __init__(self, batch: int, channels_per_group: int, rows: Axis, cols: Axis) -> None:
        init = object.__setattr__
        init(self, "batch", batch)
        init(self, "channels_per_group", channels_per_group)
        init(self, "rows", rows)
        init(self, "cols", cols)

    @classmethod
    def of(cls, layer: Layer, batch: int) -> LayerGeometry:
        """The layer's geometry, one object per value (`_GEOMETRIES`): the memos keyed on it
        (candidate grids, schedules, replays) then find an earlier key by identity rather than
        by comparing its axes field by field (a sweep asks again per point)."""
        # what `_made` reads of the layer: a sweep point asks again with equal ones, found
        # here by their kept hashes, without building the axes again
        key = (layer.op, layer.input_shapes[0], layer.output_shape, batch)
        found = _BY_LAYER.get(key)
        if found is not None:
            return found
        made = cls._made(layer, batch)
        if len(_BY_LAYER) >= 4096:  # as many as the geometries at least
            _GEOMETRIES.clear()
            _BY_LAYER.clear()
        found = _BY_LAYER[key] = _GEOMETRIES.setdefault(made, made)
        return found

    @classmethod
    def _made(cls, layer: Layer, batch: int) -> LayerGeometry:
        op = layer.op
        shape = layer.input_shapes[0]
        if isinstance(op, FullyConnected):
            flat = Axis(1, 1, 1, 1, 1, 0)
            return cls(batch, shape.elements, flat, flat)
        assert isinstance(op, Conv), f"layer {layer.name!r} is not a conv or fc layer"
        top, _, left, _ = op.pads(shape.height, shape.width)
        out = layer.output_shape
        rows = Axis(shape.height, out.height, op.kernel[0], op.stride[0], op.dilation[0], top)
        cols = Axis(shape.width, out.width, op.kernel[1], op.stride[1], op.dilation[1], left)
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

    @property
    def image_box(self) -> int:
        """Input pixels one whole image's outputs read (through every tap): the largest
        M-tile of one image, in closed form."""
        return self.rows.whole * self.cols.whole  # of whole rows: one rectangle

    def axes(self, taps: Taps | None = None) -> tuple[Axis, Axis]:
        """(rows, cols) as the kernel taps `taps` alone see them (every tap: the axes)."""
        if taps is None or taps == self.all_taps:
            return self.rows, self.cols
        return self.rows.part(taps[0], taps[1]), self.cols.part(taps[2], taps[3])

    def box_pixels(self, m_tile: int, taps: Taps | None = None) -> IntArray:
        """Input pixels each M-tile of `m_tile` output pixels reads (through `taps`), in order."""
        return boxes.box_pixels(self.batch, *self.axes(taps), m_tile).copy()

    def first_box(self, m_tiles: tuple[int, ...], taps: Taps | None = None) -> IntArray:
        """Input pixels the first M-tile of each of `m_tiles` output pixels reads (through
        `taps`): whole images, then the start of the next."""
        return boxes.first_boxes(self.batch, *self.axes(taps), m_tiles)

    def box_stats(
        self, m_tiles: tuple[int, ...], taps: Taps | None = None
    ) -> tuple[IntArray, IntArray]:
        """(sum, largest) of `box_pixels(m_tile, taps)` for each of `m_tiles`, in closed form
        for row-aligned tiles (`boxes.box_stats`, memoized on the batch and the axes: layers of
        one spatial shape and sweep points that change only the chip share the boxes)."""
        sums, largest, _ = boxes.box_stats(self.batch, *self.axes(taps), m_tiles)
        return sums, largest

    def tap_figures(self, m_tiles: tuple[int, ...], taps: tuple[Taps, ...]) -> boxes.Figures:
        """`box_stats`, `box_smallest` and `first_box` through each of `taps`, as (M-tile size,
        tap box) matrices, every tap box at once where it can (`boxes.tap_figures`; read-only:
        memoized)."""
        return boxes.tap_figures(self.batch, tuple(self.axes(t) for t in taps), m_tiles)

    def box_smallest(self, m_tiles: tuple[int, ...], taps: Taps | None = None) -> IntArray:
        """The smallest of `box_pixels(m_tile, taps)` for each of `m_tiles` (as `box_stats`)."""
        return boxes.box_stats(self.batch, *self.axes(taps), m_tiles)[2]

    def channels(self, k_tile: int) -> IntArray:
        """Input channels each K-tile of `k_tile` reduction elements touches, in tile order."""
        starts = np.arange(0, self.k, k_tile, dtype=np.int64)
        ends = np.minimum(starts + k_tile, self.k) - 1
        return ends // self.taps - starts // self.taps + 1

    def k_parts(self, k_tile: int) -> list[KPart]:
        """Each K-tile as (channel count, taps covered) pieces, in tile order: the full tiles'
        first taps repeat every `taps / gcd(k_tile, taps)` tiles (`_k_patterns`), so one
        period is worked out and repeated, then the partial last tile."""
        taps, k, kernel_rows, kernel_cols = self.taps, self.k, self.rows.kernel, self.cols.kernel
        full, tail = divmod(k, k_tile)
        period = min(full, taps // math.gcd(k_tile, taps))
        head = [_k_part(j * k_tile % taps, k_tile, kernel_rows, kernel_cols)
                for j in range(period)]  # fmt: skip
        rounds, extra = divmod(full, period) if period else (0, 0)
        parts = head * rounds + head[:extra]
        if tail:
            parts.append(_k_part(full * k_tile % taps, tail, kernel_rows, kernel_cols))
        return parts

    def first_k_part(self, k_tile: int) -> KPart:
        """The first K-tile as (channel count, taps covered) pieces."""
        return _k_part(0, min(k_tile, self.k), self.rows.kernel, self.cols.kernel)

    def k_patterns(self, k_tile: int) -> Mapping[KPart, int]:
        """The distinct K-tile shapes and how many K-tiles have each (per group)."""
        return _k_patterns(self.k, self.taps, self.rows.kernel, self.cols.kernel, k_tile)


def clear_geometry_cache() -> None:
    """Forget the memoized ifmap boxes and K-tile patterns."""
    boxes.clear_boxes_cache()
    clear_axis_cache()
    _k_patterns.cache_clear()
    _GEOMETRIES.clear()
    _BY_LAYER.clear()


_GEOMETRIES: dict[LayerGeometry, LayerGeometry] = {}  # each geometry asked for, by value
_BY_LAYER: dict[tuple[object, ...], LayerGeometry] = {}  # each one, by what `_made` reads


@lru_cache(maxsize=1 << 14)
def _k_patterns(k: int, taps: int, kernel_rows: int, kernel_cols: int, k_tile: int
                ) -> dict[KPart, int]:  # fmt: skip
    """K-tiles as (first tap, length) shapes, counted without listing them: the full tiles'
    first taps `j · k_tile mod taps` repeat every `taps / gcd(k_tile, taps)` tiles, and the
    last tile may be shorter. Shapes are visited in sorted order, as `np.unique` lists them."""
    full, tail = divmod(k, k_tile)
    period = taps // math.gcd(k_tile, taps)
    rounds, extra = divmod(full, period)
    shapes = {(j * k_tile % taps, k_tile): rounds + (j < extra) for j in range(min(period, full))}
    if tail:
        shapes[(full * k_tile % taps, tail)] = 1
    patterns: dict[KPart, int] = {}
    for (offset, length), count in sorted(shapes.items()):
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
