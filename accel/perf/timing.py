"""Compute cycles and SRAM accesses of one layer, assuming operands are always on chip.

Array layers follow SCALE-Sim 3.0.0's conventions (see README, "Agreement with SCALE-Sim"):
each fold costs `T + Ar + Ac − 2` cycles in os (operands skew in over Ar + Ac − 2 cycles while T
wavefronts stream) and `2·Ar + Ac + T − 2` in ws / is (Ar more to preload the stationary operand),
and a layer costs `folds · per_fold − 1`. With `array.fold_overlap`, a fold's preload and fill
overlap the previous fold's stream and drain, as double-buffered PE registers allow; the skew and
drain are then paid once per layer. Vector-unit layers take `ceil(ops / ops_per_cycle)` cycles plus
the unit's pipeline latency.
"""

from __future__ import annotations

from dataclasses import dataclass

from accel.config import ChipConfig
from accel.mapping.array import ArrayMapping, ceil_div
from accel.mapping.mapper import Mapping


@dataclass(frozen=True)
class ComputeTiming:
    """Stall-free cycles and SRAM accesses (in elements) of one layer."""

    compute_cycles: int
    cycles_per_fold: int  # 0 off the array
    sram_ifmap_reads: int
    sram_weight_reads: int
    sram_ofmap_writes: int
    sram_ofmap_reads: int  # partial sums read back to accumulate across row folds
    mapping_efficiency: float  # mean used-PE fraction over folds; 0 off the array


def time_layer(mapping: Mapping, chip: ChipConfig) -> ComputeTiming:
    """Compute cycles and SRAM traffic of one mapped layer."""
    if mapping.array is not None:
        return _time_array(mapping.array, chip.array.fold_overlap)
    layer = mapping.layer
    if mapping.unit == "none":
        return ComputeTiming(0, 0, 0, 0, 0, 0, 0.0)
    unit = chip.vector_unit
    cycles = ceil_div(mapping.vector_ops, unit.ops_per_cycle) + unit.pipeline_latency_cycles
    return ComputeTiming(
        compute_cycles=cycles,
        cycles_per_fold=0,
        sram_ifmap_reads=layer.ifmap_elements * mapping.batch,
        sram_weight_reads=layer.weight_elements,
        sram_ofmap_writes=layer.ofmap_elements * mapping.batch,
        sram_ofmap_reads=0,
        mapping_efficiency=0.0,
    )


def fold_cycles(array: ArrayMapping) -> int:
    """Cycles of one fold without overlap (SCALE-Sim's per-fold count)."""
    rows, cols, steps = array.array_rows, array.array_cols, array.time_steps
    if array.dataflow == "os":
        return steps + rows + cols - 2
    return 2 * rows + cols + steps - 2


def array_compute_cycles(array: ArrayMapping, fold_overlap: bool) -> int:
    """Stall-free cycles of all folds of all groups."""
    folds = array.folds
    if not fold_overlap:
        return folds * fold_cycles(array) - 1
    rows, cols, steps = array.array_rows, array.array_cols, array.time_steps
    skew_and_drain = rows + cols - 2
    if array.dataflow == "os":
        return folds * steps + skew_and_drain - 1
    # ws / is: the first preload is exposed; later ones hide behind the previous fold's stream
    # unless the stream is shorter than a preload.
    return rows + folds * max(steps, rows) + skew_and_drain - 1


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
    )
