"""A vector-unit layer's slices: its tensors stream once, in the slice count that replays fastest.

The vector unit works through its input row by row, so a layer is cut into equal slices
(`tile_schedule.stream_schedule`) that each fit their buffer halves; more slices overlap loads
with compute better but move smaller transfers, so a few counts are replayed and the fastest kept.
"""

from __future__ import annotations

from functools import partial

from accel.config import ChipConfig, Operand
from accel.mapping.array import ceil_div
from accel.memory.candidates import Memo
from accel.memory.replay import replay_layer
from accel.memory.tile_schedule import Schedule, stream_schedule


def fastest_stream(
    ifmap: int, weight: int, ofmap: int, compute_cycles: int, chip: ChipConfig
) -> tuple[int, Schedule]:
    """(cycles, schedule) of the slice count that replays fastest; it reads of the chip only
    the SRAM, the DRAM channel and the vector unit's pipeline latency (its memo key)."""
    sizes: dict[Operand, int] = {"ifmap": ifmap, "weight": weight, "ofmap": ofmap}
    fewest = fewest_slices(sizes, chip)
    options = [fewest * 4**i for i in range(4) if fewest * 4**i <= min(ifmap, ofmap)] or [1]
    drain = min(chip.vector_unit.pipeline_latency_cycles, compute_cycles)
    runs = []
    for chunks in options:
        key = (ifmap, weight, ofmap, compute_cycles, drain, chunks)
        schedule = _STREAMS.get(key, partial(stream_schedule, sizes, compute_cycles, drain, chunks))
        runs.append((replay_layer(schedule, chip), chunks, schedule))
    total, _, schedule = min(runs, key=lambda run: run[:2])
    return total, schedule


# The slices' schedules by (sizes, compute, drain, slices): a sweep over DRAM timing replays
# the same schedules at every point.
_STREAMS = Memo(4096)


def clear_cache() -> None:
    """Forget the slices' schedules."""
    _STREAMS.found.clear()


def fewest_slices(sizes: dict[Operand, int], chip: ChipConfig) -> int:
    """The fewest equal slices whose every piece fits its buffer half."""
    sram = chip.sram
    chunks = 1
    shared = 0
    for operand, size in sizes.items():
        if sram.is_shared(operand):
            shared += size + 1  # +1: equal slices round up by at most a byte
        else:
            half = sram.buffer_for(operand).tile_bytes
            chunks = max(chunks, ceil_div(size, half))
    if sram.unified is not None:
        chunks = max(chunks, ceil_div(shared, sram.unified.tile_bytes))
    return chunks
