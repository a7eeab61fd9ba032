"""Cycles of the one DRAM channel, at least, for bytes cut into transfers: the bounds' unit.

The replay (`replay.transfer_cycles`) gives a transfer of `b` bytes `round(ceil(b / burst) ·
burst / bandwidth)` cycles of the channel, one transfer after another. These are the same
cycles over numpy arrays of candidates: exact for one transfer of known size, a lower bound for
a total of bytes whose cut into transfers is not known.
"""

from __future__ import annotations

import math

import numpy as np

from accel.config import ChipConfig
from accel.memory.geometry import IntArray

UNKNOWN = 1 << 40  # a transfer count so large that `channel_bound` ignores it


def transfer_bound(size: IntArray, chip: ChipConfig) -> IntArray:
    """Cycles of one transfer of `size` bytes (`replay.transfer_cycles`, over an array)."""
    burst, bandwidth = chip.dram.burst_bytes, chip.dram.bandwidth_bytes_per_cycle
    result: IntArray = np.floor(-(-size // burst) * burst / bandwidth + 0.5).astype(np.int64)
    return result


def channel_bound(
    bus: IntArray, chip: ChipConfig, transfers: IntArray | None = None
) -> IntArray:
    """Cycles the channel needs at least to carry `bus` bytes in whole bursts, however they are
    cut into transfers: each transfer's cycles round to the nearest, so when a burst is not a
    whole number of cycles a transfer of `b` bursts may take half a cycle less than `b` bursts'
    worth, at most a share `bandwidth / (2 · burst)` of its time (a one-burst transfer); and
    when at most `transfers` transfers carry the bytes, at most `transfers / 2` cycles in all
    (`round(x) ≥ x − 1/2` per transfer)."""
    burst, bandwidth = chip.dram.burst_bytes, chip.dram.bandwidth_bytes_per_cycle
    per_burst = burst / bandwidth
    slack = 0.0 if per_burst == math.floor(per_burst) else 0.5 / per_burst
    cycles = bus / bandwidth * max(0.0, 1.0 - slack)
    if slack and transfers is not None:
        cycles = np.maximum(cycles, bus / bandwidth - transfers / 2)
    result: IntArray = np.ceil(cycles - 1e-9).astype(np.int64)
    return result


def transfer_cycles_of(size: int, chip: ChipConfig) -> int:
    """`transfer_bound` of one size in plain numbers (the same float64 operations in the same
    order, so the same cycles): for bounds worked out one candidate at a time."""
    burst, bandwidth = chip.dram.burst_bytes, chip.dram.bandwidth_bytes_per_cycle
    return math.floor(-(-size // burst) * burst / bandwidth + 0.5)


def channel_cycles_of(bus: int, chip: ChipConfig, transfers: int | None = None) -> int:
    """`channel_bound` of one candidate in plain numbers (the same operations, so the same
    cycles)."""
    burst, bandwidth = chip.dram.burst_bytes, chip.dram.bandwidth_bytes_per_cycle
    per_burst = burst / bandwidth
    slack = 0.0 if per_burst == math.floor(per_burst) else 0.5 / per_burst
    cycles = bus / bandwidth * max(0.0, 1.0 - slack)
    if slack and transfers is not None:
        cycles = max(cycles, bus / bandwidth - transfers / 2)
    return math.ceil(cycles - 1e-9)
