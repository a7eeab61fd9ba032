"""The bound-pruned tiling search against the exhaustive one (every valid candidate replayed)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from conftest import chip_with, chips, layers, single_layer, sram_scaled, streaming_chips
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from accel.config import ChipConfig
from accel.errors import InputError
from accel.io.sources import load_network
from accel.mapping.mapper import map_layer
from accel.memory import model as memory
from accel.memory import plans, search, search_facts, variant_bounds
from accel.memory import tiling as tiles
from accel.memory.bounds import Grid, lower_bounds
from accel.memory.candidates import NoFit
from accel.memory.channel_cycles import channel_bound, transfer_bound
from accel.memory.geometry import LayerGeometry
from accel.memory.replay import replay_layer
from accel.memory.tile_schedule import Node, Step
from accel.model.network import Layer
from accel.model.ops import Conv, FullyConnected
from accel.perf.timing import time_layer

CHIPS = {
    "default": {},
    "8x8 os, 8 KiB buffers, 4 B/cycle": {
        "array__rows": 8, "array__cols": 8, "array__dataflow": "os", "sram__ifmap__size_kib": 8,
        "sram__weight__size_kib": 8, "sram__ofmap__size_kib": 8,
        "dram__bandwidth_bytes_per_cycle": 4,
    },
    "is, 2 B/cycle, single-buffered ofmap": {
        "array__dataflow": "is", "dram__bandwidth_bytes_per_cycle": 2,
        "sram__ofmap__double_buffered": False,
    },
    "64x64 os, 256 KiB buffers, 48 B/cycle, latency 300": {
        "array__rows": 64, "array__cols": 64, "array__dataflow": "os",
        "sram__ifmap__size_kib": 256, "sram__weight__size_kib": 256,
        "sram__ofmap__size_kib": 128, "dram__bandwidth_bytes_per_cycle": 48,
        "dram__latency_cycles": 300,
    },
}  # fmt: skip
NETWORKS = {
    "lenet5": ("lenet5", None),
    "lenet5_tanh": ("lenet5_tanh", None),
    "mobilenet_v2 at 32x32": ("mobilenet_v2", {"resolution": 32}),
    "resnet18 at 32x32": ("resnet18", {"resolution": 32}),
}


def _never_worse(layer_list: list[Layer], chip: ChipConfig) -> list[str]:
    """Every distinct array layer: the search's pick against the best of every candidate, and
    every candidate's bound against its replay; the failures, named."""
    failures: list[str] = []
    seen: set[object] = set()
    for layer in layer_list:
        mapping = map_layer(layer, chip)
        shape = (layer.op, layer.input_shapes, layer.output_shape)
        if mapping.array is None or shape in seen:
            continue
        seen.add(shape)
        timing = time_layer(mapping, chip)
        picked = memory.model_memory(mapping, timing, chip)
        runs = memory.every_candidate(mapping, timing, chip)
        best = min((cycles, moved) for _, cycles, moved, _ in runs)
        got = (timing.compute_cycles + picked.stall_cycles, picked.dram_bytes)
        if got > best:
            failures.append(f"{layer.name}: picked {got}, exhaustive {best}")
        failures += [
            f"{layer.name} {tiling.describe()}: bound {bound} > replay {cycles}"
            for tiling, cycles, _, bound in runs if bound > cycles
        ]  # fmt: skip
    assert seen, "every case has array layers"
    return failures


@pytest.mark.parametrize("network", NETWORKS)
@pytest.mark.parametrize("chip_name", CHIPS)
def test_the_search_is_never_worse_than_replaying_every_candidate(
    network: str, chip_name: str
) -> None:
    name, params = NETWORKS[network]
    if network.endswith("32x32") and chip_name.startswith("8x8"):
        pytest.skip("the exhaustive side takes ~20 s here; lenet5 and random layers cover it")
    chip = chip_with(**CHIPS[chip_name])
    assert _never_worse(list(load_network(name, params).layers), chip) == []


@settings(max_examples=12, deadline=None)
@given(layer=layers, chip=chips | streaming_chips)
def test_the_search_is_never_worse_on_random_layers_and_chips(
    layer: Layer, chip: ChipConfig
) -> None:
    try:
        failures = _never_worse([layer], chip)
    except InputError as err:  # a layer that fits no buffer on this chip has nothing to search
        assert "must hold at least one" in str(err)
        return
    assert failures == []


