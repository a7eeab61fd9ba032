"""Energy of one layer from event counts: MACs, vector ops, SRAM bytes, DRAM bytes and leakage.

Defaults follow Horowitz (ISSCC 2014, 45 nm): an 8-bit multiply costs 0.2 pJ and a 32-bit add
0.1 pJ; a 64-bit SRAM read costs 10 pJ at 8 KiB, 20 pJ at 32 KiB and 100 pJ at 1 MiB, so SRAM
energy per byte grows with the buffer's size (interpolated in log-log space between those
points); DRAM costs 1.3–2.6 nJ per 64-bit access (250 pJ per byte by default).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from accel.config import BufferConfig, ChipConfig, Operand
from accel.mapping.mapper import Mapping
from accel.perf.memory import MemoryTraffic
from accel.perf.timing import ComputeTiming

# (buffer bytes, pJ per byte read): Horowitz's 64-bit reads divided by 8 bytes.
_SRAM_READ_PJ_PER_BYTE = [(8 * 1024, 10 / 8), (32 * 1024, 20 / 8), (1024 * 1024, 100 / 8)]


@dataclass(frozen=True)
class EnergyBreakdown:
    """Energy of one layer per component, in pJ."""

    mac_pj: float
    vector_pj: float
    sram_ifmap_pj: float
    sram_weight_pj: float
    sram_ofmap_pj: float
    dram_pj: float
    leakage_pj: float

    @property
    def total_pj(self) -> float:
        return (
            self.mac_pj
            + self.vector_pj
            + self.sram_ifmap_pj
            + self.sram_weight_pj
            + self.sram_ofmap_pj
            + self.dram_pj
            + self.leakage_pj
        )


def sram_pj_per_byte(buffer: BufferConfig) -> float:
    """Read energy per byte of a buffer of this size (Horowitz, log-log interpolation)."""
    points = _SRAM_READ_PJ_PER_BYTE
    size = buffer.size_bytes
    index = 1 if size <= points[1][0] else 2
    (x0, y0), (x1, y1) = points[index - 1], points[index]
    slope = (math.log(y1) - math.log(y0)) / (math.log(x1) - math.log(x0))
    return math.exp(math.log(y0) + slope * (math.log(size) - math.log(x0)))


def layer_energy(
    mapping: Mapping,
    timing: ComputeTiming,
    memory: MemoryTraffic,
    total_cycles: int,
    chip: ChipConfig,
) -> EnergyBreakdown:
    energy = chip.energy
    macs = mapping.layer.macs * mapping.batch if mapping.unit == "array" else 0

    def sram(operand: Operand, reads: int, writes: int) -> float:
        per_byte = sram_pj_per_byte(chip.sram.buffer_for(operand))
        read = (
            energy.sram_read_pj_per_byte if energy.sram_read_pj_per_byte is not None else per_byte
        )
        write = (
            energy.sram_write_pj_per_byte if energy.sram_write_pj_per_byte is not None else per_byte
        )
        return reads * read + writes * write

    return EnergyBreakdown(
        mac_pj=macs * energy.mac_pj,
        vector_pj=mapping.vector_ops * energy.vector_op_pj,
        sram_ifmap_pj=sram("ifmap", timing.sram_ifmap_reads, memory.dram_ifmap_bytes),
        sram_weight_pj=sram("weight", timing.sram_weight_reads, memory.dram_weight_bytes),
        sram_ofmap_pj=sram("ofmap", timing.sram_ofmap_reads, timing.sram_ofmap_writes),
        dram_pj=memory.dram_bytes * energy.dram_pj_per_byte,
        leakage_pj=total_cycles * energy.leakage_pj_per_cycle,
    )
