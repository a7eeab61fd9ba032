"""The chip: a systolic MAC array, a vector unit, on-chip SRAM buffers, a DRAM channel and a clock.

A `ChipConfig` is everything the simulator knows about the hardware. It is a frozen pydantic model
that forbids unknown fields, so a typo in a YAML file is an error instead of a silently ignored
setting. Every field carries its unit in its name or description. `ChipConfig()` is the embedded
default chip (`configs/default.yaml`): a 32×32 int8 weight-stationary edge NPU at 1 GHz with
64 KiB ifmap + 64 KiB weight + 32 KiB ofmap SRAM and 16 bytes/cycle of DRAM bandwidth.
A multi-core chip (`cores` > 1) has that many such cores, or a list of different ones, sharing
the DRAM channel over an on-chip network (`noc`) and optionally a `global_buffer`.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from accel.errors import InputError
from accel.user_input import load_yaml_mapping, validate_model

Dataflow = Literal["os", "ws", "is", "rs"]
Precision = Literal["int8", "int16", "fp16", "bf16", "fp32"]
# Bytes of one MAC operand (an ifmap, weight or ofmap element) at each precision.
PRECISION_BYTES: dict[Precision, int] = {"int8": 1, "int16": 2, "fp16": 2, "bf16": 2, "fp32": 4}
FLOAT_PRECISIONS: frozenset[Precision] = frozenset({"fp16", "bf16", "fp32"})
Operand = Literal["ifmap", "weight", "ofmap"]
OPERANDS: tuple[Operand, ...] = ("ifmap", "weight", "ofmap")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    def field_values(self) -> dict[str, Any]:
        """`model_dump()`, read from the fields (numbers, strings, bools, None, sections)
        without pydantic's serializer, which would have to be built first (~25 ms)."""
        values = {name: getattr(self, name) for name in type(self).model_fields}
        return {name: value.field_values() if isinstance(value, _Model) else value
                for name, value in values.items()}  # fmt: skip


