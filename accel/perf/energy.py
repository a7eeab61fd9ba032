"""Energy of one layer from event counts: MACs, vector ops, SRAM bytes, DRAM bytes and leakage.

Defaults follow Horowitz, "Computing's energy problem", ISSCC 2014 (45 nm): an 8-bit multiply
costs 0.2 pJ and a 32-bit add 0.1 pJ (an int8 MAC: 0.3 pJ); a 16-bit FP multiply 1.1 pJ, a
32-bit FP multiply 3.7 pJ and a 32-bit FP add 0.9 pJ (fp16 / bf16 MAC with fp32 accumulation:
2.0 pJ, fp32: 4.6 pJ; a float chip's vector op: 0.9 pJ); a 64-bit SRAM read costs 10 pJ at 8 KiB,
20 pJ at 32 KiB and 100 pJ at 1 MiB, so SRAM energy per byte grows with the buffer (log-log
interpolation through those points, extended along the nearest segment outside them); DRAM costs
1.3–2.6 nJ per 64-bit access (default 250 pJ per byte). Writes cost what reads cost unless set.

SRAM bytes per buffer:

- ifmap / weight: the array's reads (timing model, `array.element_bytes` per element: int8 1,
  fp16 / bf16 2, fp32 4) and the DMA's fills (the DRAM bytes loaded into the buffer);
- ofmap: the array's writes and partial-sum reads, at `accumulator_bits / 8` bytes each (int32
  or fp32: 4) when partial sums accumulate in the buffer (the timing model reads some back) and
  one element each when outputs leave the array complete (os, or `K` within one fold, or the
  vector unit);
  plus the DMA's partial-sum fills and its drain of everything written back.

Leakage is charged per cycle of the layer's share of the end-to-end timeline.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import NamedTuple, Protocol

from accel.config import (
    ArrayConfig,
    BufferConfig,
    ChipConfig,
    EnergyConfig,
    SramConfig,
)
from accel.mapping.mapper import Mapping
from accel.perf.timing import ComputeTiming

# (buffer bytes, pJ per byte read): Horowitz's 64-bit reads divided by 8 bytes.
SRAM_READ_PJ_PER_BYTE = ((8 * 1024, 10 / 8), (32 * 1024, 20 / 8), (1024 * 1024, 100 / 8))


class DramBytes(Protocol):
    """The DMA's byte counts a layer's energy needs (`accel.memory.model.MemoryTraffic` has
    them; energy sits below the memory model and reads only these)."""

    @property
    def dram_ifmap_bytes(self) -> int: ...
    @property
    def dram_weight_bytes(self) -> int: ...
    @property
    def dram_ofmap_write_bytes(self) -> int: ...
    @property
    def dram_ofmap_read_bytes(self) -> int: ...
    @property
    def dram_bytes(self) -> int: ...


# A NamedTuple, not a frozen dataclass: as immutable, equal and hashed, and built at import
# without compiling generated methods (Python 3.11 compiles a dataclass's at every start-up).
class EnergyBreakdown(NamedTuple):
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
    points = SRAM_READ_PJ_PER_BYTE
    size = buffer.size_bytes
    index = 1 if size <= points[1][0] else 2
    (x0, y0), (x1, y1) = points[index - 1], points[index]
    slope = (math.log(y1) - math.log(y0)) / (math.log(x1) - math.log(x0))
    return math.exp(math.log(y0) + slope * (math.log(size) - math.log(x0)))


@lru_cache(maxsize=256)
def _access_pj(buffer: BufferConfig, energy: EnergyConfig) -> tuple[float, float]:
    """(read, write) energy per byte of one buffer, worked out once per buffer and energy
    table (three times per layer otherwise, each with five logarithms)."""
    scaled = sram_pj_per_byte(buffer)
    read = _first(buffer.read_pj_per_byte, energy.sram_read_pj_per_byte, scaled)
    write = _first(buffer.write_pj_per_byte, energy.sram_write_pj_per_byte, read)
    return read, write


def _first(*values: float | None) -> float:
    return next(value for value in values if value is not None)


def layer_energy(
    mapping: Mapping,
    timing: ComputeTiming,
    memory: DramBytes,
    total_cycles: int,
    chip: ChipConfig,
) -> EnergyBreakdown:
    """Energy of one layer that took `total_cycles` (its share of the end-to-end timeline)."""
    prices = _prices(chip.array, chip.sram, chip.energy)
    width = prices.element_bytes
    macs = mapping.issued_macs if mapping.unit == "array" else 0  # inserted zeros too
    # Partial sums read back mean accumulators live in the buffer; otherwise final outputs.
    ofmap_bytes = prices.accumulator_bytes if timing.sram_ofmap_reads else width
    (ifmap_read, ifmap_write), (weight_read, weight_write), (ofmap_read, ofmap_write) = (
        prices.ifmap, prices.weight, prices.ofmap
    )  # fmt: skip
    ofmap_reads = timing.sram_ofmap_reads * ofmap_bytes + memory.dram_ofmap_write_bytes
    ofmap_writes = timing.sram_ofmap_writes * ofmap_bytes + memory.dram_ofmap_read_bytes
    return EnergyBreakdown(
        mac_pj=macs * prices.mac_pj,
        vector_pj=mapping.vector_ops * prices.vector_op_pj,
        sram_ifmap_pj=timing.sram_ifmap_reads * width * ifmap_read
        + memory.dram_ifmap_bytes * ifmap_write,
        sram_weight_pj=timing.sram_weight_reads * width * weight_read
        + memory.dram_weight_bytes * weight_write,
        sram_ofmap_pj=ofmap_reads * ofmap_read + ofmap_writes * ofmap_write,
        dram_pj=memory.dram_bytes * chip.energy.dram_pj_per_byte,
        leakage_pj=total_cycles * chip.energy.leakage_pj_per_cycle,
    )


class _Prices(NamedTuple):
    """What one layer's energy reads of its chip, per chip (not per layer): element and
    partial-sum bytes, pJ per MAC and vector op, (read, write) pJ per byte of each buffer."""

    element_bytes: int
    accumulator_bytes: int
    mac_pj: float
    vector_op_pj: float
    ifmap: tuple[float, float]
    weight: tuple[float, float]
    ofmap: tuple[float, float]


@lru_cache(maxsize=256)
def _prices(array: ArrayConfig, sram: SramConfig, energy: EnergyConfig) -> _Prices:
    precision = array.precision
    return _Prices(
        array.element_bytes, array.accumulator_bytes,
        energy.mac_pj_at(precision), energy.vector_op_pj_at(precision),
        _access_pj(sram.buffer_for("ifmap"), energy),
        _access_pj(sram.buffer_for("weight"), energy),
        _access_pj(sram.buffer_for("ofmap"), energy),
    )  # fmt: skip


def recomputed(energy: EnergyBreakdown, recompute_macs: int, chip: ChipConfig) -> EnergyBreakdown:
    """`energy` plus the MACs a fused group spends computing halo rows again."""
    if not recompute_macs:
        return energy
    extra = recompute_macs * chip.energy.mac_pj_at(chip.array.precision)
    return energy._replace(mac_pj=energy.mac_pj + extra)
