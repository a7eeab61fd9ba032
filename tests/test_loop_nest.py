"""Tile schedules: compute cycles equal the timing model plus refills, DMA bytes equal traffic."""

from __future__ import annotations

from collections import Counter

from conftest import chip_with, chips, layers, single_layer, streaming_chips
from hypothesis import given, settings
from hypothesis import strategies as st

from accel.config import ArrayConfig, ChipConfig
from accel.errors import InputError
from accel.mapping.array import ArrayMapping
from accel.mapping.mapper import map_layer
from accel.model.network import GemmView, Layer
from accel.model.ops import Conv
from accel.perf.loop_nest import untiled_cycles
from accel.perf.memory import model_memory
from accel.perf.tile_schedule import Schedule
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
