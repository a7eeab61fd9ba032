"""DRAM traffic and stall cycles of one layer: tiles under SRAM capacity, real reuse, a replay.

For an array layer, every tiling that fits the buffers (`tiling.py`, `tile_grid.py`: tile sizes ×
loop order; `tile_fit.py`) gets its DRAM traffic in closed form (`traffic.py`). Compulsory
traffic is each tensor once (the ifmap: each input element some window reads). `search.py`
picks the tiling with the fewest cycles in the DMA / compute pipeline replay (`replay.py`,
exact), ties broken by DRAM bytes, replaying only the tilings whose lower bound could still
win. The candidates and their bound inputs (`plans.py`) do not depend on the DRAM bandwidth or
latency (`PLAN_FREE_FIELDS`): chips that differ only there share them, and replays are memoized
per schedule and DRAM channel, so chips that differ in buffer sizes share the replays of the
tilings both allow.

A layer whose whole GEMM fits on chip is only tiled in ways that fetch nothing twice: its
traffic equals the compulsory traffic. Vector-unit layers stream their tensors once, in slices.

When no tiling fits, the chip's `sram.undersized` policy decides: `error` names the buffer and
the bytes its smallest tile needs; `stream` exempts the operands whose smallest tile overflows
(`tiling.undersized`) from the fit, charges them a DRAM fetch per array read
(`streamed_traffic.streamed_passes`) and moves them in pieces of one buffer half (`loop_nest.py`).
"""

from __future__ import annotations

from functools import lru_cache

from accel.config import ChipConfig
from accel.errors import InputError
from accel.mapping.array import ArrayMapping
from accel.mapping.mapper import Mapping
from accel.memory import (
    bounds,
    plans,
    search,
    search_facts,
    tile_classes,
    tile_fit,
    tile_grid,
    vector,
)
from accel.memory import tiling as tiles
from accel.memory.candidates import (
    ORDER_TRAFFIC,
    Hashed,
    Memo,
    NoFit,
    candidate_grid,
)
from accel.memory.geometry import clear_geometry_cache
from accel.memory.memory_traffic import MemoryTraffic as MemoryTraffic  # re-exported
from accel.memory.network_replay import clear_cache as clear_network_runs
from accel.memory.plans import (
    compulsory_traffic,
    layer_table,
    layout_chip,
    schedule_of,
)
from accel.memory.replay import clear_cache as clear_transfers
from accel.memory.replay import replay_layer
from accel.memory.tile_schedule import Schedule
from accel.memory.traffic import TRAFFIC
from accel.memory.traffic import clear_cache as clear_trips
from accel.model.network import Layer
from accel.model.ops import Op, Shape
from accel.perf.timing import ComputeTiming

# Re-exported: what sweeps group points by (chips differing only here share a layer's plan).
PLAN_FREE_FIELDS = plans.PLAN_FREE_FIELDS


def model_memory(
    mapping: Mapping, timing: ComputeTiming, chip: ChipConfig,
    densities: tuple[float, float] | None = None,
) -> MemoryTraffic:
    """Tiling, DRAM traffic and stall cycles of one layer (the layer alone, cold start).
    `densities` (ifmap, ofmap non-zero fractions) drive a row-stationary chip's run-length
    coder instead of its stated `dram.feature_map_density`."""
    layer, batch = mapping.array_layer, mapping.batch
    if mapping.unit == "none":
        return MemoryTraffic(0, 0, 0, 0, 0, 0)
    if mapping.array is None:
        return _vector_memory(
            *_whole_tensors(mapping), mapping.vector_ops, timing.compute_cycles, chip
        )
    if mapping.row_stationary is not None:
        return row_stationary_memory(mapping, timing, chip, densities)
    try:
        return _array_memory(
            layer.op, layer.input_shapes, layer.output_shape, batch, mapping.array,
            timing.compute_cycles, chip,
        )
    except NoFit as err:
        raise InputError(f"layer {layer.name!r}: {err}") from None


