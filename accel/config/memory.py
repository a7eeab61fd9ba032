"""The memories of a chip: its on-chip SRAM buffers, the DRAM channel, and how the compiler
keeps activations on chip (residency, fusion) or recomputes them when training."""

from __future__ import annotations

from typing import Literal

from accel.user_input.record import Field, Record, model_validator

Operand = Literal["ifmap", "weight", "ofmap"]
OPERANDS: tuple[Operand, ...] = ("ifmap", "weight", "ofmap")
ActivationBuffer = Literal["ifmap", "ofmap", "unified"]


class BufferConfig(Record):
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


class SramConfig(Record):
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


class DramConfig(Record):
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


class MemoryConfig(Record):
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


class TrainingConfig(Record):
    """How the chip's compiler runs a training step (read only by `--training`)."""

    activations: Literal["keep", "recompute"] = Field(
        "keep",
        description="keep = store every forward tensor the backward pass reads; recompute = "
        "store only the conv / fc inputs and recompute the rest (ReLU masks, pooling argmax, "
        "pre-BatchNorm outputs) by running their forward layers again before their backward",
    )
