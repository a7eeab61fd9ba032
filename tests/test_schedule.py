"""Schedules: the M/K/N tiles and chains a mapping and its tiling run, and how chunks merge."""

from __future__ import annotations

import pytest
from conftest import chip_with, chips, layers, streaming_chips
from hypothesis import given, settings

from accel.config import ArrayConfig, ChipConfig
from accel.errors import InputError
from accel.functional.engine import schedules_for
from accel.functional.schedule import Schedule, in_loop_order, merge_runs
from accel.io.sources import load_network
from accel.mapping.array import ArrayMapping, ceil_div
from accel.mapping.mapper import map_layer
from accel.memory import tiling as tiles
from accel.memory.model import model_memory
from accel.model.network import GemmView, Layer
from accel.perf.timing import time_layer
from accel.simulation import simulate_network


@pytest.mark.parametrize(
    ("dataflow", "m_chunks", "k_chunks", "n_chunks"),
    [
        # ws: K on rows (4), N on columns (3), M streamed whole
        ("ws", ((0, 10),), ((0, 4), (4, 8), (8, 9)), ((0, 3), (3, 5))),
        # is: K on rows, M on columns, N streamed whole
        ("is", ((0, 3), (3, 6), (6, 9), (9, 10)), ((0, 4), (4, 8), (8, 9)), ((0, 5),)),
        # os: M on rows, N on columns, all of K in each PE
        ("os", ((0, 4), (4, 8), (8, 10)), ((0, 9),), ((0, 3), (3, 5))),
    ],
)
def test_schedule_lists_the_fold_grid(
    dataflow: str,
    m_chunks: tuple[tuple[int, int], ...],
    k_chunks: tuple[tuple[int, int], ...],
    n_chunks: tuple[tuple[int, int], ...],
) -> None:
    array = ArrayConfig(rows=4, cols=3, dataflow=dataflow)
    mapping = ArrayMapping.place(GemmView(m=5, k=9, n=5, groups=2), batch=2, array=array)
    schedule = Schedule.from_array_mapping(mapping)
    assert (schedule.m, schedule.k, schedule.n) == (10, 9, 5)
    assert (schedule.m_chunks, schedule.k_chunks, schedule.n_chunks) == (
        m_chunks,
        k_chunks,
        n_chunks,
    )
    assert schedule.passes == mapping.folds_per_group


def test_merge_runs_joins_only_contiguous_chunks() -> None:
    assert merge_runs([(0, 4), (4, 8), (8, 9)]) == ((0, 9),)
    assert merge_runs([(0, 4), (8, 9)]) == ((0, 4), (8, 9))  # a dropped chunk leaves a gap
    assert merge_runs([(0, 4), (0, 4)]) == ((0, 4), (0, 4))  # a repeated chunk runs twice
    assert merge_runs([(4, 8), (0, 4)]) == ((4, 8), (0, 4))  # order is kept
    assert merge_runs([]) == ()


def _tiling(
    array: ArrayMapping, order: str, m_tile: int, k_tile: int, n_tile: int
) -> tiles.Tiling:
    trips = (ceil_div(array.m, m_tile), ceil_div(array.k, k_tile), ceil_div(array.n, n_tile))
    return tiles.Tiling(array.dataflow, order, m_tile, k_tile, n_tile, *trips, array.groups, 0, 0, 0)


# M = 10, K = 9, N = 5 on a 4-row × 3-column array.
_ARRAY = {
    df: ArrayMapping.place(
        GemmView(m=5, k=9, n=5, groups=1), 2, ArrayConfig(rows=4, cols=3, dataflow=df)
    )
    for df in ("os", "ws", "is")
}


@pytest.mark.parametrize(
    ("dataflow", "tile", "order", "k_chains", "in_pes"),
    [
        # ws: K tiles of two row folds, each fold a chain; the last tile is partial.
        ("ws", (10, 8, 3), "knm", (((0, 4),), ((4, 8),), ((8, 9),)), False),
        # is: one K tile of all of K, still summed fold by fold down the columns.
        ("is", (6, 9, 5), "nmk", (((0, 4),), ((4, 8),), ((8, 9),)), False),
        # os, tiles of two M folds: each K tile drains from the PEs, one chain per K tile.
        ("os", (8, 4, 3), "mnk", (((0, 4),), ((4, 8),), ((8, 9),)), False),
        # os, single-fold tiles with K innermost: the partial sums stay in the PEs.
        ("os", (4, 4, 3), "mnk", (((0, 4), (4, 8), (8, 9)),), True),
        # os, single-fold tiles but N moves inside K: each K tile drains.
        ("os", (4, 4, 3), "mkn", (((0, 4),), ((4, 8),), ((8, 9),)), False),
    ],
)
def test_schedule_from_tiling_runs_its_tiles_and_chains(
    dataflow: str,
    tile: tuple[int, int, int],
    order: str,
    k_chains: tuple[tuple[tuple[int, int], ...], ...],
    in_pes: bool,
) -> None:
    array = _ARRAY[dataflow]
    schedule = Schedule.from_tiling(array, _tiling(array, order, *tile))
    assert schedule.m_chunks == tuple((s, min(s + tile[0], 10)) for s in range(0, 10, tile[0]))
    assert schedule.k_chunks == tuple((s, min(s + tile[1], 9)) for s in range(0, 9, tile[1]))
    assert schedule.n_chunks == tuple((s, min(s + tile[2], 5)) for s in range(0, 5, tile[2]))
    assert (schedule.loop_order, schedule.k_chains, schedule.psums_in_pes) == (
        order,
        k_chains,
        in_pes,
    )


