"""Tile schedules: compute cycles equal the timing model plus refills, DMA bytes equal traffic."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Hashable
from unittest import mock

import numpy as np
import pytest
from conftest import chip_with, chips, layers, single_layer, streaming_chips
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st
from nest_cases import PINNED_CHIPS, pinned_nests, smaller_nest

from accel.config import ArrayConfig, ChipConfig
from accel.errors import InputError
from accel.mapping.array import ArrayMapping
from accel.mapping.mapper import map_layer
from accel.memory import nest as nest_shapes
from accel.memory import tile_fit
from accel.memory import tiling as tiles
from accel.memory.geometry import LayerGeometry
from accel.memory.loop_nest import _Tree, array_schedule, untiled_cycles
from accel.memory.model import model_memory
from accel.memory.nest import Nest
from accel.memory.nest import clear_cache as clear_nest_shapes
from accel.memory.replay import replay_layer
from accel.memory.tile_schedule import Schedule
from accel.memory.tiling import Tiling
from accel.model.network import GemmView, Layer
from accel.model.ops import Conv
from accel.perf.timing import array_compute_cycles, time_layer


@settings(max_examples=100, deadline=None)
@given(
    m=st.integers(1, 300),
    k=st.integers(1, 300),
    n=st.integers(1, 300),
    groups=st.integers(1, 4),
    rows=st.integers(1, 40),
    cols=st.integers(1, 40),
    dataflow=st.sampled_from(["os", "ws", "is"]),
    overlap=st.booleans(),
)
def test_fold_runs_rebuild_the_timing_model(
    m: int, k: int, n: int, groups: int, rows: int, cols: int, dataflow: str, overlap: bool
) -> None:
    config = ArrayConfig(rows=rows, cols=cols, dataflow=dataflow)  # type: ignore[arg-type]
    array = ArrayMapping.place(GemmView(m, k, n, groups), 1, config)
    assert untiled_cycles(array, overlap) == array_compute_cycles(array, overlap)


def _schedule_bytes(schedule: Schedule) -> Counter[str]:
    moved: Counter[str] = Counter()
    for load in schedule.prologue:
        moved[load.kind] += load.bytes
    for step in schedule.steps():
        for load in step.loads + step.post_loads:
            moved[load.kind] += load.bytes
        moved["write"] += step.writeback_bytes
    return moved


@settings(max_examples=80, deadline=None)
@given(layer=layers, chip=chips | streaming_chips, batch=st.integers(1, 2))
def test_schedules_move_exactly_the_closed_form_traffic(
    layer: Layer, chip: ChipConfig, batch: int
) -> None:
    mapping = map_layer(layer, chip, batch)
    timing = time_layer(mapping, chip)
    try:
        memory = model_memory(mapping, timing, chip)
    except InputError:
        return
    schedule = memory.schedule
    assert schedule is not None
    moved = _schedule_bytes(schedule)
    assert moved["ifmap"] == memory.dram_ifmap_bytes
    assert moved["weight"] == memory.dram_weight_bytes
    assert moved["psum"] == memory.dram_ofmap_read_bytes
    assert moved["write"] == memory.dram_ofmap_write_bytes
    steps = list(schedule.steps())
    assert sum(step.compute_cycles for step in steps) == timing.compute_cycles + memory.refill_cycles
    assert len(steps) == memory.tile_steps
    # Every tile is taken once and released once; every ofmap visit ends in one write-back.
    for kind in ("ifmap", "weight"):
        assert sum(kind in s.takes for s in steps) == sum(kind in s.releases for s in steps)
    visits = sum(s.claims_ofmap or "psum" in s.takes for s in steps)
    assert visits == sum(s.writeback_bytes > 0 for s in steps)
    # The next layer's weights may be prefetched at exactly one point.
    points = sum(s.prefetch_point for s in steps) + schedule.prefetch_at_start
    assert points == 1


def test_a_fully_resident_layer_is_one_step_with_one_load_per_operand() -> None:
    chip = chip_with(sram__ofmap__size_kib=256)
    layer = single_layer(Conv(kernel=3, padding=1, out_channels=16), 8, 8)
    mapping = map_layer(layer, chip)
    memory = model_memory(mapping, time_layer(mapping, chip), chip)
    assert memory.schedule is not None
    (step,) = memory.schedule.steps()
    assert [load.bytes for load in memory.schedule.prologue] == [8 * 64, 16 * 72 + 16 * 4]
    assert (step.loads, step.writeback_bytes, memory.schedule.prefetch_at_start) == ((), 16 * 64, True)


def _bus_bytes(schedule: Schedule, burst: int = 64) -> int:
    """Bytes on the bus: every transfer (load or write-back) rounded up to whole bursts."""
    sizes = [load.bytes for load in schedule.prologue]
    for step in schedule.steps():
        sizes += [load.bytes for load in step.loads + step.post_loads]
        sizes += [step.writeback_bytes] if step.writeback_bytes else []
    return sum(-(-size // burst) * burst for size in sizes)


def test_ten_channels_per_step_move_in_ten_times_fewer_transfers() -> None:
    # 96 depthwise 7 × 7 channels (49 ifmap, 9 weight + 4 bias, 49 ofmap bytes each), 10 per
    # step: 9 full steps and one of 6 channels. ws with overlapped folds: 49 cycles a channel,
    # plus 32 cycles before the first fold and 61 after the last.
    layer = single_layer(Conv(kernel=3, padding=1, out_channels=96, groups=96), 96, 7)
    chip = chip_with(dram__bandwidth_bytes_per_cycle=4096)
    mapping = map_layer(layer, chip)
    assert mapping.array is not None
    geometry, timing = LayerGeometry.of(layer, 1), time_layer(mapping, chip)
    assert timing.compute_cycles == 32 + 96 * 49 + 61
    schedules = {}
    for g_tile in (1, 10):
        tiling = Tiling("ws", "mkn", 49, 9, 1, 1, 1, 1, 96, 49 * g_tile, 13 * g_tile,
                        49 * g_tile, g_tile=g_tile)  # fmt: skip
        schedules[g_tile] = array_schedule(
            tiling, geometry, mapping.array, chip, True, timing.compute_cycles
        )
    steps = list(schedules[10].steps())
    assert [step.compute_cycles for step in steps] == [32 + 490] + [490] * 8 + [294 + 61]
    assert [load.bytes for load in schedules[10].prologue] == [490, 130]
    assert [load.bytes for load in steps[7].loads] == [490, 130]
    assert [load.bytes for load in steps[8].loads] == [294, 78]
    assert [step.writeback_bytes for step in steps] == [490] * 9 + [294]
    # The same 10,656 bytes; bursts: 96 · 3 · 64 per channel vs 9 · (512 + 192 + 512) + 768.
    assert _schedule_bytes(schedules[10]) == _schedule_bytes(schedules[1])
    assert (_bus_bytes(schedules[1]), _bus_bytes(schedules[10])) == (18432, 11712)
    # At 4096 B/cycle a transfer takes 0 cycles and only the first load's 100-cycle latency
    # shows. One channel a step: a load starts when the step before last frees its half, so
    # step j + 1 starts at max(end(j), end(j − 1) + 100): two 49-cycle steps every 149 cycles.
    assert replay_layer(schedules[10], chip) == timing.compute_cycles + 100
    assert replay_layer(schedules[1], chip) == 7294


@settings(max_examples=40, deadline=None)
@given(layer=layers, chip=chips)
def test_every_group_block_moves_the_same_bytes_and_computes_the_same_cycles(
    layer: Layer, chip: ChipConfig
) -> None:
    """Each coalesced variant the chooser may replay: the single-group schedule's bytes and
    compute, in `g_tiles` steps whose tiles fit their buffer halves."""
    mapping = map_layer(layer, chip)
    timing = time_layer(mapping, chip)
    try:
        memory = model_memory(mapping, timing, chip)
    except InputError:
        return
    tiling, array = memory.tiling, mapping.array
    assume(tiling is not None and array is not None and tiling.groups > 1)
    assert tiling is not None and array is not None
    single = tiling.replace(
        g_tile=1,
        ifmap_tile_bytes=tiling.ifmap_tile_bytes // tiling.g_tile,
        weight_tile_bytes=tiling.weight_tile_bytes // tiling.g_tile,
        ofmap_tile_bytes=tiling.ofmap_tile_bytes // tiling.g_tile,
    )  # fmt: skip
    geometry, bias = LayerGeometry.of(layer, 1), layer.bias_elements > 0
    base = array_schedule(single, geometry, array, chip, bias, timing.compute_cycles)
    for block in tiles.group_blocks(single, chip):
        schedule = array_schedule(block, geometry, array, chip, bias, timing.compute_cycles)
        assert _schedule_bytes(schedule) == _schedule_bytes(base)
        steps = list(schedule.steps())
        assert len(steps) == block.g_tiles == -(-tiling.groups // block.g_tile)
        assert sum(step.compute_cycles for step in steps) == timing.compute_cycles
        assert sum(s.prefetch_point for s in steps) + schedule.prefetch_at_start == 1
        sizes = {"ifmap": block.ifmap_tile_bytes, "weight": block.weight_tile_bytes,
                 "ofmap": block.ofmap_tile_bytes}  # fmt: skip
        assert tile_fit.fits({op: np.array(size) for op, size in sizes.items()}, chip).all()
        event(f"g_tile {block.g_tile}")


@settings(max_examples=60, deadline=None)
@given(
    layer=layers, chip=chips | streaming_chips, batch=st.integers(1, 2),
    cuts=st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 5)),
    order=st.sampled_from(["mkn", "mnk", "kmn", "knm", "nmk", "nkm"]),
)  # fmt: skip
def test_steps_shared_between_loop_indices_are_the_steps_each_would_build(
    layer: Layer, chip: ChipConfig, batch: int, cuts: tuple[int, int, int], order: str
) -> None:
    """A step built once for every loop index with its leaf key (`_Tree.leaf_keys`) is the
    step each index builds alone (every index its own key: the whole context)."""
    nest = smaller_nest(layer, chip, batch, cuts, order)
    if nest is None:
        return
    smaller = nest.tiling
    shared = nest.schedule()

    def alone_keys(self: _Tree, context: tuple[int, ...]) -> tuple[Hashable, Hashable]:
        return ("inner", context), ("edge", context)

    with mock.patch.object(_Tree, "leaf_keys", alone_keys):
        alone = nest.schedule()
    assert shared == alone
    if not smaller.streamed:  # one step per tile
        tiles_count = smaller.m_tiles * smaller.k_tiles * smaller.n_tiles * smaller.g_tiles
        assert shared.step_count == tiles_count




@pytest.mark.filterwarnings("ignore:Using `assume` outside")  # smaller_nest's, always true here
def test_the_schedules_of_small_networks_are_pinned() -> None:
    """Every step of the schedules of small networks' array layers, each tiling cut smaller
    in three loop orders, as a digest: any change to how a schedule is built (a faster form)
    must build exactly the same steps. Recorded at 3b1365d."""
    digest = hashlib.sha256()
    for chip_name, values in PINNED_CHIPS.items():
        for layer_name, order, nest in pinned_nests(chip_with(**values)):
            digest.update(f"{chip_name} {layer_name} {order}".encode())
            digest.update(repr(nest.schedule()).encode())
    assert digest.hexdigest()[:16] == "a0fa41c2aa1273f1"


@pytest.mark.filterwarnings("ignore:Using `assume` outside")  # smaller_nest's, always true here
def test_nests_of_one_shape_share_the_facts_each_would_work_out() -> None:
    """`Nest.share_shape_facts` copies the facts of an earlier nest of the same shape: the
    schedules are those of nests that work every fact out alone, and shapes recur."""
    chip = chip_with(**PINNED_CHIPS["8x8 ws, single-buffered ofmap"])
    cases = [nest for _, _, nest in pinned_nests(chip)]
    clear_nest_shapes()
    shared = [nest.schedule() for nest in cases]
    assert 1 < len(nest_shapes._SHAPES) < len(cases) / 4
    with mock.patch.object(Nest, "share_shape_facts", lambda self: None):
        alone = [nest.schedule() for nest in cases]
    assert shared == alone
