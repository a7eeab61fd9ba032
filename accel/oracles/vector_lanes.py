"""A cycle-by-cycle model of the vector unit's SIMD lanes, to check its throughput formula.

The unit has `lanes` lanes running in lockstep. Outputs are dealt out in rounds of `lanes`: in a
round each lane owns one output and, every cycle, applies `ops_per_lane_per_cycle` of that
output's operations to its accumulator (a MAC of an ifmap tap and a weight for depthwise conv, an
add or a max for pooling and elementwise layers). When the round's last operation is done the
results enter a `pipeline_latency_cycles`-deep output pipeline (requantization, write port) and
the lanes start the next round at once. Cycle 0 is the first cycle of the first round; `cycles`
is the number of cycles up to and including the one in which the last result is written.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from accel.config import VectorUnitConfig

Reduction = Literal["mac", "sum", "max"]


@dataclass(frozen=True)
class VectorRun:
    """What the lane model produced."""

    output: npt.NDArray[np.int64]  # one result per output (int32 arithmetic for mac and sum)
    cycles: int


def simulate_vector(
    operands: npt.ArrayLike,
    unit: VectorUnitConfig,
    reduction: Reduction,
    weights: npt.ArrayLike | None = None,
) -> VectorRun:
    """Reduce each row of `operands` (outputs × ops) on the lanes; mac multiplies `weights` in."""
    x = np.asarray(operands, dtype=np.int64)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.int64)
    outputs, ops = x.shape
    lanes, per_cycle = unit.lanes, unit.ops_per_lane_per_cycle
    result = np.zeros(outputs, dtype=np.int64)
    pipeline: deque[tuple[int, npt.NDArray[np.int64], slice]] = deque()
    cycle, last_write = 0, -1
    for first in range(0, outputs, lanes):
        owned = slice(first, min(first + lanes, outputs))
        accumulator = _identity(reduction, owned.stop - owned.start)
        for op in range(0, ops, per_cycle):  # one cycle: each lane does up to per_cycle ops
            taps = slice(op, min(op + per_cycle, ops))
            step = x[owned, taps] * w[owned, taps] if reduction == "mac" else x[owned, taps]
            accumulator = _apply(reduction, accumulator, step)
            cycle += 1
        pipeline.append((cycle - 1 + unit.pipeline_latency_cycles, accumulator, owned))
        while pipeline and pipeline[0][0] <= cycle - 1:  # results whose latency has passed
            last_write = _write(pipeline.popleft(), result, last_write)
    while pipeline:
        last_write = _write(pipeline.popleft(), result, last_write)
    return VectorRun(result, last_write + 1)


def _identity(reduction: Reduction, count: int) -> npt.NDArray[np.int64]:
    if reduction == "max":
        return np.full(count, np.iinfo(np.int64).min, dtype=np.int64)
    return np.zeros(count, dtype=np.int64)


def _apply(
    reduction: Reduction, accumulator: npt.NDArray[np.int64], step: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    if reduction == "max":
        result: npt.NDArray[np.int64] = np.maximum(accumulator, step.max(axis=1))
        return result
    total = accumulator + step.sum(axis=1)
    wrapped: npt.NDArray[np.int64] = (total + 2**31) % 2**32 - 2**31  # int32 accumulator wraps
    return wrapped


def _write(
    entry: tuple[int, npt.NDArray[np.int64], slice], result: npt.NDArray[np.int64], last: int
) -> int:
    ready, values, owned = entry
    result[owned] = values
    return max(last, ready)
