"""What a chip's work costs: energy per event and silicon area."""

from __future__ import annotations

from accel.config.compute import FLOAT_PRECISIONS, Precision
from accel.user_input.record import Field, Record


class EnergyConfig(Record):
    """Energy per event. Defaults: Horowitz, ISSCC 2014, 45 nm (see README)."""

    mac_pj: float = Field(
        0.3,
        ge=0,
        le=1e9,
        allow_inf_nan=False,
        description="one int8 MAC: an 8-bit multiply (0.2) + 32-bit add (0.1), pJ",
    )
    vector_op_pj: float = Field(
        0.1, ge=0, le=1e9, allow_inf_nan=False,
        description="one vector-unit operation on an int8 chip (a 32-bit add), pJ",
    )  # fmt: skip
    int16_mac_pj: float = Field(
        0.9, ge=0, le=1e9, allow_inf_nan=False,
        description="one int16 MAC, pJ: Horowitz lists no 16-bit multiply, so the 8-bit one "
        "(0.2) scaled by the square of the width (0.8, an assumption) + 32-bit add (0.1)",
    )  # fmt: skip
    fp16_mac_pj: float = Field(
        2.0, ge=0, le=1e9, allow_inf_nan=False,
        description="one fp16 MAC: a 16-bit FP multiply (1.1) + 32-bit FP add (0.9), pJ",
    )  # fmt: skip
    bf16_mac_pj: float = Field(
        2.0, ge=0, le=1e9, allow_inf_nan=False,
        description="one bf16 MAC, pJ: Horowitz lists no bf16, so the fp16 multiply (1.1, an "
        "upper bound: bf16 has the narrower significand) + 32-bit FP add (0.9)",
    )  # fmt: skip
    fp32_mac_pj: float = Field(
        4.6, ge=0, le=1e9, allow_inf_nan=False,
        description="one fp32 MAC: a 32-bit FP multiply (3.7) + 32-bit FP add (0.9), pJ",
    )  # fmt: skip
    float_vector_op_pj: float = Field(
        0.9, ge=0, le=1e9, allow_inf_nan=False,
        description="one vector-unit operation on a float chip (a 32-bit FP add), pJ",
    )  # fmt: skip
    sram_read_pj_per_byte: float | None = Field(
        None,
        ge=0,
        le=1e9,
        allow_inf_nan=False,
        description="SRAM read energy per byte, pJ; unset = scaled from buffer size",
    )
    sram_write_pj_per_byte: float | None = Field(
        None,
        ge=0,
        le=1e9,
        allow_inf_nan=False,
        description="SRAM write energy per byte, pJ; unset = scaled from buffer size",
    )
    dram_pj_per_byte: float = Field(
        250.0,
        ge=0,
        le=1e9,
        allow_inf_nan=False,
        description="DRAM access energy per byte, pJ (2 nJ per 64-bit word)",
    )
    leakage_pj_per_cycle: float = Field(
        10.0,
        ge=0,
        le=1e12,
        allow_inf_nan=False,
        description="static energy of the whole chip per cycle, pJ (an assumption, not from "
        "Horowitz; charged over the end-to-end cycles)",
    )


    def mac_pj_at(self, precision: Precision) -> float:
        """Energy of one MAC at `precision`, pJ."""
        return {"int8": self.mac_pj, "int16": self.int16_mac_pj, "fp16": self.fp16_mac_pj,
                "bf16": self.bf16_mac_pj, "fp32": self.fp32_mac_pj}[precision]  # fmt: skip

    def vector_op_pj_at(self, precision: Precision) -> float:
        """Energy of one vector-unit operation on a chip of `precision`, pJ."""
        return self.float_vector_op_pj if precision in FLOAT_PRECISIONS else self.vector_op_pj


class AreaConfig(Record):
    """Silicon area of the PEs and the SRAM, for the summary's and the sweep's `area_mm2`.
    Unset: accel's 45 nm model (`accel.perf.area`; README "Area model")."""

    pe_um2: float | None = Field(
        None,
        gt=0,
        le=1e9,
        allow_inf_nan=False,
        description="area of one PE (MAC and its registers), µm²; unset = the 45 nm model from "
        "the array's precision, accumulator width, dataflow and fold overlap",
    )
    sram_um2_per_kib: float | None = Field(
        None,
        gt=0,
        le=1e12,
        allow_inf_nan=False,
        description="area of one KiB of SRAM (cells and periphery), µm²; unset = 45 nm 6T cells "
        "at 50% array efficiency",
    )
