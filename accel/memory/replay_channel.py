"""What a replay reads of the chip: its DRAM channel's cycles per transfer, its buffers' halves.

A transfer of `b` bytes occupies the one DRAM channel for `round(ceil(b / burst) · burst /
bandwidth)` cycles, whole bursts at the configured bandwidth (`transfer_cycles`); every operand
buffer has two halves, one when it is not double-buffered. A simulation replays hundreds of
schedules on one chip, and a sweep replays them on the same channel at many points, so both are
read once and kept: the cycles per channel by size (`Transfers`), the halves per chip (`layout`).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

from accel.config import OPERANDS, ChipConfig, DramConfig


def transfer_cycles(size_bytes: int, dram: DramConfig) -> int:
    """Channel cycles for one transfer: whole bursts at the configured bandwidth, rounded."""
    on_bus = math.ceil(size_bytes / dram.burst_bytes) * dram.burst_bytes
    return math.floor(on_bus / dram.bandwidth_bytes_per_cycle + 0.5)


class Transfers(dict[int, int]):
    """`transfer_cycles` by size on one DRAM channel, filled in on first use (a missing key
    computes its value, so a look-up is one subscript)."""

    __slots__ = ("dram",)

    def __init__(self, dram: DramConfig) -> None:
        super().__init__()
        self.dram = dram

    def __missing__(self, size_bytes: int) -> int:
        cycles = self[size_bytes] = transfer_cycles(size_bytes, self.dram)
        return cycles


# `transfer_cycles` by size, per DRAM channel: shared by every replay on that channel.
_TRANSFERS: dict[DramConfig, Transfers] = {}


# Per chip (by identity, kept here while it is): each buffer's halves (ifmap, weight, ofmap), its
# channel's transfer cycles and the spare timelines of its replays. A simulation starts a replay
# from empty buffers hundreds of times on one chip, and reading the three buffers' configs cost
# more than the rest of the start.
Layout = tuple[ChipConfig, tuple[deque[int], ...], Transfers, list[Any]]
_CHIPS: dict[int, Layout] = {}


def clear_cache() -> None:
    """Forget the channels' transfer cycles and the chips' buffers."""
    _TRANSFERS.clear()
    _CHIPS.clear()


def layout(chip: ChipConfig) -> Layout:
    """(chip, each buffer's free halves when empty, transfer cycles by size, spare timelines)
    of `chip`, kept by identity (the halves to be copied: a copy is cheaper than a new queue;
    the spares are `replay.replay_layer`'s, which sets one back to empty after its run: a new
    one costs as much as three steps of a replay)."""
    found = _CHIPS.get(id(chip))
    if found is None or found[0] is not chip:
        halves = tuple(deque([0] * (2 if chip.sram.buffer_for(buffer).double_buffered else 1))
                       for buffer in OPERANDS)  # fmt: skip
        transfer = _TRANSFERS.get(chip.dram)
        if transfer is None:
            if len(_TRANSFERS) >= 64:
                _TRANSFERS.clear()
            transfer = _TRANSFERS[chip.dram] = Transfers(chip.dram)
        if len(_CHIPS) >= 64:
            _CHIPS.clear()
        found = _CHIPS[id(chip)] = (chip, halves, transfer, [])
    return found
