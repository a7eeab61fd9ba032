"""A cycle-by-cycle model of the systolic array's registers, to check the analytic timing.

It moves real int8 operands through an `rows × cols` grid of PEs and returns both the int32
outputs and the cycle count, for GEMMs small enough to step one cycle at a time (numpy over all
PEs per cycle). The hardware it models, cycle by cycle:

* **Fixed geometry.** Every fold is run as a full `rows × cols` fold: the edge feeders put zeros
  into the lanes a partial fold does not use, so a partial fold takes as long as a full one
  (SCALE-Sim's rule). Outputs of padded lanes are dropped at the array edge.
* **os.** The ifmap row of output pixel `i` enters row `i` at the left edge, delayed by `i`
  cycles (skew); weight column `j` enters column `j` at the top, delayed by `j`. Operands hop one
  PE right / down per cycle, so PE(i, j) does MAC k in cycle `e + k + i + j`. A `last` flag rides
  with the ifmap: in the cycle of its last MAC a PE puts its sum on its column's output bus and
  clears its accumulator. The bus carries one word per cycle and leaves at the bottom edge.
* **ws / is.** The stationary operand (weights for ws, ifmap for is) is shifted down a *shadow*
  register chain, one row per cycle for `rows` cycles, the top row's value entering last; the
  shift enable of row r starts r cycles after the column's load starts, so a row is overwritten
  only after it has handed its previous value on. A `swap` flag rides with the first streamed
  operand of each fold; a PE that sees it copies its shadow register into its active register.
  The streamed operand (ifmap for ws, weights for is) enters row r skewed by r and hops right;
  partial sums hop down one row per cycle and leave at the bottom edge, and are added into the
  output buffer (partial sums of later row folds are read, added and written back).

The controller runs folds in SCALE-Sim's order (groups, then column folds, then row folds), and
either one after another (`fold_overlap=False`: a fold starts in the cycle after the previous
fold's last output left the array) or overlapped (double-buffered stationary registers / output
bus: see `_overlapped_starts`). The cycle count follows SCALE-Sim: cycle 0 is the first cycle in
which an operand enters the array and `cycles` is the index of the cycle in which the last
output leaves it (one less than the number of cycles elapsed, SCALE-Sim's "-1").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from accel.config import Dataflow
from accel.mapping.array import ceil_div
from accel.oracles import systolic_engines as engines
from accel.oracles.systolic_engines import Fold, HazardError

IntArray = npt.NDArray[np.integer]


@dataclass(frozen=True)
class SystolicRun:
    """What the PE-level model produced."""

    output: npt.NDArray[np.int32]  # (groups, M, N) int32 accumulators
    cycles: int  # index of the cycle in which the last output left the array
    ifmap_reads: int  # operand words read from SRAM into the array edges (padding excluded)
    weight_reads: int
    ofmap_writes: int  # outputs written to the output buffer (padded lanes excluded)
    ofmap_reads: int  # partial sums read back to add a later row fold
    active_pes: npt.NDArray[np.int64] | None  # per cycle: PEs doing a MAC on real operands
    pe_cycles: int  # rows · cols · cycles simulated (the work the model did)


def simulate_gemm(
    ifmap: IntArray,
    weight: IntArray,
    rows: int,
    cols: int,
    dataflow: Dataflow,
    fold_overlap: bool = False,
    trace: bool = False,
    period_override: int | None = None,
) -> SystolicRun:
    """Run (groups of) int8 GEMMs `ifmap (M×K) · weight (K×N)` on the modelled array.

    `ifmap` is (M, K) or (groups, M, K), `weight` (K, N) or (groups, K, N). `period_override`
    forces the overlapped fold issue period (to show that a shorter one breaks the hardware).
    """
    a = np.asarray(ifmap).astype(np.int32)
    w = np.asarray(weight).astype(np.int32)
    if a.ndim == 2:
        a, w = a[None], w[None]
    if a.ndim != 3 or w.ndim != 3 or a.shape[0] != w.shape[0] or a.shape[2] != w.shape[1]:
        raise ValueError(f"GEMM operands must be (G, M, K) and (G, K, N), not {a.shape}, {w.shape}")
    stream, stationary, plane = _orient(a, w, dataflow)
    fold_count = a.shape[0] * ceil_div(plane[0], rows) * ceil_div(plane[1], cols)
    if fold_count * max(a.shape[1:] + w.shape[2:]) >= 2**31:
        raise ValueError(f"the PE-level model is for small layers, not {fold_count} folds")
    folds = _fold_list(a.shape[0], plane[0], plane[1], rows, cols)
    run: engines.Engine
    if dataflow == "os":
        steps = a.shape[2]
        run = engines.OutputStationary(stream, stationary, rows, cols, folds, trace)
    else:
        steps = stream.shape[1]
        run = engines.Stationary(stream, stationary, rows, cols, folds, trace)
    if fold_overlap:
        period = (
            _overlap_period(dataflow, steps, rows) if period_override is None else period_override
        )
        starts = _overlapped_starts(dataflow, len(folds), period, rows)
        run.run_segment(list(range(len(folds))), starts)
    else:
        _run_one_by_one(run, dataflow, len(folds), rows)
    return _result(run, dataflow)


def _orient(
    a: npt.NDArray[np.int32], w: npt.NDArray[np.int32], dataflow: Dataflow
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], tuple[int, int]]:
    """(streamed operand, stationary operand, the rows × cols plane the folds tile).

    os: both stream, rows = M, cols = N, time = K; ws: rows = K, cols = N, time = M;
    is: the roles swap, rows = K, cols = M, time = N.
    """
    if dataflow == "is":
        stream, stationary = w.transpose(0, 2, 1), a.transpose(0, 2, 1)
        return stream, stationary, (stationary.shape[1], stationary.shape[2])
    plane = (a.shape[1], w.shape[2]) if dataflow == "os" else (w.shape[1], w.shape[2])
    return a, w, plane


def _fold_list(groups: int, rows_needed: int, cols_needed: int, rows: int, cols: int) -> list[Fold]:
    """SCALE-Sim's fold order: per group, column folds outer, row folds inner."""
    return [
        Fold(
            g,
            r * rows,
            min(rows, rows_needed - r * rows),
            c * cols,
            min(cols, cols_needed - c * cols),
        )
        for g in range(groups)
        for c in range(ceil_div(cols_needed, cols))
        for r in range(ceil_div(rows_needed, rows))
    ]