def test_the_channel_bound_allows_a_rounded_down_transfer() -> None:
    # 64-byte bursts at 24 B/cycle: 2.67 cycles each, one burst rounds to 3 and two to 5, so
    # two one-burst transfers take 6 cycles and one two-burst transfer 5: below 128/24 = 5.33.
    chip = chip_with(dram__bandwidth_bytes_per_cycle=24)
    assert channel_bound(np.array([128]), chip).tolist() == [5]
    assert channel_bound(np.array([128]), ChipConfig()).tolist() == [8]  # 16 B/cycle: exact


@settings(max_examples=30, deadline=None)
@given(layer=layers, chip=chips | streaming_chips)
def test_a_candidates_schedule_key_is_read_off_the_table_without_building_it(
    layer: Layer, chip: ChipConfig
) -> None:
    """The scan skips loop orders that build a schedule already replayed before it builds the
    tiling: the key it reads off the table is the built tiling's, for every candidate."""
    mapping = map_layer(layer, chip)
    assume(mapping.array is not None)
    assert mapping.array is not None
    args = (layer.op, layer.input_shapes, layer.output_shape, 1, mapping.array,
            time_layer(mapping, chip).compute_cycles, plans.layout_chip(chip))  # fmt: skip
    try:
        table = plans.layer_table(*args)[0]
    except NoFit:
        return
    flats = table.flat.tolist()
    for flat in flats:
        tiling, _ = search.candidate(table, flat)
        assert search._position_key(table, flat) == search._schedule_key(tiling)


def _table(layer: Layer, chip: ChipConfig) -> tuple[Grid, LayerGeometry, int] | None:
    """The layer's candidate table on `chip`, its geometry and compute cycles (None: an array
    layer that fits no tiling, or a vector-unit layer)."""
    mapping = map_layer(layer, chip)
    if mapping.array is None:
        return None
    compute = time_layer(mapping, chip).compute_cycles
    args = (layer.op, layer.input_shapes, layer.output_shape, 1, mapping.array, compute,
            plans.layout_chip(chip))  # fmt: skip
    try:
        table, geometry, _ = plans.layer_table(*args)
    except NoFit:
        return None
    return table, geometry, compute


def _transfers(nodes: tuple[Node, ...]) -> tuple[int, int]:
    """DMA loads and write-backs of a schedule's steps, repeats expanded."""
    loads = writes = 0
    for node in nodes:
        if isinstance(node, Step):
            loads += len(node.loads) + len(node.post_loads)
            writes += node.writeback_bytes > 0
        else:
            inner = _transfers(node.body)
            loads, writes = loads + node.count * inner[0], writes + node.count * inner[1]
    return loads, writes


@settings(max_examples=30, deadline=None)
@given(layer=layers, chip=chips)
def test_the_transfer_counts_are_the_schedules(layer: Layer, chip: ChipConfig) -> None:
    """The channel bound leans on each candidate's transfer count (a burst each, half a cycle
    of rounding each): the closed form's count is the schedule's, load for load, for every
    candidate, and each groups-per-step variant loads two tiles and writes one per step."""
    found = _table(layer, chip)
    assume(found is not None)
    assert found is not None
    table, geometry, compute = found
    assert table.transfers is not None
    array, bias = table.array, layer.bias_elements > 0
    for position, flat in enumerate(table.flat.tolist()):
        tiling, _ = search.candidate(table, flat)
        schedule, _ = plans.schedule_of(tiling, geometry, array, chip, bias, compute)
        loads, writes = _transfers(schedule.body)
        assert loads + len(schedule.prologue) + writes == table.transfers[position]
        for block in tiles.group_blocks(tiling, chip):
            schedule, _ = plans.schedule_of(block, geometry, array, chip, bias, compute)
            loads, writes = _transfers(schedule.body)
            assert (loads + len(schedule.prologue), writes) == (2 * block.g_tiles, block.g_tiles)


def _variant_failures(layer: Layer, chip: ChipConfig) -> list[str]:
    """Each groups-per-step variant of every candidate whose bound (`variant_bounds`: the
    exhaustive side does not see the variants) exceeds its replay."""
    found = _table(layer, chip)
    if found is None:
        return []
    table, geometry, compute = found
    array, bias = table.array, layer.bias_elements > 0
    failures = []
    for position, flat in enumerate(table.flat.tolist()):
        tiling, traffic = search.candidate(table, flat)
        for block in tiles.group_blocks(tiling, chip):
            variant = variant_bounds.variant_of(block, table, chip, traffic, position)
            bound = variant_bounds.timed_bound(variant, chip)
            schedule, _ = plans.schedule_of(block, geometry, array, chip, bias, compute)
            cycles = replay_layer(schedule, chip)
            if bound > cycles:
                failures.append(f"{block.describe()}: bound {bound} > replay {cycles}")
    return failures