class ArrayConfig(_Model):
    """The systolic MAC array."""

    rows: int = Field(32, gt=0, le=65536, description="PE rows of the array (Ar)")
    cols: int = Field(32, gt=0, le=65536, description="PE columns of the array (Ac)")
    dataflow: Dataflow = Field(
        "ws",
        description="what stays in the PEs: os = outputs, ws = weights, is = inputs (systolic "
        "GEMM dataflows); rs = row stationary (Eyeriss: a filter row per PE, ifmap rows sliding "
        "diagonally, partial sums accumulated up each column; `row_stationary` sizes it)",
    )
    precision: Precision = Field(
        "int8",
        description="MAC operand precision: int8 (int32 accumulators, bit-exact --check), "
        "int16 (fixed point, as Eyeriss; analytic only), or fp16 / bf16 / fp32 (fp32 "
        "accumulators); sets the bytes of every ifmap, weight and ofmap element in SRAM, DRAM "
        "and the footprint (1, 2, 2, 2, 4) and the energy per MAC",
    )
    accumulator_bits: int = Field(
        32, ge=8, le=64,
        description="accumulator register width in bits (float precisions: 32, fp32 accumulation)",
    )  # fmt: skip
    accumulator_overflow: Literal["wrap", "saturate"] = Field(
        "wrap", description="what an accumulator does when a sum leaves its range"
    )
    fold_overlap: bool = Field(
        True,
        description="overlap each fold's fill / weight preload with the previous fold's drain "
        "(double-buffered PE registers, as in TPU v1 and most NPUs); false reproduces SCALE-Sim, "
        "and a SCALE-Sim .cfg sets it false",
    )
    depthwise_unit: Literal["array", "vector"] = Field(
        "array",
        description="where depthwise convolutions run: per-channel GEMMs on the array, "
        "or the vector unit",
    )
    conv_transpose: Literal["sub_pixel", "zero_insertion"] = Field(
        "sub_pixel",
        description="how a transposed convolution runs on the array: sub_pixel = one dense "
        "conv per output phase (stride_h·stride_w of them, side by side on N) on the original "
        "input, as NPUs do; zero_insertion = the textbook dense conv over the input upsampled "
        "with stride − 1 zeros between pixels (the zeros cost MACs, SRAM and DRAM traffic)",
    )
    requantization: Literal["onnx", "tflite"] = Field(
        "onnx",
        description="requantizer arithmetic: onnxruntime float32 scaling or TFLite "
        "fixed-point multiplier and shift",
    )

    @property
    def pe_count(self) -> int:
        return self.rows * self.cols

    @property
    def accumulator_bytes(self) -> int:
        """Bytes of one partial sum kept in the ofmap buffer."""
        return -(-self.accumulator_bits // 8)

    @property
    def element_bytes(self) -> int:
        """Bytes of one operand element (ifmap, weight or final ofmap) at `precision`."""
        return PRECISION_BYTES[self.precision]

    @property
    def is_float(self) -> bool:
        return self.precision in FLOAT_PRECISIONS

    @model_validator(mode="after")
    def _float_accumulates_in_fp32(self) -> ArrayConfig:
        if self.is_float and self.accumulator_bits != 32:
            raise ValueError(
                f"accumulator_bits must be 32 for {self.precision} precision (fp32 "
                f"accumulation), not {self.accumulator_bits}"
            )
        return self


class VectorUnitConfig(_Model):
    """The SIMD unit beside the array: pooling, elementwise, activations, requantization."""

    lanes: int = Field(
        32, gt=0, le=1 << 20, description="parallel lanes (elements per cycle per op)"
    )
    ops_per_lane_per_cycle: int = Field(
        1, gt=0, le=1024, description="operations per lane per cycle"
    )
    pipeline_latency_cycles: int = Field(
        4,
        ge=0,
        le=1 << 20,
        description="cycles from the first input to the first output of a vector op",
    )

    @property
    def ops_per_cycle(self) -> int:
        return self.lanes * self.ops_per_lane_per_cycle


class BufferConfig(_Model):
    """One on-chip SRAM buffer."""

    size_kib: float = Field(
        ge=1 / 1024,
        le=1 << 30,
        allow_inf_nan=False,
        description="capacity in KiB (1 KiB = 1024 bytes)",
    )
    banks: int = Field(1, gt=0, le=1 << 16, description="independent banks")
    word_bytes: int = Field(8, gt=0, le=1 << 16, description="bytes per bank access")
    read_ports: int = Field(1, gt=0, le=64, description="read ports per bank")
    write_ports: int = Field(1, gt=0, le=64, description="write ports per bank")
    double_buffered: bool = Field(
        True, description="split into two halves: compute on one while DMA fills the other"
    )
    read_pj_per_byte: float | None = Field(
        None,
        ge=0,
        le=1e9,
        allow_inf_nan=False,
        description="read energy of this buffer per byte, pJ; unset = energy.sram_read_pj_per_byte"
        " or scaled from the buffer's size (Horowitz, see README)",
    )
    write_pj_per_byte: float | None = Field(
        None,
        ge=0,
        le=1e9,
        allow_inf_nan=False,
        description="write energy of this buffer per byte, pJ; unset = "
        "energy.sram_write_pj_per_byte or the size-scaled read energy",
    )

    @property
    def size_bytes(self) -> int:
        return int(self.size_kib * 1024)

    @property
    def tile_bytes(self) -> int:
        """Bytes available to one tile (half the buffer when double buffered)."""
        return self.size_bytes // 2 if self.double_buffered else self.size_bytes


class SramConfig(_Model):
    """On-chip buffers: separate ifmap / weight / ofmap buffers, a unified buffer, or a mix.

    An operand without its own buffer lives in `unified`.
    """

    ifmap: BufferConfig | None = Field(
        default_factory=lambda: BufferConfig(size_kib=64), description="input activations"
    )
    weight: BufferConfig | None = Field(
        default_factory=lambda: BufferConfig(size_kib=64), description="weights"
    )
    ofmap: BufferConfig | None = Field(
        default_factory=lambda: BufferConfig(size_kib=32),
        description="output activations and partial sums",
    )
    unified: BufferConfig | None = Field(
        None, description="shared buffer for every operand that has no buffer of its own"
    )
    undersized: Literal["error", "stream"] = Field(
        "error",
        description="when even the smallest legal tile of an operand does not fit its buffer "
        "half: error = refuse the layer, naming the buffer and the bytes; stream = simulate "
        "anyway, streaming that operand from DRAM through the buffer every time the array "
        "reads it (no reuse from SRAM; reported per layer as undersized_buffers)",
    )

    @model_validator(mode="after")
    def _every_operand_has_a_home(self) -> SramConfig:
        homeless = [op for op in OPERANDS if getattr(self, op) is None]
        if homeless and self.unified is None:
            raise ValueError(
                f"{homeless[0]} needs a buffer: set sram.{homeless[0]} or sram.unified"
            )
        return self

    def buffer_for(self, operand: Operand) -> BufferConfig:
        own: BufferConfig | None = getattr(self, operand)
        if own is not None:
            return own
        assert self.unified is not None
        return self.unified

    def is_shared(self, operand: Operand) -> bool:
        return getattr(self, operand) is None

    @property
    def total_bytes(self) -> int:
        buffers = [getattr(self, op) for op in OPERANDS] + [self.unified]
        return sum(b.size_bytes for b in buffers if b is not None)


class RowStationaryConfig(_Model):
    """The PE scratchpads of a row-stationary array (`array.dataflow: rs`), in entries of one
    operand each. Defaults: Eyeriss v1 (Chen et al., JSSC 2017): 12 ifmap, 224 filter and 24
    psum entries of 16 bits per PE. The global buffer is the chip's `sram`: the ifmap buffer
    holds ifmap rows and partial sums, the weight buffer the filters of one pass."""

    ifmap_spad_entries: int = Field(
        12, gt=0, le=1 << 16, description="ifmap scratchpad of a PE: a sliding window of q·S"
    )
    filter_spad_entries: int = Field(
        224, gt=0, le=1 << 20, description="filter scratchpad of a PE: p·q·S filter weights"
    )
    psum_spad_entries: int = Field(
        24, gt=0, le=1 << 16, description="psum scratchpad of a PE: p partial sums"
    )


class DramConfig(_Model):
    """The off-chip memory channel."""

    bandwidth_bytes_per_cycle: float = Field(
        16.0,
        ge=1e-6,
        description="sustained bandwidth in bytes per array clock cycle (.inf: unlimited)",
    )
    latency_cycles: int = Field(
        100,
        ge=0,
        le=10**9,
        description="cycles from the end of a read transfer until its data is in SRAM "
        "(requests are pipelined: latency does not hold the channel)",
    )
    burst_bytes: int = Field(
        64,
        gt=0,
        le=1 << 30,
        description="transfer granularity in bytes: each tile transfer is whole bursts",
    )
    prefetch_next_layer_weights: bool = Field(
        True,
        description="fetch the next layer's first weight tile during the current layer, as soon "
        "as a weight buffer half is free",
    )
    feature_map_compression: Literal["none", "rlc"] = Field(
        "none",
        description="rlc = run-length coding of feature maps on the link (Eyeriss: a 5-bit run "
        "of zeros + a 16-bit level per pair, three pairs per 64-bit word; not the first layer's "
        "input, not weights); read only by the rs dataflow",
    )
    feature_map_density: float = Field(
        1.0,
        gt=0,
        le=1,
        allow_inf_nan=False,
        description="fraction of non-zero elements in a compressed feature map (1 − zeros)",
    )
    capacity_mib: float = Field(
        8192.0,
        gt=0,
        le=1 << 30,
        allow_inf_nan=False,
        description="DRAM capacity in MiB (default 8 GiB, an edge module); read only by "
        "training, for the largest batch whose step fits (summary training.max_batch)",
    )

    @property
    def capacity_bytes(self) -> int:
        return int(self.capacity_mib * 1024 * 1024)


class CoreConfig(_Model):
    """One core of a multi-core chip: its own array, vector unit and local SRAM. A field left
    out is the chip's top-level one (the template)."""

    array: ArrayConfig | None = Field(None, description="this core's MAC array")
    vector_unit: VectorUnitConfig | None = Field(None, description="this core's vector unit")
    sram: SramConfig | None = Field(None, description="this core's local SRAM buffers")


class NocConfig(_Model):
    """The on-chip network between the cores and the DRAM controller.

    `mesh`: the cores sit on a near-square grid (ceil(sqrt(n)) columns, row by row) with the DRAM
    controller attached to the router of core 0; a transfer crosses the Manhattan distance in
    hops (+1 hop into or out of the controller), each link carries `bandwidth_bytes_per_cycle`,
    and only the controller's port is shared (core-to-core routes are contention-free). `bus`:
    one shared bus carries every transfer, DRAM and core-to-core, one hop each.
    """

    topology: Literal["mesh", "bus"] = Field("mesh", description="mesh or bus (see above)")
    bandwidth_bytes_per_cycle: float | None = Field(
        None, gt=0, allow_inf_nan=True,
        description="bytes per cycle of one NoC link (mesh) or of the bus; unset = the DRAM "
        "channel's bandwidth (a NoC that never slows a DRAM stream down)",
    )  # fmt: skip
    hop_latency_cycles: int = Field(
        2, ge=0, le=10**6, description="cycles a transfer's data takes per hop (router + link)"
    )


class EnergyConfig(_Model):
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


class TrainingConfig(_Model):
    """How the chip's compiler runs a training step (read only by `--training`)."""

    activations: Literal["keep", "recompute"] = Field(
        "keep",
        description="keep = store every forward tensor the backward pass reads; recompute = "
        "store only the conv / fc inputs and recompute the rest (ReLU masks, pooling argmax, "
        "pre-BatchNorm outputs) by running their forward layers again before their backward",
    )


ActivationBuffer = Literal["ifmap", "ofmap", "unified"]


class MemoryConfig(_Model):
    """How the compiler keeps activations on chip between layers (README "Activation residency
    and layer fusion"). Both features are off by default: every layer then reads its input
    from DRAM and writes its output back, as each layer's memory model assumes."""

    activation_residency: Literal["off", "on"] = Field(
        "off",
        description="on = a layer's output stays in the activation buffers for its consumers "
        "when it fits beside their tiles (no DRAM write, no DRAM read); tensors that do not fit "
        "are spilled, in production order (README)",
    )
    activation_buffers: tuple[ActivationBuffer, ...] = Field(
        ("ifmap", "ofmap"),
        min_length=1,
        description="the SRAM buffers resident activations and fused tiles may occupy (their "
        "capacity, less the running layer's own tiles); unified = the shared buffer",
    )
    fusion: Literal["off", "auto", "manual"] = Field(
        "off",
        description="depth-first layer fusion: off; auto = chains chosen greedily under the SRAM "
        "capacity where they cut DRAM bytes; manual = the chains in fused_groups (the chip's, or "
        "else the workload's)",
    )
    fused_groups: tuple[tuple[str, str], ...] = Field(
        (),
        description="with fusion: manual, each fused chain as [first layer, last layer] "
        "(inclusive, in the network's order); empty: the workload's fused_groups",
    )
    fusion_halo: Literal["recompute", "cache"] = Field(
        "recompute",
        description="rows a fused tile shares with the previous tile: recompute = compute them "
        "again (extra MACs, reported; the group input's halo is read again), cache = keep them "
        "in SRAM (no extra MACs, more SRAM per group)",
    )

    @model_validator(mode="after")
    def _groups_need_manual(self) -> MemoryConfig:
        if self.fused_groups and self.fusion != "manual":
            raise ValueError(f"fused_groups needs fusion: manual, not {self.fusion!r}")
        return self


class AreaConfig(_Model):
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


class ChipConfig(_Model):
    """A whole accelerator. `ChipConfig()` is the embedded default chip."""

    def __init__(self, /, **data: Any) -> None:
        if data:
            super().__init__(**data)
            return
        # The embedded default, equal to a validated one in every field, without building the
        # validators: a run on the default chip validates nothing (tests/test_config.py).
        default = _default_chip()
        for name in ("__dict__", "__pydantic_fields_set__"):
            object.__setattr__(self, name, copy.copy(getattr(default, name)))
        for name in ("__pydantic_extra__", "__pydantic_private__"):
            object.__setattr__(self, name, None)

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
        """A copy with fields changed by dotted path (`{"array.rows": 64}`), validated again."""
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


@cache
def _default_chip() -> ChipConfig:
    """`ChipConfig()` assembled from the defaults as validation would make them (the buffer
    sizes as floats, each section's fields unset)."""

    def buffer(size_kib: float) -> BufferConfig:
        return BufferConfig.model_construct({"size_kib"}, size_kib=size_kib)

    sections: dict[str, Any] = {  # every other section at its own model's defaults, unvalidated
        name: field.default_factory.model_construct(set())
        for name, field in ChipConfig.model_fields.items()
        if name != "sram"
        and isinstance(field.default_factory, type) and issubclass(field.default_factory, _Model)
    }  # fmt: skip
    sections["sram"] = SramConfig.model_construct(
        set(), ifmap=buffer(64.0), weight=buffer(64.0), ofmap=buffer(32.0)
    )
    return ChipConfig.model_construct(set(), **sections)
