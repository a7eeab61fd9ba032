"""Input boxes of GEMM tiles: halo rows, strided skips, dilation, channels per K-tile."""

from __future__ import annotations

from typing import Any

import numpy as np
from conftest import layers, single_layer
from hypothesis import given, settings
from hypothesis import strategies as st

from accel.memory.geometry import KPart, LayerGeometry, _k_part, _k_patterns
from accel.model.network import Layer
from accel.model.ops import Conv, FullyConnected


def geometry(op: Conv | FullyConnected, channels: int, size: int, batch: int = 1) -> LayerGeometry:
    return LayerGeometry.of(single_layer(op, channels, size), batch)


def test_row_tiles_of_a_padded_3x3_conv_read_halo_rows() -> None:
    g = geometry(Conv(kernel=3, padding=1, out_channels=4), 2, 8)
    assert (g.m, g.k, g.plane, g.image_box) == (64, 18, 64, 64)
    # One output row reads 3 input rows, 2 at the padded top and bottom edges.
    assert g.box_pixels(8).tolist() == [16] + [24] * 6 + [16]
    # Half a row reads its 4 columns plus one halo column (the padding side has none).
    assert g.box_pixels(4).tolist()[:2] == [2 * 5, 2 * 5]
    assert g.box_pixels(64).tolist() == [64]


def test_tiles_spanning_rows_read_the_union_of_their_rows_boxes() -> None:
    g = geometry(Conv(kernel=3, padding=1, out_channels=4), 1, 8)
    # Pixels 0..11: output row 0 (input rows 0..1, all 8 columns) and the first 4 pixels of
    # row 1 (input rows 0..2, columns 0..4): 16 + one more row of 5 columns.
    assert g.box_pixels(12).tolist()[0] == 16 + 5
    # Pixels 12..23: the end of row 1 (input rows 0..2, columns 3..7) and all of row 2 (input
    # rows 1..3): rows 1..3 whole, plus columns 3..7 of row 0.
    assert g.box_pixels(12).tolist()[1] == 4 * 8 - 3


def test_k_tiles_inside_a_channel_read_only_their_taps() -> None:
    g = geometry(Conv(kernel=3, padding=1, out_channels=4), 2, 8)
    # K = 2 channels × 9 taps in tiles of 4: taps 0..3 (kernel rows 0..1), 4..7 (rows 1..2),
    # 8 of channel 0 and 0..2 of channel 1, 3..6, 7..8.
    assert g.k_parts(4) == [
        ((1, (0, 1, 0, 2)),),
        ((1, (1, 2, 0, 2)),),
        ((1, (0, 0, 0, 2)), (1, (2, 2, 2, 2))),
        ((1, (1, 2, 0, 2)),),
        ((1, (2, 2, 1, 2)),),
    ]
    assert g.k_parts(18) == [((2, g.all_taps),)]
    # The last tap (bottom right) of every output pixel: an 8×8 input shifted by one.
    assert g.box_pixels(64, (2, 2, 2, 2)).tolist() == [7 * 7]
    assert sum(g.k_patterns(4).values()) == 5


