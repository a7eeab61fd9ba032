"""The candidate grid: its ifmap bytes per (M-tile, K-tile) size, as matrix products over the
distinct tap boxes, equal summing every K-tile size's pieces one by one; each loop order's fit
from two evaluations equals evaluating it per order."""

from __future__ import annotations

import numpy as np
from conftest import chip_with, chips, layers, single_layer
from hypothesis import given, settings
from hypothesis import strategies as st

from accel.config import ChipConfig, Operand
from accel.mapping.array import GEMM_DIMS, ArrayMapping
from accel.mapping.mapper import map_layer
from accel.memory import tile_fit, tile_grid
from accel.memory.geometry import IntArray, LayerGeometry, Taps
from accel.memory.tiling import LOOP_ORDERS, Candidates
from accel.memory.traffic import order_traffics
from accel.model.network import Layer
from accel.model.ops import Conv, FullyConnected


def _one_by_one(array: ArrayMapping, geometry: LayerGeometry) -> Candidates:
    """The straightforward grid: a Python loop over K-tile sizes and each one's pieces."""
    sizes = {dim: tile_grid._sizes(dim, array, geometry) for dim in GEMM_DIMS}
    m_sizes = tuple(sizes["m"].tolist())
    shape = (len(sizes["m"]), len(sizes["k"]))
    total, largest = np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=np.int64)
    smallest = np.full(shape, np.iinfo(np.int64).max, dtype=np.int64)
    first = np.zeros(shape, dtype=np.int64)

    def box(taps: Taps) -> tuple[IntArray, IntArray]:
        return geometry.box_stats(m_sizes, taps)

    for j, k_tile in enumerate(sizes["k"].tolist()):
        for part, repeats in geometry.k_patterns(k_tile).items():
            total[:, j] += repeats * sum(count * box(taps)[0] for count, taps in part)
            largest[:, j] = np.maximum(largest[:, j], sum(c * box(t)[1] for c, t in part))
            fewest = sum(c * geometry.box_smallest(m_sizes, t) for c, t in part)
            smallest[:, j] = np.minimum(smallest[:, j], fewest)
        for count, taps in geometry.first_k_part(k_tile):
            first[:, j] += count * geometry.first_box(m_sizes, taps)
    return Candidates(sizes["m"], sizes["k"], sizes["n"], total, largest, first, smallest)


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(["conv", "conv", "conv", "fc"]),
    kernel=st.sampled_from([1, 2, 3, 5, 7]),
    stride=st.integers(1, 3),
    dilation=st.sampled_from([1, 1, 2]),
    pad=st.integers(0, 3),
    channels=st.integers(1, 40),
    height=st.integers(3, 20),
    width=st.integers(3, 20),
    batch=st.sampled_from([1, 1, 2, 3]),
    rows=st.sampled_from([2, 4, 8, 16]),
    cols=st.sampled_from([2, 4, 8, 16]),
    dataflow=st.sampled_from(["os", "ws", "is"]),
)
def test_the_grid_equals_summing_each_k_tile_size_piece_by_piece(
    kind: str, kernel: int, stride: int, dilation: int, pad: int, channels: int, height: int,
    width: int, batch: int, rows: int, cols: int, dataflow: str,
) -> None:
    op = (
        FullyConnected(out_features=channels + 3) if kind == "fc"
        else Conv(kernel=kernel, stride=stride, dilation=dilation, padding=pad, out_channels=8)
    )  # fmt: skip
    try:
        layer = single_layer(op, channels, height, width)
    except Exception:  # the kernel does not fit this input
        return
    chip = chip_with(array__rows=rows, array__cols=cols, array__dataflow=dataflow)
    array = map_layer(layer, chip, batch).array
    assert array is not None
    geometry = LayerGeometry.of(layer, batch)
    fast, plain = tile_grid.candidates(array, geometry), _one_by_one(array, geometry)
    for name in Candidates._fields:
        got, expected = getattr(fast, name), getattr(plain, name)
        assert got.dtype == expected.dtype and got.tolist() == expected.tolist(), name