@settings(max_examples=20, deadline=None)
@given(layer=layers, chip=chips | streaming_chips)
def test_a_variants_bound_never_exceeds_its_replay(layer: Layer, chip: ChipConfig) -> None:
    assert _variant_failures(layer, chip) == []


@pytest.mark.parametrize("chip_name", CHIPS)
def test_a_variants_bound_on_mobilenet_v2s_depthwise_layers(chip_name: str) -> None:
    chip = chip_with(**CHIPS[chip_name])
    depthwise = [layer for layer in load_network("mobilenet_v2", {"resolution": 32}).layers
                 if layer.name.endswith(".dw")]  # fmt: skip
    assert depthwise
    assert [failure for layer in depthwise for failure in _variant_failures(layer, chip)] == []


def test_the_channel_bound_counts_half_a_cycle_per_transfer_at_most() -> None:
    # 64-byte bursts at 48.6 B/cycle: 1.317 cycles each. Ten transfers of 64 bursts take
    # round(84.28) = 84 cycles each, 840 in all: at least 842.8 − 5 with the count, where a
    # count unknown allows a third less (a one-burst transfer rounds 1.317 down to 1).
    chip = chip_with(dram__bandwidth_bytes_per_cycle=48.6)
    bus = np.array([10 * 64 * 64])
    assert channel_bound(bus, chip, np.array([10])).tolist() == [838]
    assert channel_bound(bus, chip).tolist() == [523]
    assert 10 * transfer_bound(np.array([64 * 64]), chip).tolist()[0] == 840


def test_the_drain_bounds_a_memory_bound_fc_layer_exactly() -> None:
    """An fc layer at batch 1 streams its weights: the channel is busy from the first byte to
    the last load, then the last step waits out the DRAM latency, computes and writes back.
    The pick's bound is its replay, so the scan replays nothing more once it is found."""
    layer = single_layer(FullyConnected(out_features=144), 576, 1)
    chip = ChipConfig()
    mapping = map_layer(layer, chip)
    timing = time_layer(mapping, chip)
    runs = memory.every_candidate(mapping, timing, chip)
    best = min(runs, key=lambda run: (run[1], run[2]))
    assert (best[0].describe(), best[1]) == ("M1 K32 N144 mkn (ofmap resident)", 5594)
    assert best[3] == 5594


def test_ties_go_to_the_smaller_prologue_then_the_grid_whatever_the_replay_order() -> None:
    """Every candidate replayed to the same cycles (the largest bound): the pick is the one
    with the fewest DRAM bytes, then the smallest prologue, then the first in the grid."""
    chip = chip_with(array__rows=8, array__cols=8)
    layer = single_layer(Conv(kernel=3, out_channels=16, padding=1, groups=16), 16, 14)
    found = _table(layer, chip)
    assert found is not None
    table = found[0]
    everything = int(lower_bounds(table, chip).max())
    (picked, _), cycles, _ = search.best_tiling(table, chip, lambda tiling: everything)
    prologue = table.first_ifmap + table.first_weight
    first = np.lexsort((table.flat, prologue, table.moved))[0]
    assert picked == search.candidate(table, int(table.flat[first]))[0]
    assert cycles == everything


def test_the_head_bounds_a_streaming_pointwise_conv_exactly() -> None:
    """A 1x1 conv at 112x112 streams its ifmap in and its ofmap out past one resident weight
    tile: until the first step ends the channel carries the prologue and a second ifmap tile
    only (there is no second weight tile), then everything else but the last load's followers,
    then the drain. Every fastest candidate's bound is its replay: the scan stops at the first."""
    layer = single_layer(Conv(kernel=1, out_channels=16), 16, 112)
    chip = ChipConfig()
    mapping = map_layer(layer, chip)
    runs = memory.every_candidate(mapping, time_layer(mapping, chip), chip)
    fastest = min(cycles for _, cycles, _, _ in runs)
    assert fastest == 25401
    assert {bound for _, cycles, _, bound in runs if cycles == fastest} == {25401}


@settings(max_examples=25, deadline=None)
@given(layer=layers, chip=chips | streaming_chips,
       bandwidth=st.sampled_from([1.5, 3.0, 8.0, 48.6]), latency=st.sampled_from([0, 100, 300]))
