"""The chip: a systolic MAC array, a vector unit, on-chip SRAM buffers, a DRAM channel and a clock.

A `ChipConfig` is everything the simulator knows about the hardware. It is a frozen record
(`accel.user_input.record`: plain Python, validated by pydantic only when input needs it, as
are its sections in `compute`, `memory`, `cores` and `costs`) that forbids unknown fields, so a
typo in a YAML file is an error instead of a silently ignored setting. Every field carries its
unit in its name or description. `ChipConfig()` is the embedded default chip
(`configs/default.yaml`): a 32×32 int8 weight-stationary edge NPU at 1 GHz with 64 KiB ifmap
+ 64 KiB weight + 32 KiB ofmap SRAM and 16 bytes/cycle of DRAM bandwidth. A multi-core chip
(`cores` > 1) has that many such cores, or a list of different ones, sharing the DRAM channel
over an on-chip network (`noc`) and optionally a `global_buffer`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from accel.config.compute import (
    FLOAT_PRECISIONS,
    PRECISION_BYTES,
    ArrayConfig,
    Dataflow,
    Precision,
    RowStationaryConfig,
    VectorUnitConfig,
)
from accel.config.cores import CoreConfig, NocConfig
from accel.config.costs import AreaConfig, EnergyConfig
from accel.config.memory import (
    OPERANDS,
    ActivationBuffer,
    BufferConfig,
    DramConfig,
    MemoryConfig,
    Operand,
    SramConfig,
    TrainingConfig,
)
from accel.errors import InputError
from accel.user_input import load_yaml_mapping, validate_model
from accel.user_input.record import Field, Record, model_validator
from accel.user_input.trusted import replaced

__all__ = [
    "FLOAT_PRECISIONS", "OPERANDS", "PRECISION_BYTES", "ActivationBuffer", "AreaConfig",
    "ArrayConfig", "BufferConfig", "ChipConfig", "CoreConfig", "Dataflow", "DramConfig",
    "EnergyConfig", "MemoryConfig", "NocConfig", "Operand", "Precision", "RowStationaryConfig",
    "SramConfig", "TrainingConfig", "VectorUnitConfig",
]  # fmt: skip


class ChipConfig(Record):
    """A whole accelerator. `ChipConfig()` is the embedded default chip."""

    name: str = Field("default", description="short name used in reports")
    description: str = Field(
        "32x32 int8 WS edge NPU, 64+64+32 KiB SRAM, 16 B/cycle DRAM, 1 GHz",
        description="free text",
    )
    clock_mhz: float = Field(
        1000.0, ge=1e-3, le=1e6, allow_inf_nan=False, description="array clock in MHz"
    )
    array: ArrayConfig = Field(default_factory=ArrayConfig)
    vector_unit: VectorUnitConfig = Field(default_factory=VectorUnitConfig)
    sram: SramConfig = Field(default_factory=SramConfig)
    dram: DramConfig = Field(default_factory=DramConfig)
    energy: EnergyConfig = Field(default_factory=EnergyConfig)
    area: AreaConfig = Field(default_factory=AreaConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    memory: MemoryConfig = Field(default_factory=MemoryConfig)
    row_stationary: RowStationaryConfig = Field(default_factory=RowStationaryConfig)

    @model_validator(mode="after")
    def _activation_buffers_exist(self) -> ChipConfig:
        if "unified" in self.memory.activation_buffers and self.sram.unified is None:
            raise ValueError(
                "memory.activation_buffers names unified, but the chip has no sram.unified"
            )
        return self

    cores: int | tuple[CoreConfig, ...] = Field(
        1,
        description="the cores: a count of copies of the top-level array, vector unit and SRAM "
        "(1: the single-core chip), or a list of cores each with its own (README Multi-core)",
    )
    core_schedule: Literal["auto", "split", "pipeline"] = Field(
        "auto",
        description="how a multi-core chip runs a network: split = layer by layer, each layer "
        "split over the cores; pipeline = consecutive layers on different cores, a batch's "
        "images (at batch 1: bands of rows) streaming between them; auto = the faster of the two",
    )
    global_buffer: BufferConfig | None = Field(
        None,
        description="an SRAM shared by all cores: an operand every core reads in full (the "
        "ifmap of a channel split, the weights of a row split) is fetched from DRAM once when "
        "it fits, and sent to the cores over the NoC",
    )
    noc: NocConfig = Field(
        default_factory=NocConfig, description="the on-chip network (multi-core chips only)"
    )

    @model_validator(mode="after")
    def _at_least_one_core(self) -> ChipConfig:
        count = self.cores if isinstance(self.cores, int) else len(self.cores)
        if count < 1 or count > 4096:
            given = self.cores if isinstance(self.cores, int) else list(self.cores)
            raise ValueError(f"cores must be a count from 1 to 4096 or a non-empty list, "
                             f"not {given!r}")  # fmt: skip
        return self

    @model_validator(mode="after")
    def _residency_on_one_core(self) -> ChipConfig:
        count = self.cores if isinstance(self.cores, int) else len(self.cores)
        if count > 1 and (self.memory.activation_residency == "on" or self.memory.fusion != "off"):
            raise ValueError(f"memory.activation_residency and memory.fusion are single-core "
                             f"schedules: they need cores: 1, not {count}")  # fmt: skip
        return self

    @property
    def core_count(self) -> int:
        return self.cores if isinstance(self.cores, int) else len(self.cores)

    def core_chips(self) -> tuple[ChipConfig, ...]:
        """Each core as a single-core chip: its array, vector unit and SRAM, the rest shared."""
        if isinstance(self.cores, int):
            alone = self.model_copy(update={"cores": 1})
            return (alone,) * self.cores
        return tuple(
            self.model_copy(update={
                "cores": 1,
                "array": core.array or self.array,
                "vector_unit": core.vector_unit or self.vector_unit,
                "sram": core.sram or self.sram,
            })
            for core in self.cores
        )  # fmt: skip

    @property
    def dram_bandwidth_gb_per_s(self) -> float:
        return self.dram.bandwidth_bytes_per_cycle * self.clock_mhz / 1000.0

    @property
    def peak_macs_per_cycle(self) -> int:
        return self.array.pe_count

    @property
    def ridge_point_macs_per_byte(self) -> float:
        """Arithmetic intensity above which a layer is compute-bound (roofline)."""
        return self.peak_macs_per_cycle / self.dram.bandwidth_bytes_per_cycle

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "chip") -> ChipConfig:
        return validate_model(cls, data, source)

    @classmethod
    def from_yaml(cls, path: str | Path) -> ChipConfig:
        """Load a chip YAML file; raise `InputError` with a one-line message on any problem."""
        return cls.from_dict(load_yaml_mapping(path, "chip config"), str(path))

    def with_values(self, updates: dict[str, Any]) -> ChipConfig:
        """A copy with fields changed by dotted path (`{"array.rows": 64}`), validated again.
        Only the sections a path enters are rebuilt (`replaced`: a sweep point's chip differs
        from the base in a few fields, and the rest need no second validation); what it is not
        sure of is built from the whole dump, so every result and error stay the same."""
        paths = {tuple(dotted.split(".")): value for dotted, value in updates.items()}
        chip = replaced(self, paths) if len(paths) == len(updates) else None
        if chip is not None:
            return chip  # type: ignore[no-any-return]
        data = self.model_dump()
        for dotted, value in updates.items():
            node = data
            parts = dotted.split(".")
            for part in parts[:-1]:
                if not isinstance(node.get(part), dict):
                    raise InputError(f"chip field {dotted!r} does not exist")
                node = node[part]
            if parts[-1] not in node:
                raise InputError(f"chip field {dotted!r} does not exist")
            node[parts[-1]] = value
        return ChipConfig.from_dict(data, "chip")
