"""The plan of an array layer before any replay: its candidate table and each tiling's schedule.

Every tiling that fits the buffers, with its DRAM traffic and the inputs of its cycle bound
(`candidates.py`, `bounds.py`), and the step schedule of a tiling (`loop_nest.py`), memoized on
what they read of the chip rather than on the chip: chips that differ only in DRAM timing,
clock or energy (`PLAN_FREE_FIELDS`) share a layer's table, and chips that differ in buffer sizes
share its bound inputs and the schedules of the tilings both allow.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from accel.config import OPERANDS, ChipConfig
from accel.mapping.array import ArrayMapping
from accel.memory import bounds, tile_fit
from accel.memory import tiling as tiles
from accel.memory.candidates import Hashed, Memo, candidate_grid, fitting, valid_orders
from accel.memory.geometry import LayerGeometry
from accel.memory.loop_nest import array_schedule
from accel.memory.tile_schedule import Schedule
from accel.model.network import Layer
from accel.model.ops import Op, Shape


def clear_cache() -> None:
    """Forget the memoized tables, schedules and bound inputs."""
    layer_table.cache_clear()
    layout_chip.cache_clear()
    _SCHEDULES.found.clear()
    _BOUND_INPUTS.found.clear()


def compulsory_traffic(
    layer: Layer, batch: int, element_bytes: int = 1, geometry: LayerGeometry | None = None
) -> tuple[int, int, int]:
    """(ifmap, weight, ofmap) bytes when each tensor crosses the channel exactly once, for
    operands of `element_bytes` each (the chip's `array.element_bytes`); `geometry`: the
    layer's at `batch`, when the caller has it."""
    weight = layer.weight_bytes_at(element_bytes)
    ofmap = layer.ofmap_elements * element_bytes * batch
    if layer.gemm is None:
        return layer.ifmap_elements * element_bytes * batch, weight, ofmap
    geometry = geometry or LayerGeometry.of(layer, batch)
    ifmap = geometry.image_box * geometry.channels_per_group * layer.gemm.groups * batch
    return ifmap * element_bytes, weight, ofmap


@lru_cache(maxsize=4096)
def layer_table(
    op: Op,
    input_shapes: tuple[Shape, ...],
    output_shape: Shape,
    batch: int,
    array: ArrayMapping,
    compute_cycles: int,
    chip: ChipConfig,
) -> tuple[bounds.Grid, LayerGeometry, tuple[int, int, int]]:
    """Every valid tiling of a layer with its traffic and bound inputs, before any replay: what
    a sweep over DRAM bandwidth or latency, clock or energy shares between its points."""
    layer = Layer("layer", op, ("input",), input_shapes, output_shape)
    geometry = LayerGeometry.of(layer, batch)
    grid = candidate_grid(array, geometry)
    has_bias = layer.bias_elements > 0
    sizes = tile_fit.tile_bytes(grid, geometry, array, chip, has_bias)
    compulsory = compulsory_traffic(layer, batch, chip.array.element_bytes, geometry)
    orders, per_order, fit = fitting(grid, geometry, sizes, array, chip, compulsory[1])
    kept = valid_orders(orders, fit, compulsory)
    sram = chip.sram
    reads = (
        has_bias, compute_cycles, compulsory[1], orders[0].streamed, chip.array.element_bytes,
        chip.array.accumulator_bytes, chip.array.fold_overlap, chip.dram.burst_bytes,
        tuple(sram.buffer_for(operand).double_buffered for operand in OPERANDS),
    )  # fmt: skip
    full = _BOUND_INPUTS.get(
        (array, geometry, reads),
        lambda: bounds.build_grid(
            grid, orders, per_order, None, array, chip, has_bias, compute_cycles
        ),
    )
    table = bounds.restrict(full, kept)
    return table, geometry, compulsory


_SCHEDULES = Memo(16384)
_BOUND_INPUTS = Memo(1024)  # per layer, array and the chip fields bounds read: not buffer sizes


def schedule_of(
    tiling: tiles.Tiling,
    geometry: LayerGeometry,
    array: ArrayMapping,
    chip: ChipConfig,
    has_bias: bool,
    compute_cycles: int,
) -> tuple[Schedule, Hashed]:
    """`array_schedule` and its memo key: of the chip it reads only which buffers are
    double-buffered, the streamed operands' piece sizes, the accumulator and operand widths
    and fold overlap. The key is kept with the schedule, one object per schedule: the tables
    of a layer at other SRAM sizes get the same one, so the replays' memo (keyed on it) finds
    it by identity, not by comparing tilings and geometries field by field."""
    sram = chip.sram
    reads = (
        tuple(sram.buffer_for(operand).double_buffered for operand in OPERANDS),
        tuple(sorted(tiles.piece_bytes(chip, tiling.streamed).items())),
        chip.array.accumulator_bytes,
        chip.array.fold_overlap,
        chip.array.element_bytes,
    )
    key = (tiling, geometry, array, has_bias, compute_cycles, reads)
    def made() -> tuple[Schedule, Hashed]:
        return array_schedule(tiling, geometry, array, chip, has_bias, compute_cycles), Hashed(key)

    found: tuple[Schedule, Hashed] = _SCHEDULES.get(key, made)
    return found


# Chip fields (and sections) that only the replay reads (DRAM timing) or that the memory model
# does not read (names, clock, energy): chips that differ only here share their plans.
PLAN_FREE_FIELDS = (
    "name", "description", "clock_mhz", "energy", "dram.bandwidth_bytes_per_cycle",
    "dram.latency_cycles", "dram.prefetch_next_layer_weights", "memory",
)  # fmt: skip


@lru_cache(maxsize=256)
def layout_chip(chip: ChipConfig) -> ChipConfig:
    """`chip` with every `PLAN_FREE_FIELDS` entry at its default, so chips differing only there
    share plans."""
    default = ChipConfig()
    top: dict[str, Any] = {}
    sections: dict[str, dict[str, Any]] = {}
    for path in PLAN_FREE_FIELDS:
        section, _, name = path.partition(".")
        if name:
            sections.setdefault(section, {})[name] = getattr(getattr(default, section), name)
        else:
            top[section] = getattr(default, section)
    for section, update in sections.items():
        top[section] = getattr(chip, section).model_copy(update=update)
    return chip.model_copy(update=top)