@pytest.mark.parametrize(
    ("dataflow", "tile", "message"),
    [
        ("ws", (10, 6, 3), r"k_tile must be a whole number of folds of 4 or all of K = 9, not 6"),
        ("os", (10, 9, 2), r"n_tile must be a whole number of folds of 3 or all of N = 5, not 2"),
        ("is", (5, 4, 5), r"m_tile must be a whole number of folds of 3 or all of M = 10, not 5"),
    ],
)
def test_from_tiling_refuses_tiles_that_cut_a_fold(
    dataflow: str, tile: tuple[int, int, int], message: str
) -> None:
    array = _ARRAY[dataflow]
    with pytest.raises(ValueError, match=message):
        Schedule.from_tiling(array, _tiling(array, "mkn", *tile))


def test_from_tiling_refuses_trip_counts_that_miss_tiles() -> None:
    array = _ARRAY["ws"]
    short = _tiling(array, "mkn", 10, 4, 3).replace(k_tiles=2)  # K = 9 needs 3 tiles of 4
    with pytest.raises(ValueError, match=r"tiling's k tiles must cover K = 9 in 2 tiles, not "):
        Schedule.from_tiling(array, short)


def test_from_tiling_refuses_another_layers_tiling() -> None:
    tiling = _tiling(_ARRAY["os"], "mkn", 4, 9, 3)
    with pytest.raises(ValueError, match=r"tiling must be for dataflow 'ws' with 1 groups, not"):
        Schedule.from_tiling(_ARRAY["ws"], tiling)


def test_loop_order_must_be_a_permutation() -> None:
    with pytest.raises(ValueError, match=r"loop order must be a permutation of 'mkn', not 'mmk'"):
        Schedule(1, 1, 1, ((0, 1),), ((0, 1),), ((0, 1),), loop_order="mmk")


def test_in_loop_order_visits_the_nest_outer_to_inner() -> None:
    visits = list(in_loop_order("kmn", ["m0", "m1"], ["k0", "k1"], ["n0"]))
    assert visits == [("m0", "k0", "n0"), ("m1", "k0", "n0"), ("m0", "k1", "n0"),
                      ("m1", "k1", "n0")]  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(layer=layers, chip=chips | streaming_chips)
def test_every_tiling_the_memory_model_chooses_is_a_valid_schedule(
    layer: Layer, chip: ChipConfig
) -> None:
    """The tiling's contract holds for its choices: every M, N and K index is covered once."""
    mapping = map_layer(layer, chip, 1)
    assert mapping.array is not None
    try:
        memory = model_memory(mapping, time_layer(mapping, chip), chip)
    except InputError:
        return  # no tile fits these buffers
    assert memory.tiling is not None
    array, tiling = mapping.array, memory.tiling
    schedule = Schedule.from_tiling(array, tiling)
    for chunks, total in ((schedule.m_chunks, array.m), (schedule.n_chunks, array.n)):
        assert merge_runs(chunks) == ((0, total),)
    chained = [k for chain in schedule.k_chains for k in chain]
    assert merge_runs(chained) == ((0, array.k),)
    if array.rows_dim == "k":  # every chain is one row fold of the array
        assert chained == [(s, min(s + array.array_rows, array.k))
                           for s in range(0, array.k, array.array_rows)]  # fmt: skip


def test_the_engine_runs_the_tiling_the_report_shows() -> None:
    """schedules_for (what execute and run_functional run) is simulate_network's tiling."""
    network = load_network("lenet5")
    chip = chip_with(array__rows=4, array__cols=4, array__dataflow="os",
                     sram__ifmap__size_kib=1, sram__weight__size_kib=0.5,
                     sram__ofmap__size_kib=1)  # fmt: skip
    result = simulate_network(network, chip, 2)
    schedules = schedules_for(network, chip, 2)
    tiled = {
        row.mapping.layer.name: Schedule.from_tiling(row.mapping.array, row.memory.tiling)
        for row in result.layers
        if row.mapping.array is not None and row.memory.tiling is not None
    }
    assert schedules == tiled and set(schedules) == {"conv1", "conv2", "conv3", "fc4", "fc5"}
    assert any(len(s.k_chunks) > 1 for s in schedules.values())  # K split across passes


def test_groups_per_step_leave_the_passes_unchanged() -> None:
    """Every pass runs all groups side by side: `g_tile` only groups the memory model's DMA."""
    array = ArrayMapping.place(GemmView(m=49, k=9, n=1, groups=96), 1, ArrayConfig())
    single = _tiling(array, "mkn", 49, 9, 1)
    coalesced = single.replace(g_tile=10)
    assert (single.steps, coalesced.steps) == (96, 10)
    assert Schedule.from_tiling(array, coalesced) == Schedule.from_tiling(array, single)