def row_stationary_memory(
    mapping: Mapping, timing: ComputeTiming, chip: ChipConfig,
    densities: tuple[float, float] | None = None,
) -> MemoryTraffic:
    """A row-stationary layer (`accel.memory.row_stationary`): its passes' DRAM traffic
    streamed beside its compute in the slice count that replays fastest. `densities` (ifmap,
    ofmap) override the chip's stated feature-map density for this layer."""
    from accel.memory.row_stationary import rs_traffic  # loaded by the runs on an rs chip

    assert mapping.row_stationary is not None
    layer = mapping.array_layer
    ifmap, weight, ofmap, glb = rs_traffic(mapping.row_stationary, layer, timing, chip, densities)
    total, schedule = vector.fastest_stream(ifmap, weight, ofmap, timing.compute_cycles, chip)
    compulsory = compulsory_traffic(layer, mapping.batch, mapping.element_bytes)
    moved = ifmap + weight + ofmap
    intensity = mapping.macs / moved if moved else 0.0
    return MemoryTraffic(
        ifmap, weight, ofmap, 0, sum(compulsory), total - timing.compute_cycles, *compulsory,
        arithmetic_intensity=intensity,
        bound="memory" if intensity < chip.ridge_point_macs_per_byte else "compute",
        tile_steps=schedule.step_count,
        glb_access_bytes=glb,
        schedule=schedule,
    )


def clear_cache() -> None:
    """Forget the memoized tilings (identical layers on one chip are chosen once per process)."""
    _array_memory.cache_clear()
    plans.clear_cache()
    search_facts.clear_cache()
    candidate_grid.cache_clear()
    ORDER_TRAFFIC.found.clear()
    _RUNS.found.clear()
    _VECTOR_RUNS.found.clear()
    vector.clear_cache()
    clear_transfers()
    clear_network_runs()
    clear_geometry_cache()
    tile_grid.clear_cache()
    tile_classes.clear_cache()
    tile_fit.clear_cache()
    clear_trips()
    _LAST_LAYOUT.clear()


def compulsory_bytes(mapping: Mapping) -> int:
    """The DRAM bytes of a mapped layer when each tensor crosses the channel once: the
    `compulsory_dram_bytes` that `model_memory` reports, without the memory model."""
    if mapping.unit == "none":
        return 0
    if mapping.array is None:
        return sum(_whole_tensors(mapping))
    return sum(compulsory_traffic(mapping.array_layer, mapping.batch, mapping.element_bytes))


def _whole_tensors(mapping: Mapping) -> tuple[int, int, int]:
    """(ifmap, weight, ofmap) bytes of a vector-unit layer, which streams each tensor whole."""
    return mapping.tensor_bytes


@lru_cache(maxsize=4096)
def _array_memory(
    op: Op,
    input_shapes: tuple[Shape, ...],
    output_shape: Shape,
    batch: int,
    array: ArrayMapping,
    compute_cycles: int,
    chip: ChipConfig,
) -> MemoryTraffic:
    table, geometry, compulsory = layer_table(
        op, input_shapes, output_shape, batch, array, compute_cycles, _layout_of(chip)
    )
    layer = Layer("layer", op, ("input",), input_shapes, output_shape)
    has_bias = layer.bias_elements > 0
    known = search_facts.facts_of(table, chip).schedules

    def schedule(tiling: tiles.Tiling) -> tuple[Schedule, Hashed]:
        """The tiling's schedule and memo key, kept with the table's facts: the facts' plan
        fields are all that `schedule_of` reads of the chip."""
        found = known.get(id(tiling))
        if found is None or found[0] is not tiling:
            made, key = schedule_of(tiling, geometry, array, chip, has_bias, compute_cycles)
            found = known[id(tiling)] = (tiling, made, key)
        return found[1], found[2]

    def replay(tiling: tiles.Tiling) -> int:
        made, key = schedule(tiling)
        # The replay reads of the chip the DRAM channel and the double buffers (in `key`).
        return _RUNS.get((key, chip.dram), lambda: replay_layer(made, chip))

    (tiling, traffic), total, _ = search.best_tiling(table, chip, replay)
    macs = layer.macs * batch
    return _record(
        total, traffic, compulsory, macs, tiling, schedule(tiling)[0], chip, compute_cycles
    )


