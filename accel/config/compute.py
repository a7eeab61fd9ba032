"""The compute of a core: the systolic MAC array, the vector unit beside it, and the PE
scratchpads of a row-stationary array; the operand precisions they work at."""

from __future__ import annotations

from typing import Literal

from accel.user_input.record import Field, Record, model_validator

Dataflow = Literal["os", "ws", "is", "rs"]
Precision = Literal["int8", "int16", "fp16", "bf16", "fp32"]
# Bytes of one MAC operand (an ifmap, weight or ofmap element) at each precision.
PRECISION_BYTES: dict[Precision, int] = {"int8": 1, "int16": 2, "fp16": 2, "bf16": 2, "fp32": 4}
FLOAT_PRECISIONS: frozenset[Precision] = frozenset({"fp16", "bf16", "fp32"})


class ArrayConfig(Record):
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


class VectorUnitConfig(Record):
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


class RowStationaryConfig(Record):
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
