"""DRAM traffic and stall cycles of one layer (first version: compulsory traffic, roofline stall).

Every operand crosses the DRAM channel once: the layer's ifmap, its weights and biases, and its
ofmap. A layer stalls for the cycles by which moving those bytes at the configured bandwidth, plus
one DRAM latency, exceeds its compute cycles. Tiling under SRAM capacity, re-fetches and a simpy
replay of the tile sequence refine this (issue 4).
"""

from __future__ import annotations

from dataclasses import dataclass

from accel.config import ChipConfig
from accel.mapping.mapper import Mapping
from accel.perf.timing import ComputeTiming


@dataclass(frozen=True)
class MemoryTraffic:
    """DRAM bytes per operand and the stall cycles they cause."""

    dram_ifmap_bytes: int
    dram_weight_bytes: int
    dram_ofmap_write_bytes: int
    dram_ofmap_read_bytes: int  # partial sums spilled and read back
    compulsory_dram_bytes: int  # each tensor once: the lower bound
    stall_cycles: int

    @property
    def dram_read_bytes(self) -> int:
        return self.dram_ifmap_bytes + self.dram_weight_bytes + self.dram_ofmap_read_bytes

    @property
    def dram_write_bytes(self) -> int:
        return self.dram_ofmap_write_bytes

    @property
    def dram_bytes(self) -> int:
        return self.dram_read_bytes + self.dram_write_bytes


def model_memory(mapping: Mapping, timing: ComputeTiming, chip: ChipConfig) -> MemoryTraffic:
    """DRAM traffic and stalls of one layer."""
    layer, batch = mapping.layer, mapping.batch
    if mapping.unit == "none":
        return MemoryTraffic(0, 0, 0, 0, 0, 0)
    ifmap = layer.ifmap_bytes * batch
    weight = layer.weight_bytes
    ofmap = layer.ofmap_bytes * batch
    total = ifmap + weight + ofmap
    transfer = total / chip.dram.bandwidth_bytes_per_cycle + chip.dram.latency_cycles
    stall = max(0, int(-(-transfer // 1)) - timing.compute_cycles)
    return MemoryTraffic(ifmap, weight, ofmap, 0, total, stall)
