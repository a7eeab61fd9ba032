"""The input pixels each M-tile of a conv layer reads: tiles of output pixels in raster order.

An M-tile is a run of consecutive output pixels (image, row, column); it reads, through a box of
kernel taps (an `Axis.part` per axis), the input pixels of its windows, once per tile. A tile
within one output row is a rectangle (its rows' reach × its columns' reach), a tile of whole
rows too; one spanning rows partially is up to three rectangles counted by inclusion–exclusion.

Everything here reads only the batch and the two (part) axes, never the channels: layers of one
spatial shape (ResNet's and MobileNet's blocks) share these boxes, memoized per tile size.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from accel.memory.axis import Axis, IntArray, Parts, ranges


def clear_boxes_cache() -> None:
    """Forget the memoized boxes."""
    box_stats.cache_clear()
    first_boxes.cache_clear()
    tap_figures.cache_clear()
    box_pixels.cache_clear()


@lru_cache(maxsize=1 << 14)
def box_stats(
    batch: int, rows: Axis, cols: Axis, m_tiles: tuple[int, ...]
) -> tuple[IntArray, IntArray, IntArray]:
    """(sum, largest, smallest) of `box_pixels` for each of `m_tiles`, in closed form for
    row-aligned tiles: tiles that cut output rows evenly are a row × column-range grid, and
    tiles of whole rows that start each image afresh are row bands; both sum without visiting
    every tile, every such tile size in one pass over its column ranges (row bands)."""
    width, height, plane = cols.outputs, rows.outputs, rows.outputs * cols.outputs
    sums = np.zeros(len(m_tiles), dtype=np.int64)
    largest = np.zeros(len(m_tiles), dtype=np.int64)
    smallest = np.zeros(len(m_tiles), dtype=np.int64)
    aligned = [i for i, m in enumerate(m_tiles) if m <= width and width % m == 0]
    banded = [
        i for i, m in enumerate(m_tiles)
        if m > width and m % width == 0 and (batch == 1 or plane % m == 0)
    ]  # fmt: skip
    if aligned:  # a row × column-range grid: every output row with every column range
        row_sum, row_max = rows.each_output
        first, last, at = ranges([m_tiles[i] for i in aligned], width)
        per_col = cols.touched(first, last)
        sums[aligned] = batch * row_sum * np.add.reduceat(per_col, at)
        largest[aligned] = row_max * np.maximum.reduceat(per_col, at)
        smallest[aligned] = rows.fewest_per_output * np.minimum.reduceat(per_col, at)
    if banded:  # bands of whole rows, each image cut alike
        first, last, at = ranges([m_tiles[i] // width for i in banded], height)
        per_band = rows.touched(first, last) * cols.whole
        sums[banded] = batch * np.add.reduceat(per_band, at)
        largest[banded] = np.maximum.reduceat(per_band, at)
        smallest[banded] = np.minimum.reduceat(per_band, at)
    for i in sorted(set(range(len(m_tiles))) - set(aligned) - set(banded)):
        boxes = box_pixels(batch, rows, cols, m_tiles[i])
        sums[i], largest[i], smallest[i] = boxes.sum(), boxes.max(), boxes.min()
    return sums, largest, smallest


Figures = tuple[IntArray, IntArray, IntArray, IntArray]


@lru_cache(maxsize=1 << 12)
def tap_figures(batch: int, parts: tuple[tuple[Axis, Axis], ...], m_tiles: tuple[int, ...]
                ) -> Figures:  # fmt: skip
    """`box_stats` and `first_boxes` through each of several tap boxes ((rows, cols) parts),
    as (sum, largest, smallest, first) matrices of M-tile sizes (rows) by tap boxes (columns);
    every tap box at once where their windows each read one interval (`_tap_figures`: the
    row-aligned tile sizes in closed form, the others box by box), else tap box by tap box
    (read-only: memoized)."""
    rows, cols = Parts.of(tuple(r for r, _ in parts)), Parts.of(tuple(c for _, c in parts))
    if rows is not None and cols is not None:
        aligned, banded = _tile_classes(batch, parts[0][0].outputs, parts[0][1].outputs, m_tiles)
        result = _tap_figures(batch, rows, cols, m_tiles, aligned, banded)
        sums, largest, smallest, _ = result
        for i in sorted(set(range(len(m_tiles))) - set(aligned) - set(banded)):
            for t, (r, c) in enumerate(parts):  # as `box_stats` visits them
                boxes = box_pixels(batch, r, c, m_tiles[i])
                sums[i, t], largest[i, t], smallest[i, t] = boxes.sum(), boxes.max(), boxes.min()
    else:
        per_tap = [(*box_stats(batch, r, c, m_tiles), first_boxes(batch, r, c, m_tiles))
                   for r, c in parts]  # fmt: skip
        sums, largest, smallest, first = (  # `np.stack(axis=1)`, without its Python
            np.array(each).T.copy() for each in zip(*per_tap, strict=True)
        )
        result = (sums, largest, smallest, first)
    for values in result:
        values.flags.writeable = False
    return result


def _tile_classes(batch: int, height: int, width: int, m_tiles: tuple[int, ...]
                  ) -> tuple[list[int], list[int]]:  # fmt: skip
    """The tile sizes (indices) `box_stats` sums as a row × column-range grid and as row
    bands (the others it sums box by box)."""
    plane = height * width
    aligned = [i for i, m in enumerate(m_tiles) if m <= width and width % m == 0]
    banded = [
        i for i, m in enumerate(m_tiles)
        if m > width and m % width == 0 and (batch == 1 or plane % m == 0)
    ]  # fmt: skip
    return aligned, banded


def _tap_figures(
    batch: int, rows: Parts, cols: Parts, m_tiles: tuple[int, ...], aligned: list[int],
    banded: list[int],
) -> Figures:
    """`tap_figures` of tap boxes side by side: `box_stats`' closed forms and `first_boxes`,
    each a row per tap box, transposed to a column each."""
    figures = np.zeros((3, len(rows.pad), len(m_tiles)), dtype=np.int64)
    sums, largest, smallest = figures
    if aligned:
        outputs = np.arange(rows.outputs)
        per_output = rows.touched(outputs, outputs)
        first, last, at = ranges([m_tiles[i] for i in aligned], cols.outputs)
        per_col = cols.touched(first, last)
        sums[:, aligned] = batch * per_output.sum(axis=1, keepdims=True) * np.add.reduceat(
            per_col, at, axis=1
        )
        largest[:, aligned] = per_output.max(axis=1, keepdims=True) * np.maximum.reduceat(
            per_col, at, axis=1
        )
        smallest[:, aligned] = per_output.min(axis=1, keepdims=True) * np.minimum.reduceat(
            per_col, at, axis=1
        )
    if banded:
        first, last, at = ranges([m_tiles[i] // cols.outputs for i in banded], rows.outputs)
        per_band = rows.touched(first, last) * cols.whole
        sums[:, banded] = batch * np.add.reduceat(per_band, at, axis=1)
        largest[:, banded] = np.maximum.reduceat(per_band, at, axis=1)
        smallest[:, banded] = np.minimum.reduceat(per_band, at, axis=1)
    return sums.T, largest.T, smallest.T, _first_parts(batch, rows, cols, m_tiles).T


def _first_parts(batch: int, rows: Parts, cols: Parts, m_tiles: tuple[int, ...]) -> IntArray:
    """`first_boxes` of tap boxes side by side (a row each): whole images, then the rows
    above the last one and the start of the last row (`_start_box`)."""
    plane = rows.outputs * cols.outputs
    size = np.minimum(np.array(m_tiles, dtype=np.int64), batch * plane)
    images, rest = size // plane, size % plane
    bottom, right = np.divmod(np.maximum(rest - 1, 0), cols.outputs)
    zero = np.zeros(len(m_tiles), dtype=np.int64)
    above = np.where(bottom < 1, 0, rows.touched(zero, bottom - 1))
    start = (
        above * cols.whole
        + (rows.touched(bottom, bottom) - rows.common_above(bottom)) * cols.touched(zero, right)
    )  # fmt: skip
    result: IntArray = images * (rows.whole * cols.whole) + np.where(rest > 0, start, 0)
    return result


@lru_cache(maxsize=1 << 14)
def first_boxes(batch: int, rows: Axis, cols: Axis, m_tiles: tuple[int, ...]) -> IntArray:
    """Input pixels the first M-tile of each of `m_tiles` output pixels reads: whole images,
    then the start of the next (`_start_box`)."""
    plane = rows.outputs * cols.outputs
    size = np.minimum(np.array(m_tiles, dtype=np.int64), batch * plane)
    images, rest = size // plane, size % plane
    start = _start_box(np.maximum(rest - 1, 0), rows, cols)
    result: IntArray = images * (rows.whole * cols.whole) + np.where(rest > 0, start, 0)
    return result


def _start_box(last: IntArray, rows: Axis, cols: Axis) -> IntArray:
    """Input pixels read by output pixels `0..last` of an image: the whole rows above the last
    one, and the start of the last row; their union by inclusion–exclusion (`_part_box` with
    the first row whole)."""
    bottom, right = np.divmod(last, cols.outputs)
    zero = np.zeros(last.shape, dtype=last.dtype)
    above = (zero, bottom - 1)
    start = cols.touched(zero, right)
    overlap = rows.common((above, (bottom, bottom)))
    result: IntArray = (
        rows.touched(*above) * cols.whole + (rows.touched(bottom, bottom) - overlap) * start
    )
    return result


@lru_cache(maxsize=1024)
def box_pixels(batch: int, rows: Axis, cols: Axis, m_tile: int) -> IntArray:
    """Input pixels each M-tile of `m_tile` output pixels reads, in tile order (read-only:
    memoized)."""
    plane = rows.outputs * cols.outputs
    starts = np.arange(0, batch * plane, m_tile, dtype=np.int64)
    ends = np.minimum(starts + m_tile, batch * plane) - 1
    first_image, first_pixel = np.divmod(starts, plane)
    last_image, last_pixel = np.divmod(ends, plane)
    one_image = first_image == last_image
    inside = _part_box(first_pixel, np.where(one_image, last_pixel, plane - 1), rows, cols)
    if one_image.all():
        return inside
    tail = _start_box(last_pixel, rows, cols)
    middle = np.maximum(last_image - first_image - 1, 0) * (rows.whole * cols.whole)
    result: IntArray = np.where(one_image, inside, inside + middle + tail)
    return result


def _part_box(first: IntArray, last: IntArray, rows: Axis, cols: Axis) -> IntArray:
    """Input pixels read by output pixels `first..last` of one image (raster order).

    A span over several output rows is three rectangles: the rest of the first row, the whole
    middle rows and the start of the last row; their union is counted by inclusion–exclusion.
    The middle rows read every column the others do, so only the first and last rows' column
    ranges need intersecting.
    """
    width = cols.outputs
    top, left = np.divmod(first, width)
    bottom, right = np.divmod(last, width)
    if (top == bottom).all():  # each span within one row: one rectangle
        within: IntArray = rows.touched(top, top) * cols.touched(left, right)
        return within
    if not left.any() and (right == width - 1).all():  # whole rows: one rectangle
        whole: IntArray = rows.touched(top, bottom) * cols.whole
        return whole
    end = np.empty_like(first)  # `np.full_like`, without its Python
    end.fill(width - 1)
    zero = np.zeros(first.shape, dtype=first.dtype)
    head, body, foot = (top, top), (top + 1, bottom - 1), (bottom, bottom)
    head_rows = rows.touched(*head)  # also the single row's, where the span is within one
    head_cols, foot_cols = cols.touched(left, end), cols.touched(zero, right)
    both_cols = cols.common(((left, end), (zero, right)))
    spanning = (
        head_rows * head_cols + rows.touched(*body) * cols.whole
        + rows.touched(*foot) * foot_cols
        - rows.common((head, body)) * head_cols - rows.common((body, foot)) * foot_cols
        - (rows.common((head, foot)) - rows.common((head, body, foot))) * both_cols
    )  # fmt: skip
    single = head_rows * cols.touched(left, right)
    result: IntArray = np.where(top == bottom, single, spanning)
    return result