@given(
    kernel=st.tuples(st.integers(1, 7), st.integers(1, 7)),
    channels=st.integers(1, 40),
    k_tile=st.integers(1, 400),
)
def test_k_tiles_repeated_by_period_are_the_k_tiles_listed_one_by_one(
    kernel: tuple[int, int], channels: int, k_tile: int
) -> None:
    """`k_parts` repeats one period of K-tiles (then the partial last): the pieces listing
    every K-tile from its start gives."""
    g = geometry(Conv(kernel=kernel, padding=3, out_channels=4), channels, 9)
    assert g.k_parts(k_tile) == _k_parts_one_by_one(g, k_tile)
    assert len(g.k_parts(k_tile)) == -(-g.k // k_tile)


def _k_parts_one_by_one(g: LayerGeometry, k_tile: int) -> list[KPart]:
    """`k_parts` tile by tile, each from its start."""
    return [_k_part(start % g.taps, min(k_tile, g.k - start), g.rows.kernel, g.cols.kernel)
            for start in range(0, g.k, k_tile)]  # fmt: skip


def test_stride_larger_than_kernel_skips_unread_rows() -> None:
    g = geometry(Conv(kernel=1, stride=2, out_channels=4), 3, 8)
    assert g.image_box == 16  # rows and columns 0, 2, 4, 6
    assert g.box_pixels(4).tolist() == [4, 4, 4, 4]


def test_valid_window_leaves_the_last_rows_unread() -> None:
    g = geometry(Conv(kernel=11, stride=4, out_channels=4), 3, 224)
    assert g.rows.outputs == 54
    assert g.image_box == 223 * 223  # the last window ends at row 53·4 + 10 = 222


def test_dilated_windows_read_only_their_taps() -> None:
    g = geometry(Conv(kernel=3, dilation=2, padding=2, out_channels=4), 1, 7)
    # One output pixel at (0, 0) reads rows {0, 2} and columns {0, 2} (−2 is padding).
    assert g.box_pixels(1).tolist()[0] == 4
    assert g.image_box == 49


def test_fully_connected_tiles_read_one_vector_per_image() -> None:
    g = geometry(FullyConnected(out_features=10), 16, 2, batch=5)
    assert (g.m, g.k, g.taps) == (5, 64, 1)
    assert g.box_pixels(2).tolist() == [2, 2, 1]
    assert g.channels(32).tolist() == [32, 32]


def test_k_tiles_touch_channels_whole_or_split() -> None:
    g = geometry(Conv(kernel=3, padding=1, out_channels=4), 2, 8)  # K = 2 channels × 9 taps
    assert g.channels(4).tolist() == [1, 1, 2, 1, 1]
    assert g.channels(9).tolist() == [1, 1]
    assert g.channels(18).tolist() == [2]


def test_tiles_across_images_add_whole_images() -> None:
    g = geometry(Conv(kernel=3, padding=1, out_channels=4), 1, 4, batch=3)
    assert g.box_pixels(48).tolist() == [3 * 16]
    # Tile 0: image 0 whole + image 1's first row (input rows 0..1); tile 1: image 1's rows
    # 1..3 (input rows 0..3) + image 2's rows 0..1 (input rows 0..2); tile 2: rows 2..3.
    assert g.box_pixels(20).tolist() == [16 + 2 * 4, 4 * 4 + 3 * 4, 3 * 4]


@settings(max_examples=80, deadline=None)
@given(
    size=st.integers(3, 12),
    kernel=st.sampled_from([1, 2, 3, 5]),
    stride=st.integers(1, 3),
    dilation=st.integers(1, 2),
    pad=st.integers(0, 2),
    tile=st.integers(1, 40),
    taps=st.tuples(st.integers(0, 4), st.integers(0, 4), st.integers(0, 4), st.integers(0, 4)),
)
def test_boxes_match_a_brute_force_count(
    size: int, kernel: int, stride: int, dilation: int, pad: int, tile: int,
    taps: tuple[int, int, int, int],
) -> None:
    op = Conv(kernel=kernel, stride=stride, dilation=dilation, padding=pad, out_channels=1)
    try:
        g = geometry(op, 1, size, batch=2)
    except Exception:  # the kernel does not fit this input
        return
    r0, r1 = sorted(t % kernel for t in taps[:2])
    s0, s1 = sorted(t % kernel for t in taps[2:])
    expected = [
        _brute_box(g, start, min(start + tile, g.m), (r0, r1, s0, s1))
        for start in range(0, g.m, tile)
    ]
    assert g.box_pixels(tile, (r0, r1, s0, s1)).tolist() == expected


def _brute_box(g: LayerGeometry, start: int, end: int, taps: tuple[int, int, int, int]) -> int:
    """The input pixels read by the tile's output pixels through taps in the box, per image."""
    total = 0
    for image in range(g.batch):
        read = set()
        for p in range(start, end):
            if p // g.plane != image:
                continue
            oh, ow = divmod(p % g.plane, g.cols.outputs)
            rows = _positions(g.rows, oh, taps[0], taps[1])
            cols = _positions(g.cols, ow, taps[2], taps[3])
            read |= {(y, x) for y in rows for x in cols}
        total += len(read)
    return total


def _positions(axis: Any, output: int, first_tap: int, last_tap: int) -> set[int]:
    positions = {
        output * axis.stride - axis.pad_before + tap * axis.dilation
        for tap in range(first_tap, last_tap + 1)
    }
    return {p for p in positions if 0 <= p < axis.size}


@settings(max_examples=80, deadline=None)
@given(
    size=st.integers(3, 12),
    kernel=st.sampled_from([1, 2, 3, 5]),
    stride=st.integers(1, 3),
    dilation=st.integers(1, 2),
    pad=st.integers(0, 2),
    batch=st.integers(1, 3),
    tiles=st.lists(st.integers(1, 60), min_size=1, max_size=6, unique=True),
    taps=st.tuples(st.integers(0, 4), st.integers(0, 4), st.integers(0, 4), st.integers(0, 4)),
)
def test_box_stats_of_many_tile_sizes_equal_the_boxes_they_sum(
    size: int, kernel: int, stride: int, dilation: int, pad: int, batch: int,
    tiles: list[int], taps: tuple[int, int, int, int],
) -> None:
    op = Conv(kernel=kernel, stride=stride, dilation=dilation, padding=pad, out_channels=1)
    try:
        g = geometry(op, 1, size, batch=batch)
    except Exception:  # the kernel does not fit this input
        return
    r0, r1 = sorted(t % kernel for t in taps[:2])
    s0, s1 = sorted(t % kernel for t in taps[2:])
    # Row-aligned sizes (divisors and multiples of the output width) take the closed forms.
    width = g.cols.outputs
    m_tiles = tuple(dict.fromkeys([*tiles, 1, width, 2 * width, g.plane, g.m]))
    sums, largest = g.box_stats(m_tiles, (r0, r1, s0, s1))
    boxes = [g.box_pixels(m, (r0, r1, s0, s1)) for m in m_tiles]
    assert sums.tolist() == [int(box.sum()) for box in boxes]
    assert largest.tolist() == [int(box.max()) for box in boxes]
    assert g.box_smallest(m_tiles, (r0, r1, s0, s1)).tolist() == [int(b.min()) for b in boxes]
    assert g.first_box(m_tiles, (r0, r1, s0, s1)).tolist() == [int(b[0]) for b in boxes]
    figures = g.tap_figures(m_tiles, ((r0, r1, s0, s1),))  # the four at once
    assert [each[:, 0].tolist() for each in figures] == [
        [int(b.sum()) for b in boxes], [int(b.max()) for b in boxes],
        [int(b.min()) for b in boxes], [int(b[0]) for b in boxes],
    ]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(
    channels=st.integers(1, 300),
    kernel_rows=st.integers(1, 7),
    kernel_cols=st.integers(1, 7),
    k_tile=st.integers(1, 600),
)
def test_k_patterns_count_the_shapes_of_every_listed_k_tile(
    channels: int, kernel_rows: int, kernel_cols: int, k_tile: int
) -> None:
    taps = kernel_rows * kernel_cols
    k = channels * taps
    # The plain count: list every K-tile's (first tap, length), count equal ones in sorted order.
    starts = np.arange(0, k, k_tile)
    shapes = np.stack([starts % taps, np.minimum(k_tile, k - starts)], axis=1)
    unique, counts = np.unique(shapes, axis=0, return_counts=True)
    expected: dict[KPart, int] = {}
    for (offset, length), count in zip(unique.tolist(), counts.tolist(), strict=True):
        part = _k_part(offset, length, kernel_rows, kernel_cols)
        expected[part] = expected.get(part, 0) + count
    found = _k_patterns(k, taps, kernel_rows, kernel_cols, k_tile)
    assert list(found.items()) == list(expected.items())


def test_equal_geometries_are_one_object() -> None:
    """`LayerGeometry.of` gives one object per value: memos keyed on geometries find their
    keys by identity (a sweep asks for every layer's again at each point)."""
    op = Conv(kernel=3, padding=1, out_channels=4)
    first = geometry(op, 2, 8)
    assert geometry(op, 2, 8) is first
    assert geometry(op, 2, 8, batch=2) is not first
    assert geometry(op, 2, 8, batch=2) == geometry(op, 2, 8, batch=2)


@settings(max_examples=40, deadline=None)
@given(layer=layers, batch=st.integers(1, 3))
def test_a_layers_geometry_found_again_is_the_one_worked_out(layer: Layer, batch: int) -> None:
    """`LayerGeometry.of` finds a layer's geometry again by what it reads of the layer (op,
    shapes, batch), built anew or not: the geometry `_made` works out, one object per value."""
    first = LayerGeometry.of(layer, batch)
    again = Layer("other", layer.op, ("x",), layer.input_shapes, layer.output_shape)
    assert LayerGeometry.of(again, batch) is first
    assert first == LayerGeometry._made(layer, batch)
    other = LayerGeometry.of(layer, batch + 1)
    assert other == LayerGeometry._made(layer, batch + 1) and other.batch == batch + 1


def test_layers_that_differ_only_in_output_rows_have_their_own_geometries() -> None:
    """A SCALE-Sim topology sizes outputs by its own rounding: the same op on the same input
    with another output shape reads other input rows."""
    layer = single_layer(Conv(kernel=3, stride=2, out_channels=4), 2, 8)
    out = layer.output_shape
    taller = Layer("taller", layer.op, ("input",), layer.input_shapes,
                   type(out)(out.channels, out.height + 1, out.width))  # fmt: skip
    assert LayerGeometry.of(taller, 1).rows.outputs == out.height + 1
    assert LayerGeometry.of(layer, 1).rows.outputs == out.height