def _overlap_period(dataflow: Dataflow, steps: int, rows: int) -> int:
    """Cycles between overlapped folds, from the controller's two rules.

    A fold's stream may enter once the previous fold's stream has (T cycles). ws/is: the shadow
    chain of column 0 starts loading the next fold when the current fold's swap flag enters and
    needs `rows` cycles. os: each column bus carries the previous fold's `rows` results on
    consecutive cycles, so the next fold's first result may come `rows` cycles after its first.
    """
    del dataflow  # both rules give the same bound
    return max(steps, rows)


def _overlapped_starts(
    dataflow: Dataflow, folds: int, period: int, rows: int
) -> list[tuple[int, int]]:
    """(load start, stream start) per fold: the first load is exposed, later ones hidden."""
    first_stream = 0 if dataflow == "os" else rows
    streams = [first_stream + f * period for f in range(folds)]
    loads = [0, *streams[:-1]]  # fold f+1 loads while fold f streams
    return list(zip(loads, streams, strict=True))


def _run_one_by_one(run: engines.Engine, dataflow: Dataflow, folds: int, rows: int) -> None:
    """SCALE-Sim's schedule: each fold starts when the previous one has left the array."""
    start = 0
    preload = 0 if dataflow == "os" else rows
    for fold in range(folds):
        last = run.run_segment([fold], [(start, start + preload)])
        start = last + 1


def _result(run: engines.Engine, dataflow: Dataflow) -> SystolicRun:
    output, writes, reads = run.collect_outputs()
    if dataflow == "is":
        output = output.transpose(0, 2, 1)
        ifmap_reads, weight_reads = run.stationary_reads, run.stream_reads
    elif dataflow == "ws":
        ifmap_reads, weight_reads = run.stream_reads, run.stationary_reads
    else:
        ifmap_reads, weight_reads = run.stream_reads, run.stationary_reads
    active = np.array(run.active_trace, dtype=np.int64) if run.trace else None
    return SystolicRun(
        output=np.ascontiguousarray(output),
        cycles=run.last_output_cycle,
        ifmap_reads=ifmap_reads,
        weight_reads=weight_reads,
        ofmap_writes=writes,
        ofmap_reads=reads,
        active_pes=active,
        pe_cycles=run.rows * run.cols * run.cycles_simulated,
    )


__all__ = ["Fold", "HazardError", "SystolicRun", "simulate_gemm"]