def test_a_table_searched_again_at_another_dram_timing_picks_what_a_fresh_search_does(
    layer: Layer, chip: ChipConfig, bandwidth: float, latency: int
) -> None:
    """The search keeps each table's timing-free facts (keys, candidates, variants and their
    bound terms) for the next search of the table: a second search at another bandwidth and
    latency, on facts kept from the first, picks, counts and replays exactly as one on fresh
    facts; and the indices read off a position are `np.unravel_index`'s."""
    found = _table(layer, chip)
    assume(found is not None)
    assert found is not None
    table, geometry, compute = found
    other = chip.with_values({"dram.bandwidth_bytes_per_cycle": bandwidth,
                              "dram.latency_cycles": latency})  # fmt: skip
    bias = layer.bias_elements > 0

    def search_on(target: ChipConfig) -> tuple[object, ...]:
        replayed: list[tiles.Tiling] = []

        def replay(tiling: tiles.Tiling) -> int:
            replayed.append(tiling)
            schedule, _ = plans.schedule_of(tiling, geometry, table.array, target, bias, compute)
            return replay_layer(schedule, target)

        return (*search.best_tiling(table, target, replay), replayed)

    search_on(chip)
    again = search_on(other)
    search_facts.clear_cache()
    assert again == search_on(other)
    grid = table.grid
    shape = (len(table.orders), len(grid.m), len(grid.k), len(grid.n))
    for flat in table.flat.tolist():
        assert search._indices(table, flat) == tuple(np.unravel_index(flat, shape))


@settings(max_examples=25, deadline=None)
@given(layer=layers, chip=chips | streaming_chips, scale=st.sampled_from([0.25, 0.5, 2.0, 4.0]))
def test_tables_cut_at_other_sram_sizes_share_candidates_and_pick_what_fresh_ones_do(
    layer: Layer, chip: ChipConfig, scale: float
) -> None:
    """Tables of one layer at two SRAM sizes are cut from one build of its bound inputs and
    share what the search reads off a position (`Grid.positions`: the candidate and its
    schedule key, read by neither the buffer sizes nor the DRAM timing): the second search,
    on the positions the first filled, picks, counts and replays exactly as one on fresh
    positions, and each shared candidate is the one `search.candidate` builds anew."""
    other = sram_scaled(chip, scale)
    # From empty caches, so the two tables are cut from one build (a table kept from an
    # earlier test may come from a build since dropped, which shares nothing: still correct).
    memory.clear_cache()
    first, second = _table(layer, chip), _table(layer, other)
    assume(first is not None and second is not None)
    assert first is not None and second is not None

    def search_on(found: tuple[Grid, LayerGeometry, int], target: ChipConfig) -> tuple[Any, ...]:
        table, geometry, compute = found
        replayed: list[tiles.Tiling] = []

        def replay(tiling: tiles.Tiling) -> int:
            replayed.append(tiling)
            schedule, _ = plans.schedule_of(tiling, geometry, table.array, target,
                                            layer.bias_elements > 0, compute)  # fmt: skip
            return replay_layer(schedule, target)

        return (*search.best_tiling(table, target, replay), replayed)

    search_on(first, chip)
    again = search_on(second, other)
    if first[0].orders[0].streamed == second[0].orders[0].streamed:  # one build of the bounds
        assert second[0].positions is first[0].positions
    for (_, flat), value in list(second[0].positions.items()):
        if isinstance(value, tuple) and isinstance(value[0], tiles.Tiling):
            assert value == search.candidate(second[0], flat)
    second[0].positions.clear()
    search_facts.clear_cache()
    assert again == search_on(second, other)


def test_a_schedule_keeps_one_key_for_every_table_that_asks_for_it() -> None:
    """`schedule_of` gives the key it memoized the schedule on, one object per schedule: the
    same tiling asked for from the tables of two SRAM sizes (a sweep's points) gets it again,
    so the replays' memo finds it by identity."""
    layer = single_layer(Conv(kernel=3, padding=1, out_channels=32), 16, 28)
    chip = chip_with(dram__bandwidth_bytes_per_cycle=8)
    found = _table(layer, chip)
    assert found is not None
    table, geometry, compute = found
    tiling, _ = search.candidate(table, int(table.flat[0]))
    bias = layer.bias_elements > 0
    schedule, key = plans.schedule_of(tiling, geometry, table.array, chip, bias, compute)
    larger = sram_scaled(chip, 2)
    again, same = plans.schedule_of(tiling, geometry, table.array, larger, bias, compute)
    assert again is schedule and same is key
    assert key.value[0] is tiling and key.value[1] is geometry
