"""The DRAM channel's cycles per transfer and the buffers' halves, as a replay reads them."""

from __future__ import annotations

import math

from conftest import chip_with

from accel.memory import replay_channel
from accel.memory.replay_channel import Transfers, layout, transfer_cycles


def test_transfers_take_whole_bursts_at_the_bandwidth() -> None:
    dram = chip_with(dram__bandwidth_bytes_per_cycle=48.6, dram__burst_bytes=64).dram
    assert transfer_cycles(1, dram) == 1  # one 64-byte burst: 1.32 cycles, rounded
    assert transfer_cycles(6400, dram) == 132  # 131.7
    unlimited = chip_with(dram__bandwidth_bytes_per_cycle=math.inf).dram
    assert transfer_cycles(10**9, unlimited) == 0


def test_a_channel_computes_a_size_once_and_keeps_it() -> None:
    dram = chip_with(dram__bandwidth_bytes_per_cycle=48.6, dram__burst_bytes=64).dram
    cycles = Transfers(dram)
    assert (cycles[6400], cycles[1]) == (132, 1)
    assert dict(cycles) == {6400: 132, 1: 1}


def test_a_chip_has_one_half_per_single_buffer_and_shares_its_channel() -> None:
    replay_channel.clear_cache()
    chip = chip_with(sram__weight__double_buffered=False)
    same_channel = chip_with(sram__weight__double_buffered=False, array__rows=8)
    kept, halves, cycles, _ = layout(chip)
    assert kept is chip and [len(half) for half in halves] == [2, 1, 2]
    assert layout(chip)[2] is cycles and layout(same_channel)[2] is cycles
    other = chip_with(dram__bandwidth_bytes_per_cycle=3)
    assert layout(other)[2] is not cycles
