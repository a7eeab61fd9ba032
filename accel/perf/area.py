"""Silicon area of the chip's array and on-chip SRAM, in mm², at 45 nm unless the chip says so.

A PE is a multiplier of the array's precision, an adder of the accumulator's width, and its
registers (for fp16, bf16 and fp32 arrays a float multiplier and an fp32 float adder); an SRAM
KiB is 8,192 6T cells plus the periphery around them (decoders, sense
amplifiers, drivers), counted through an array-efficiency factor. Sources, all 45 nm:

- Arithmetic: Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014,
  whose table (reproduced as Figure 1.13 of Hennessy & Patterson, *Computer Architecture: A
  Quantitative Approach*, 6th ed., which notes the areas were synthesized with Design Compiler for
  TSMC 45 nm) gives an 8-bit multiply 282 µm² and 8-, 16- and 32-bit adds 36, 67 and 137 µm²
  (the same table the energy defaults come from). Other accumulator widths are interpolated
  linearly in bits through those three adders (extended along the nearest segment outside them).
- Registers: one D flip-flop per bit, 4.522 µm² (DFF_X1 of the NanGate 45 nm Open Cell Library,
  3.23 × 1.4 µm). A PE holds an ifmap and a weight register of the precision's width and a
  partial-sum register of the accumulator's width, plus a shadow copy of its stationary operand
  when `array.fold_overlap` preloads the next fold (weight in ws, ifmap in is, partial sum in os).
- SRAM: Intel's 45 nm 6T cell, 0.346 µm² (Mistry et al., IEDM 2007; 153 Mbit test arrays), with
  half of a macro's area in cells (`SRAM_ARRAY_EFFICIENCY`, an assumption: Intel's 153 Mbit
  test chip holds 55 mm² of cells in its 119 mm² die, pads and test logic included).

Left out: wiring and placement density, control, the vector unit, DMA engines, the DRAM
interface and I/O pads. `area.pe_um2` and `area.sram_um2_per_kib` in the chip replace the two
derived figures (for another node, or a synthesized PE).
"""

from __future__ import annotations

from typing import NamedTuple

from accel.config import ChipConfig

# Horowitz ISSCC 2014, 45 nm: an 8-bit integer, a 16-bit and a 32-bit float multiply; bf16 has
# no figure of its own and takes fp16's (its 8-bit significand multiplier is smaller: an upper
# bound), as the energy defaults do.
MULTIPLIER_UM2 = {"int8": 282.0, "int16": 1128.0, "fp16": 1640.0, "bf16": 1640.0, "fp32": 7700.0}
ADDER_UM2 = ((8, 36.0), (16, 67.0), (32, 137.0))  # (bits, µm²): Horowitz's 8/16/32-bit adds
FP32_ADDER_UM2 = 4184.0  # Horowitz's 32-bit float add: the accumulator of every float array
OPERAND_BITS = {"int8": 8, "int16": 16, "fp16": 16, "bf16": 16, "fp32": 32}
FLIP_FLOP_UM2 = 4.522  # NanGate 45 nm Open Cell Library DFF_X1, 3.23 µm × 1.4 µm
SRAM_CELL_UM2 = 0.346  # Intel 45 nm 6T cell (Mistry et al., IEDM 2007)
SRAM_ARRAY_EFFICIENCY = 0.5  # cells / macro area; an assumption (see the module docstring)
BITS_PER_KIB = 8 * 1024


# A NamedTuple, not a frozen dataclass: as immutable, equal and hashed alike, and built at import
# without compiling generated methods (Python 3.11 compiles each at every start-up).
class ChipArea(NamedTuple):
    """The array's and the SRAM's area; `total_mm2` is what sweeps and summaries report."""

    pe_um2: float
    pe_count: int
    sram_um2_per_kib: float
    sram_kib: float

    @property
    def array_mm2(self) -> float:
        return self.pe_um2 * self.pe_count / 1e6

    @property
    def sram_mm2(self) -> float:
        return self.sram_um2_per_kib * self.sram_kib / 1e6

    @property
    def total_mm2(self) -> float:
        return round(self.array_mm2 + self.sram_mm2, 6)


def chip_area(chip: ChipConfig) -> ChipArea:
    """The chip's area: the PE and SRAM figures it states, else the 45 nm model."""
    pe_um2 = chip.area.pe_um2 if chip.area.pe_um2 is not None else pe_area_um2(chip)
    per_kib = chip.area.sram_um2_per_kib
    if per_kib is None:
        per_kib = sram_area_um2_per_kib()
    return ChipArea(pe_um2, chip.array.pe_count, per_kib, chip.sram.total_bytes / 1024)


def pe_area_um2(chip: ChipConfig) -> float:
    """One PE at 45 nm: multiplier + accumulator adder + registers (see the module docstring)."""
    array = chip.array
    operand_bits = OPERAND_BITS[array.precision]
    register_bits = 2 * operand_bits + array.accumulator_bits
    if array.fold_overlap:
        stationary = {"ws": operand_bits, "is": operand_bits, "os": array.accumulator_bits,
                      "rs": 0}  # rs: its scratchpads are not in the area model (README)
        register_bits += stationary[array.dataflow]
    float_array = array.is_float
    adder = FP32_ADDER_UM2 if float_array else adder_area_um2(array.accumulator_bits)
    return MULTIPLIER_UM2[array.precision] + adder + register_bits * FLIP_FLOP_UM2


def adder_area_um2(bits: int) -> float:
    """An integer adder of `bits` bits: linear in bits through Horowitz's 8/16/32-bit adders."""
    (low_bits, low), (high_bits, high) = (
        ADDER_UM2[:2] if bits <= ADDER_UM2[1][0] else ADDER_UM2[1:]
    )  # fmt: skip
    return low + (high - low) * (bits - low_bits) / (high_bits - low_bits)


def sram_area_um2_per_kib() -> float:
    """One KiB of SRAM at 45 nm: 8,192 cells of 0.346 µm² at 50% array efficiency."""
    return BITS_PER_KIB * SRAM_CELL_UM2 / SRAM_ARRAY_EFFICIENCY