def test_a_3x3_conv_grid_counts_halo_rows_and_partial_windows() -> None:
    layer = single_layer(Conv(kernel=3, padding=1, out_channels=8), 2, 8)
    chip = chip_with(array__rows=4, array__cols=4, array__dataflow="ws")
    array = map_layer(layer, chip).array
    assert array is not None
    grid = tile_grid.candidates(array, LayerGeometry.of(layer, 1))
    assert grid.m.tolist() == [1, 2, 4, 8, 16, 32, 64]
    assert grid.k.tolist() == [4, 18]  # one fold of 4 rows, or the whole K
    # Whole image (M 64) and both channels (K 18): the 8×8 input of each channel once.
    assert grid.ifmap_sum[-1, -1] == grid.ifmap_max[-1, -1] == 2 * 64
    # One output row (M 8) of a K-tile of the first 4 taps (kernel rows 0..1): 8 columns of
    # rows 0 and 1 (row 0's first tap reads the padding), summed over rows and K-tiles.
    assert grid.ifmap_first[3, 0] == 8 * 1


@settings(max_examples=40, deadline=None)
@given(layer=layers, chip=chips, streamed=st.sampled_from([(), ("ifmap",), ("weight", "ofmap")]))
def test_each_orders_fit_selects_between_outputs_in_the_pes_and_not(
    layer: Layer, chip: ChipConfig, streamed: tuple[Operand, ...]
) -> None:
    _fits_agree(layer, chip, streamed)


def test_outputs_kept_in_the_pes_fit_where_accumulators_do_not() -> None:
    # os, 4×4 array, 16-byte ofmap halves: a 4×4 tile fits as int8 outputs, not as int32 sums.
    layer = single_layer(Conv(kernel=3, padding=1, out_channels=4), 8, 4)
    chip = chip_with(array__rows=4, array__cols=4, array__dataflow="os",
                     sram__ofmap__size_kib=0.03125)  # fmt: skip
    assert _fits_agree(layer, chip, ()) > 0


def _fits_agree(layer: Layer, chip: ChipConfig, streamed: tuple[Operand, ...]) -> int:
    """Check `fits_per_order` against `fits` per order; return how many candidates fit only
    with their outputs in the PEs."""
    array = map_layer(layer, chip).array
    assert array is not None
    geometry = LayerGeometry.of(layer, 1)
    grid = tile_grid.candidates(array, geometry)
    sizes = tile_fit.tile_bytes(grid, geometry, array, chip, layer.bias_elements > 0)
    traffic = order_traffics(LOOP_ORDERS, grid, array, chip, layer.weight_bytes, streamed)
    in_place = [t.in_place for t in traffic]
    fast = tile_fit.fits_per_order(sizes, grid, array, in_place, chip, streamed)
    joint = traffic[0].joint
    assert joint is not None
    stacked = tile_fit.fits_per_order(sizes, grid, array, joint.in_place, chip, streamed)
    width = chip.array.element_bytes
    per_order = tile_fit.per_order_outputs_in_pes(sizes, grid, array, joint.in_place, width)
    only_inside = 0
    for o, (each, fit) in enumerate(zip(in_place, fast, strict=True)):
        order_sizes = tile_fit.with_outputs_in_pes(sizes, grid, array, each, width)
        assert fit.tolist() == tile_fit.fits(order_sizes, chip, streamed).tolist()
        assert stacked[o].tolist() == fit.tolist()
        assert per_order[o].keys() == order_sizes.keys()
        for operand, size in order_sizes.items():
            assert np.broadcast_to(per_order[o][operand], fit.shape).tolist() == (
                np.broadcast_to(size, fit.shape).tolist()
            )
        only_inside += int((fit & ~tile_fit.fits(sizes, chip, streamed)).sum())
    return only_inside
