"""Tile sizes that respect the array's folds, loop orders and passes, buffer fit and its errors."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import chip_with, single_layer
from hypothesis import given, settings
from hypothesis import strategies as st

from accel.errors import InputError
from accel.mapping.array import ArrayMapping
from accel.mapping.mapper import map_layer
from accel.memory import tile_fit, tile_grid
from accel.memory import tiling as tiles
from accel.memory.geometry import LayerGeometry
from accel.memory.model import MemoryTraffic, model_memory
from accel.model.ops import Conv, FullyConnected
from accel.perf.timing import time_layer


def _trips(m: int, k: int, n: int) -> dict[str, np.ndarray]:
    return {"m": np.array([m]), "k": np.array([k]), "n": np.array([n])}


@pytest.mark.parametrize(
    ("order", "trips", "passes"),
    [
        # n outermost repeats the ifmap; m innermost keeps each weight tile; k in the middle
        # revisits each output tile once per K-tile.
        ("nkm", (3, 2, 4), {"ifmap": 4, "weight": 1, "ofmap": 2}),
        ("mkn", (3, 2, 4), {"ifmap": 1, "weight": 3, "ofmap": 2}),
        ("kmn", (3, 2, 4), {"ifmap": 1, "weight": 3, "ofmap": 2}),
        # A loop of one trip changes nothing: m and n single tiles keep the output resident.
        ("kmn", (1, 2, 1), {"ifmap": 1, "weight": 1, "ofmap": 1}),
        ("nmk", (2, 1, 3), {"ifmap": 3, "weight": 1, "ofmap": 1}),
    ],
)
def test_refetches_follow_the_loop_order(
    order: str, trips: tuple[int, int, int], passes: dict[str, int]
) -> None:
    table = _trips(*trips)
    found = {op: int(tiles.refetches(order, table, op)[0]) for op in passes}  # type: ignore[arg-type]
    assert found == passes


def _tiling(order: str, m: int, k: int, n: int) -> tiles.Tiling:
    return tiles.Tiling("ws", order, 1, 1, 1, m, k, n, 1, 0, 0, 0)


def test_resident_operand_is_the_one_the_innermost_moving_loop_skips() -> None:
    assert _tiling("nkm", 3, 2, 4).resident == "weight"
    assert _tiling("mnk", 3, 2, 4).resident == "ofmap"
    assert _tiling("kmn", 3, 2, 4).resident == "ifmap"
    assert _tiling("nkm", 1, 2, 1).resident == "ofmap"  # only k moves
    assert _tiling("nkm", 1, 1, 1).resident == "all"
    assert _tiling("nkm", 3, 2, 4).passes("ifmap") == 4
    assert _tiling("nkm", 3, 2, 4).steps == 24


def test_mapped_dimensions_are_cut_in_whole_folds() -> None:
    layer = single_layer(Conv(kernel=3, padding=1, out_channels=100), 20, 14)
    chip = chip_with(array__rows=16, array__cols=8)
    array = map_layer(layer, chip).array
    assert array is not None and (array.k, array.n) == (180, 100)
    grid = tile_grid.candidates(array, LayerGeometry.of(layer, 1))
    assert all(size % 16 == 0 or size == 180 for size in grid.k)  # K on rows (ws)
    assert all(size % 8 == 0 or size == 100 for size in grid.n)  # N on cols
    assert 144 in grid.k  # lcm(16, 9 taps): whole channels per K-tile
    # M streams in time: whole output rows, images, and the smallest legal tile (1 pixel).
    assert {1, 7, 14, 28, 196}.issubset(set(grid.m.tolist()))


def test_ofmap_tiles_hold_accumulators_only_while_reducing() -> None:
    layer = single_layer(Conv(kernel=1, out_channels=8), 64, 4)
    for dataflow, expected in (("ws", 4), ("os", 1)):
        chip = chip_with(array__dataflow=dataflow)
        array = map_layer(layer, chip).array
        assert array is not None
        geometry = LayerGeometry.of(layer, 1)
        grid = tile_grid.candidates(array, geometry)
        sizes = tile_fit.tile_bytes(grid, geometry, array, chip, has_bias=True)
        whole = sizes["ofmap"][-1, -1, -1]
        assert whole == 16 * 8 * expected  # ws: K = 64 > 32 rows, accumulate; os: in the PEs


def _memory(layer_op: Conv | FullyConnected, shape: tuple[int, int], **chip: object) -> None:
    layer = single_layer(layer_op, *shape)
    config = chip_with(**chip)
    mapping = map_layer(layer, config)
    model_memory(mapping, time_layer(mapping, config), config)


def test_a_weight_tile_too_big_for_its_buffer_is_an_error() -> None:
    with pytest.raises(
        InputError,
        match=r"^layer 'layer': weight buffer \(512 bytes per half\) must hold at least one "
        r"weight tile of 1152 bytes \(m_tile 1, k_tile 32, n_tile 32\), not 512$",
    ):
        _memory(FullyConnected(out_features=64), (64, 1), sram__weight__size_kib=1)


def test_an_ifmap_tile_too_big_for_its_buffer_is_an_error() -> None:
    # The smallest tile: one output pixel × the 32 K elements of one fold of rows. At worst
    # they cover 4 channels' whole 3 × 3 windows (36 pixels); e.g. K 36..67 is channels 4..6
    # whole (27) and taps 0..4 of channel 7 (kernel rows 0..1: 6 pixels).
    with pytest.raises(
        InputError,
        match=r"^layer 'layer': ifmap buffer \(32 bytes per half\) must hold at least one ifmap "
        r"tile of 36 bytes \(m_tile 1, k_tile 32, n_tile 8\), not 32$",
    ):
        _memory(Conv(kernel=3, padding=1, out_channels=8), (64, 6), sram__ifmap__size_kib=0.0625)


def test_a_unified_buffer_must_hold_the_sum_of_its_tiles() -> None:
    with pytest.raises(
        InputError,
        match=r"^layer 'layer': unified buffer \(256 bytes per half\) must hold at least one "
        r"ifmap \+ weight \+ ofmap tile of 1312 bytes \(m_tile 1, k_tile 32, n_tile 32\)",
    ):
        _memory(
            FullyConnected(out_features=64),
            (64, 1),
            sram__ifmap=None,
            sram__weight=None,
            sram__ofmap=None,
            sram__unified={"size_kib": 0.5},
        )


def test_the_error_policy_is_the_default_and_keeps_its_message() -> None:
    with pytest.raises(InputError, match=r"^layer 'layer': weight buffer \(512 bytes per half\)"):
        _memory(FullyConnected(out_features=64), (64, 1), sram__weight__size_kib=1,
                sram__undersized="error")  # fmt: skip


def _streamed(op: Conv | FullyConnected, shape: tuple[int, int], **chip: object) -> MemoryTraffic:
    layer = single_layer(op, *shape)
    config = chip_with(sram__undersized="stream", **chip)
    mapping = map_layer(layer, config)
    return model_memory(mapping, time_layer(mapping, config), config)


def test_a_streamed_weight_passes_through_its_buffer_in_halves() -> None:
    # ws keeps each 32 × 32 weight fold in the PEs: streaming it through a 512-byte half costs
    # no refetch (M = 1: one chunk per fold), only pieces of at most 512 bytes.
    memory = _streamed(FullyConnected(out_features=64), (64, 1), sram__weight__size_kib=1)
    assert memory.tiling is not None and memory.tiling.streamed == ("weight",)
    assert memory.dram_weight_bytes == memory.compulsory_weight_bytes == 64 * 64 + 64 * 4
    assert memory.schedule is not None
    pieces = [load.bytes for load in memory.schedule.prologue if load.kind == "weight"]
    pieces += [load.bytes for step in memory.schedule.steps() for load in step.loads
               if load.kind == "weight"]  # fmt: skip
    assert max(pieces) == 512 and sum(pieces) == 64 * 64 + 64 * 4


def test_a_streamed_ifmap_is_fetched_once_per_column_fold() -> None:
    # 16 bytes per half cannot hold the 32 ifmap bytes of one row fold: each of the two column
    # folds (N = 64 on 32 columns) reads the 64 input bytes again, straight from DRAM.
    memory = _streamed(FullyConnected(out_features=64), (64, 1), sram__ifmap__size_kib=1 / 32)
    assert memory.tiling is not None and memory.tiling.streamed == ("ifmap",)
    assert (memory.dram_ifmap_bytes, memory.compulsory_ifmap_bytes) == (2 * 64, 64)
    assert memory.tiling.passes("ifmap") == 2


def test_a_unified_buffer_too_small_for_its_tiles_streams_all_of_them() -> None:
    memory = _streamed(
        FullyConnected(out_features=64), (64, 1), sram__ifmap=None, sram__weight=None,
        sram__ofmap=None, sram__unified={"size_kib": 0.5},
    )  # fmt: skip
    assert memory.tiling is not None
    assert memory.tiling.streamed == ("ifmap", "weight", "ofmap")
    assert memory.schedule is not None  # an equal share of the 256-byte half each
    loads = [load.bytes for step in memory.schedule.steps() for load in step.loads]
    assert max(loads) <= 256 // 3


def _depthwise(channels: int, size: int, **chip: object) -> MemoryTraffic:
    layer = single_layer(Conv(kernel=3, padding=1, out_channels=channels, groups=channels),
                         channels, size)  # fmt: skip
    config = chip_with(**chip)
    mapping = map_layer(layer, config)
    return model_memory(mapping, time_layer(mapping, config), config)


SMALL_HALVES = {"sram__ifmap__size_kib": 1, "sram__weight__size_kib": 1, "sram__ofmap__size_kib": 1}


def test_uncut_groups_coalesce_up_to_what_fits_a_buffer_half() -> None:
    # Per 7 × 7 channel: 49 ifmap bytes, 9 weights + a 4-byte bias, 49 int8 outputs. Halves of
    # 512 bytes hold 10 channels' ifmap (and ofmap): that, and the powers of two below it.
    single = tiles.Tiling("ws", "mkn", 49, 9, 1, 1, 1, 1, 96, 49, 13, 49)
    blocks = tiles.group_blocks(single, chip_with(**SMALL_HALVES))
    assert [block.g_tile for block in blocks] == [2, 4, 8, 10]
    largest = blocks[-1]
    assert (largest.g_tiles, largest.steps, largest.describe()) == (
        10, 10, "G10 M49 K9 N1 mkn (all resident)"
    )
    assert (largest.ifmap_tile_bytes, largest.weight_tile_bytes) == (490, 130)
    assert tiles.group_blocks(largest, chip_with(**SMALL_HALVES)) == []
    # The chooser takes a block: same bytes (compulsory), fewer steps than the 96 channels.
    memory = _depthwise(96, 7, **SMALL_HALVES)
    assert memory.tiling is not None and memory.tiling.g_tile in (2, 4, 8, 10)
    assert memory.tile_steps == memory.tiling.g_tiles < 96
    assert memory.dram_bytes == memory.compulsory_dram_bytes == 96 * (49 + 13 + 49)


def test_blocks_built_before_serve_another_buffer_size() -> None:
    """`made` keeps each block per groups per step: asked again at other buffer sizes (an
    SRAM-only sweep point), `group_blocks` reuses the blocks it built and builds the others,
    the same blocks as without it."""
    single = tiles.Tiling("ws", "mkn", 49, 9, 1, 1, 1, 1, 96, 49, 13, 49)
    made: dict[int, tiles.Tiling] = {}
    small = tiles.group_blocks(single, chip_with(**SMALL_HALVES), made)
    assert small == tiles.group_blocks(single, chip_with(**SMALL_HALVES))
    assert sorted(made) == [2, 4, 8, 10]
    halves = {key: 4 for key in SMALL_HALVES}
    large = tiles.group_blocks(single, chip_with(**halves), made)
    assert large == tiles.group_blocks(single, chip_with(**halves))
    assert [block.g_tile for block in large] == [2, 4, 8, 16, 32, 41]
    assert all(large[i] is small[i] for i in range(3))  # 2, 4 and 8 groups: built once


def test_groups_whose_gemm_is_cut_stay_one_per_step() -> None:
    # A 56 × 56 channel's 3136 ifmap bytes overflow a 512-byte half: M is cut, one group a step.
    memory = _depthwise(16, 56, sram__ifmap__size_kib=1)
    tiling = memory.tiling
    assert tiling is not None and tiling.m_tiles > 1 and tiling.g_tile == 1
    assert memory.tile_steps == tiling.steps == 16 * tiling.m_tiles
    assert tiles.group_blocks(tiling, chip_with(sram__ifmap__size_kib=1)) == []
    with pytest.raises(ValueError, match=r"^g_tile must be 1, or up to 16 groups when no dim"):
        tiling.replace(g_tile=2)


def test_a_unified_buffer_bounds_the_groups_by_their_sum() -> None:
    # 49 + 13 + 49 = 111 bytes per channel in one 1 KiB half: 9 channels.
    single = tiles.Tiling("ws", "mkn", 49, 9, 1, 1, 1, 1, 32, 49, 13, 49)
    unified = chip_with(sram__ifmap=None, sram__weight=None, sram__ofmap=None,
                        sram__unified={"size_kib": 2})  # fmt: skip
    assert [block.g_tile for block in tiles.group_blocks(single, unified)] == [2, 4, 8, 9]


@settings(max_examples=200, deadline=None)
@given(
    sizes=st.tuples(*[st.integers(1, 40)] * 3), totals=st.tuples(*[st.integers(1, 120)] * 3),
    order=st.sampled_from(tiles.LOOP_ORDERS), dataflow=st.sampled_from(["os", "ws", "is"]),
    rows=st.integers(1, 16), cols=st.integers(1, 16),
)  # fmt: skip
def test_a_tilings_in_place_is_the_grid_rule_on_one_candidate(
    sizes: tuple[int, int, int], totals: tuple[int, int, int], order: str, dataflow: str,
    rows: int, cols: int,
) -> None:
    """`Tiling.in_place` evaluates `streams_in_place` on plain integers: the same answer as the
    grid form on one-element arrays (how it was evaluated before)."""
    array = ArrayMapping(dataflow, *totals, 1, rows, cols)  # type: ignore[arg-type]
    trips = [-(-total // size) for total, size in zip(totals, sizes, strict=True)]
    tiling = tiles.Tiling(dataflow, order, *sizes, *trips, 1, 1, 1, 1)  # type: ignore[arg-type]
    grid = tiles.streams_in_place(
        order, {dim: np.array([size]) for dim, size in zip("mkn", sizes, strict=True)},
        {dim: np.array([trip]) for dim, trip in zip("mkn", trips, strict=True)}, array,
    )  # type: ignore[arg-type]  # fmt: skip
    assert tiling.in_place(array) is bool(grid[0])