def _layout_of(chip: ChipConfig) -> ChipConfig:
    """`layout_chip(chip)`, answered for the chip asked last without its memo's comparison:
    a network's layers ask with one chip object, and a chip equal to the one memoized (a
    sweep point's) is compared field by field there."""
    last = _LAST_LAYOUT
    if last and last[0] is chip:
        return last[1]
    layout = layout_chip(chip)
    _LAST_LAYOUT[:] = (chip, layout)
    return layout


_LAST_LAYOUT: list[ChipConfig] = []  # the chip asked last and its layout chip


def every_candidate(
    mapping: Mapping, timing: ComputeTiming, chip: ChipConfig
) -> list[tuple[tiles.Tiling, int, int, int]]:
    """(tiling, replayed cycles, DRAM bytes, lower bound) of every valid candidate of an array
    layer's grid: the exhaustive search `model_memory` must never lose to (tests, benchmarks)."""
    layer, array = mapping.array_layer, mapping.array
    assert array is not None
    args = (layer.op, layer.input_shapes, layer.output_shape, mapping.batch, array,
            timing.compute_cycles)  # fmt: skip
    table, geometry, _ = layer_table(*args, layout_chip(chip))
    lowest = bounds.lower_bounds(table, chip)
    runs = []
    for position, flat in enumerate(table.flat.tolist()):
        tiling, traffic = search.candidate(table, flat)
        schedule, _ = schedule_of(tiling, geometry, array, chip, layer.bias_elements > 0,
                                timing.compute_cycles)  # fmt: skip
        moved = sum(traffic[kind] for kind in TRAFFIC)
        runs.append((tiling, replay_layer(schedule, chip), moved, int(lowest[position])))
    return runs


_RUNS = Memo(16384)  # replayed cycles per (schedule, DRAM channel)
_VECTOR_RUNS = Memo(16384)


def _record(
    total: int,
    traffic: dict[str, int],
    compulsory: tuple[int, int, int],
    macs: int,
    tiling: tiles.Tiling,
    schedule: Schedule,
    chip: ChipConfig,
    compute_cycles: int,
) -> MemoryTraffic:
    intensity = macs / sum(traffic[kind] for kind in TRAFFIC)
    return MemoryTraffic(
        dram_ifmap_bytes=traffic["ifmap"],
        dram_weight_bytes=traffic["weight"],
        dram_ofmap_write_bytes=traffic["ofmap_write"],
        dram_ofmap_read_bytes=traffic["ofmap_read"],
        compulsory_dram_bytes=sum(compulsory),
        stall_cycles=total - compute_cycles,
        compulsory_ifmap_bytes=compulsory[0],
        compulsory_weight_bytes=compulsory[1],
        compulsory_ofmap_bytes=compulsory[2],
        refill_cycles=traffic["refill"],
        arithmetic_intensity=intensity,
        bound="memory" if intensity < chip.ridge_point_macs_per_byte else "compute",
        tiling=tiling,
        tile_steps=schedule.step_count,
        schedule=schedule,
    )


def _vector_memory(
    ifmap: int, weight: int, ofmap: int, ops: int, compute_cycles: int, chip: ChipConfig
) -> MemoryTraffic:
    """A vector-unit layer: tensors streamed once, in the slice count that replays fastest."""
    key = (ifmap, weight, ofmap, compute_cycles, chip.vector_unit.pipeline_latency_cycles,
           chip.sram, chip.dram)  # fmt: skip
    total, schedule = _VECTOR_RUNS.get(
        key, lambda: vector.fastest_stream(ifmap, weight, ofmap, compute_cycles, chip)
    )
    moved = ifmap + weight + ofmap
    intensity = ops / moved if moved else 0.0
    ridge = chip.vector_unit.ops_per_cycle / chip.dram.bandwidth_bytes_per_cycle
    return MemoryTraffic(
        ifmap, weight, ofmap, 0, moved, total - compute_cycles, ifmap, weight, ofmap,
        arithmetic_intensity=intensity,
        bound="memory" if intensity < ridge else "compute",
        tile_steps=schedule.step_count,
        schedule=schedule,
    )
