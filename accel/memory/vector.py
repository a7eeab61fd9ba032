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
from accel.memory.replay import replay_layer, transfer_cycles
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
    best: tuple[int, int, Schedule] | None = None
    for chunks in options:  # fewest first: a tie goes to the fewer slices
        if best is not None and stream_bound(sizes, compute_cycles, chunks, chip) >= best[0]:
            continue  # replayed, it could not beat the best
        key = (ifmap, weight, ofmap, compute_cycles, drain, chunks)
        schedule = _STREAMS.get(key, partial(stream_schedule, sizes, compute_cycles, drain, chunks))
        total = replay_layer(schedule, chip)
        if best is None or total < best[0]:
            best = (total, chunks, schedule)
    assert best is not None
    return best[0], best[2]


def stream_bound(sizes: dict[Operand, int], compute_cycles: int, chunks: int,
                 chip: ChipConfig) -> int:  # fmt: skip
    """A lower bound of the replayed cycles of `stream_schedule` in `chunks` slices, alone:
    the channel carries every slice's transfers one after another, and compute (its cycles
    in all) starts once the first slices' inputs have arrived, the last slice's outputs
    written back after it."""
    dram = chip.dram
    channel = 0
    for size in sizes.values():  # every slice of every tensor crosses the channel once
        short, longer = divmod(size, chunks)
        channel += longer * transfer_cycles(short + 1, dram)
        channel += (chunks - longer) * transfer_cycles(short, dram)
    inputs = [size for kind, size in sizes.items() if kind != "ofmap" and size]
    first = sum(transfer_cycles(size // chunks + (size % chunks > 0), dram) for size in inputs)
    opening = first + dram.latency_cycles if inputs else 0
    last = transfer_cycles(sizes["ofmap"] // chunks, dram)
    return max(channel, opening + compute_cycles + last)


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
