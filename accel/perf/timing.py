"""Compute cycles and SRAM accesses of one layer, assuming operands are always on chip.

Array layers follow SCALE-Sim 3.0.0's conventions (README, "Agreement with SCALE-Sim"). One fold
lasts `L = T + Ar + Ac − 2` cycles in os (operands skew in over Ar + Ac − 2 cycles while T
wavefronts stream) and `L = T + 2·Ar + Ac − 2` in ws / is (Ar more to preload the stationary
operand). Cycles are counted from 0, so a layer of F folds issued every `P` cycles reports
`(F − 1)·P + L − 1`: the index of the cycle in which its last output leaves the array.
Without fold overlap `P = L` (SCALE-Sim: `F·L − 1`). With `array.fold_overlap` the next fold
enters right behind the current one, `P = max(T, Ar)`: in ws / is the double-buffered stationary
registers load the next fold (Ar cycles) while the current one streams; in os each column's
output bus drains a fold's Ar sums on consecutive cycles. `accel.oracles.systolic` models the
registers cycle by cycle and its counts equal these formulas exactly (tests/test_systolic.py).

Vector-unit layers run on `lanes` SIMD lanes in lockstep: each lane owns one output at a time and
does `ops_per_lane_per_cycle` of its operations per cycle (window taps, inputs to add, ...), so a
layer of `outputs` results of `ops` operations each takes
`ceil(outputs / lanes) · ceil(ops / ops_per_lane_per_cycle) + pipeline_latency_cycles` cycles
(checked against `accel.oracles.vector_lanes`).
"""

from __future__ import annotations

from dataclasses import dataclass

from accel.config import ChipConfig, VectorUnitConfig
from accel.mapping.array import ArrayMapping, ceil_div
from accel.mapping.mapper import Mapping
from accel.mapping.row_stationary import RowStationaryMapping
from accel.perf.row_stationary import buffer_accesses, busy_fraction, rs_compute_cycles


@dataclass(frozen=True)
class ComputeTiming:
    """Stall-free cycles and SRAM accesses (in elements) of one layer."""

    compute_cycles: int
    cycles_per_fold: int  # L, one fold on its own; 0 off the array
    sram_ifmap_reads: int
    sram_weight_reads: int
    sram_ofmap_writes: int
    sram_ofmap_reads: int  # partial sums read back to accumulate across row folds
    mapping_efficiency: float  # mean used-PE fraction over folds; 0 off the array
    fold_period_cycles: int = 0  # P, cycles between fold starts; 0 off the array
    fold_overlap: bool = False  # folds overlapped (double-buffered PE registers)


def time_layer(mapping: Mapping, chip: ChipConfig) -> ComputeTiming:
    """Compute cycles and SRAM traffic of one mapped layer."""
    if mapping.row_stationary is not None:
        return _time_row_stationary(mapping.row_stationary, chip.array.pe_count)
    if mapping.array is not None:
        return _time_array(mapping.array, chip.array.fold_overlap)
    layer = mapping.layer
    if mapping.unit == "none":
        return ComputeTiming(0, 0, 0, 0, 0, 0, 0.0)
    return ComputeTiming(
        compute_cycles=vector_cycles(mapping.vector_outputs, mapping.vector_ops, chip.vector_unit),
        cycles_per_fold=0,
        sram_ifmap_reads=layer.ifmap_elements * mapping.batch,
        sram_weight_reads=layer.weight_elements,
        sram_ofmap_writes=layer.ofmap_elements * mapping.batch,
        sram_ofmap_reads=0,
        mapping_efficiency=0.0,
    )


def vector_cycles(outputs: int, ops: int, unit: VectorUnitConfig) -> int:
    """Cycles of `outputs` results that need `ops` operations in all, on SIMD lanes."""
    if outputs == 0:
        return 0
    rounds = ceil_div(outputs, unit.lanes)
    cycles_per_output = ceil_div(ceil_div(ops, outputs), unit.ops_per_lane_per_cycle)
    return rounds * cycles_per_output + unit.pipeline_latency_cycles


def fill_drain_cycles(array: ArrayMapping) -> int:
    """A fold's cycles beyond its T wavefronts: operands skew in and results out over
    `Ar + Ac − 2` cycles in os, plus `Ar` to preload the stationary operand in ws / is. The one
    home of this rule (the loop nest's fold runs use it too)."""
    rows, cols = array.array_rows, array.array_cols
    return rows + cols - 2 if array.dataflow == "os" else 2 * rows + cols - 2


def fold_cycles(array: ArrayMapping) -> int:
    """L: cycles of one fold on its own, first operand in to last output out (SCALE-Sim's)."""
    return array.time_steps + fill_drain_cycles(array)


def fold_period(array: ArrayMapping, fold_overlap: bool) -> int:
    """P: cycles from one fold's first operand entering the array to the next fold's."""
    if not fold_overlap:
        return fold_cycles(array)
    return max(array.time_steps, array.array_rows)


def array_compute_cycles(array: ArrayMapping, fold_overlap: bool) -> int:
    """Stall-free cycles of all folds of all groups, counted from 0 (SCALE-Sim's convention)."""
    return (array.folds - 1) * fold_period(array, fold_overlap) + fold_cycles(array) - 1


def _time_array(array: ArrayMapping, fold_overlap: bool) -> ComputeTiming:
    m, k, n, groups = array.m, array.k, array.n, array.groups
    if array.dataflow == "os":
        ifmap, weight = array.col_folds * m * k, array.row_folds * n * k
        ofmap_writes, ofmap_reads = m * n, 0
    elif array.dataflow == "ws":
        ifmap, weight = array.col_folds * m * k, k * n
        ofmap_writes, ofmap_reads = array.row_folds * m * n, (array.row_folds - 1) * m * n
    else:
        ifmap, weight = k * m, array.col_folds * k * n
        ofmap_writes, ofmap_reads = array.row_folds * m * n, (array.row_folds - 1) * m * n
    return ComputeTiming(
        compute_cycles=array_compute_cycles(array, fold_overlap),
        cycles_per_fold=fold_cycles(array),
        sram_ifmap_reads=ifmap * groups,
        sram_weight_reads=weight * groups,
        sram_ofmap_writes=ofmap_writes * groups,
        sram_ofmap_reads=ofmap_reads * groups,
        mapping_efficiency=array.mapping_efficiency,
        fold_period_cycles=fold_period(array, fold_overlap),
        fold_overlap=fold_overlap,
    )


def _time_row_stationary(mapping: RowStationaryMapping, pe_count: int) -> ComputeTiming:
    """A row-stationary layer (`accel.perf.row_stationary`): SRAM accesses are the global
    buffer's; `cycles_per_fold` is its longest pass."""
    accesses = buffer_accesses(mapping)
    return ComputeTiming(
        compute_cycles=rs_compute_cycles(mapping),
        cycles_per_fold=accesses.longest_pass_cycles,
        sram_ifmap_reads=accesses.ifmap_reads,
        sram_weight_reads=accesses.weight_reads,
        sram_ofmap_writes=accesses.psum_writes,
        sram_ofmap_reads=accesses.psum_reads,
        mapping_efficiency=busy_fraction(mapping, pe_count),
    )
