"""The MAC array running one layer's schedule: exact int accumulators, tile by tile.

Hardware model (what `Accumulator` describes). Every adder on the accumulation path is
`bits` wide. An output's accumulator is preloaded with the bias (the bias travels with the
first K tile's weights). The schedule's passes run in its loop order; in each pass the array
sums chains of products (`Schedule.k_chains`: a row fold in ws / is, a K tile in os, all of K
when os keeps its partial sums in the PEs), each chain one product after the other in K order
starting from 0, and adds each chain's sum to the output accumulator, which stays in the ofmap
buffer (or is spilled to DRAM at `bits` width) between passes. An output therefore receives its
chains in K order whatever the loop order, which only interleaves different outputs.
`wrap` is two's-complement wrap-around, so the result is the exact sum modulo 2**bits whatever
the order; `saturate` clamps after every single addition, so the result depends on the chains
and the K order, and is computed exactly that way.

Fast path. The operands are centred 8-bit codes (|x − x_zp| and |w − w_zp| at most 255, uint8
weights with a zero point included), so products stay below 2**16 and a float32 GEMM over at
most ~2**24 / (max|x − x_zp| · max|w − w_zp|) (≥ 258) reduction elements is exact, whatever
order BLAS sums in; longer K runs are split into such slices and accumulated in float64 (exact
below 2**53). When a cheap bound shows that no partial sum can leave the accumulator's range, no
narrowing is needed and consecutive K chunks are merged into one run (integer addition is
associative). Missing or duplicated chunks are executed as written, so a broken schedule
shows up as wrong outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from accel.functional.schedule import Chain, Range, Schedule, in_loop_order

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
FLOAT32_EXACT = float(2**24 - 1)  # largest partial-sum magnitude a float32 GEMM keeps exact


@dataclass(frozen=True)
class Accumulator:
    """Width and overflow behaviour of the array's accumulators (chip `array` section)."""

    bits: int = 32
    overflow: Literal["wrap", "saturate"] = "wrap"

    @property
    def limit(self) -> int:
        """Largest magnitude that always fits (2**(bits-1) − 1)."""
        return (1 << (self.bits - 1)) - 1


class GroupedOperands(Protocol):
    """A layer's centred operands (zero points subtracted), G independent GEMMs (M×K)·(K×N)."""

    @property
    def m(self) -> int: ...
    @property
    def k(self) -> int: ...
    @property
    def n(self) -> int: ...
    @property
    def groups(self) -> int: ...
    @property
    def product_bound(self) -> float:
        """max |ifmap| · max |weight| over all elements."""
        ...

    def partial(self, m: Range, k: Range, n: Range) -> F32:
        """Exact partial sums (m, groups, n) over a K slice short enough for float32."""
        ...

    def products(self, rows: I64, groups: I64, cols: I64, k: Range) -> F64:
        """Products (F, k) of the listed (row, group, col) outputs, one per reduction index."""
        ...

    def abs_bound(self, m: Range, k: Range, n: Range) -> F64:
        """Σ |ifmap · weight| over the K slice for each output (m, groups, n) — float64, exact."""
        ...


@dataclass(frozen=True)
class Accumulated:
    """The accumulators of one layer and how many of them the narrow width changed."""

    values: F64  # (M, groups · N): bias + Σ products, narrowed as the hardware does
    overflowed: int  # outputs whose accumulator differs from the exact sum


def accumulate(
    operands: GroupedOperands,
    bias: F64,
    schedule: Schedule,
    accumulator: Accumulator,
    weight_l1: F64,
    ifmap_abs_max: float,
) -> Accumulated:
    """Run `schedule` on `operands`; `bias` and `weight_l1` (Σ|w| per output) are (groups·N,)."""
    groups, n = operands.groups, operands.n
    acc = np.empty((operands.m, groups, n), dtype=np.float64)
    acc[:] = bias.reshape(groups, n)  # unexecuted tiles keep the preloaded bias
    bound = float(np.max(np.abs(bias) + ifmap_abs_max * weight_l1, initial=0.0))
    if bound <= accumulator.limit:  # no partial sum can overflow: merge chunks, skip narrowing
        _add_runs(acc, operands, schedule)
        return Accumulated(acc.reshape(operands.m, groups * n), 0)
    exact = acc.copy()
    _add_runs(exact, operands, schedule)
    if accumulator.overflow == "wrap":
        narrowed = _wrap(exact, accumulator.bits)
    else:
        narrowed = _saturating_run(acc, operands, schedule, accumulator)
    overflowed = int(np.count_nonzero(narrowed != exact))
    return Accumulated(narrowed.reshape(operands.m, groups * n), overflowed)


def _slices(k: Range, length: int) -> list[Range]:
    return [(start, min(start + length, k[1])) for start in range(k[0], k[1], length)]


def _float32_length(operands: GroupedOperands) -> int:
    return max(1, int(FLOAT32_EXACT // max(operands.product_bound, 1.0)))


def _add_runs(acc: F64, operands: GroupedOperands, schedule: Schedule) -> None:
    length = _float32_length(operands)
    runs = in_loop_order(schedule.loop_order, schedule.m_runs, schedule.k_runs, schedule.n_runs)
    for (m0, m1), run, (n0, n1) in runs:
        for k in _slices(run, length):
            acc[m0:m1, :, n0:n1] += operands.partial((m0, m1), k, (n0, n1))


def _wrap(values: F64, bits: int) -> F64:
    span = 1 << bits
    low = -(1 << (bits - 1))
    wrapped: F64 = (np.mod(values - low, span) + low).astype(np.float64)
    return wrapped


def _saturating_run(
    acc: F64, operands: GroupedOperands, schedule: Schedule, accumulator: Accumulator
) -> F64:
    """Saturate after every addition: chains from 0, then into the bias-preloaded acc."""
    out = acc.copy()
    limit = float(accumulator.limit)
    blocks = in_loop_order(
        schedule.loop_order, schedule.m_runs, schedule.k_chains, schedule.n_runs
    )
    for (m0, m1), chain, (n0, n1) in blocks:
        block = out[m0:m1, :, n0:n1]
        psum = _chain_psum(operands, (m0, m1), chain, (n0, n1), limit)
        np.clip(block + psum, -limit - 1, limit, out=block)
    return out


def _chain_psum(operands: GroupedOperands, m: Range, chain: Chain, n: Range, limit: float) -> F64:
    # Exact chain sums, except where the chain could saturate part-way: those are replayed
    # product by product.
    psum = np.zeros((m[1] - m[0], operands.groups, n[1] - n[0]), dtype=np.float64)
    bound = np.zeros_like(psum)
    for k in chain:
        for piece in _slices(k, _float32_length(operands)):
            psum += operands.partial(m, piece, n)
        bound += operands.abs_bound(m, k, n)
    risky = np.argwhere(bound > limit)
    for block in np.array_split(risky, max(1, len(risky) // 65536)):
        if len(block) == 0:
            continue
        rows, groups, cols = block[:, 0], block[:, 1], block[:, 2]
        products = np.concatenate(
            [operands.products(rows + m[0], groups, cols + n[0], k) for k in chain], axis=1
        )
        running = np.zeros(len(block), dtype=np.float64)
        for column in products.T:
            np.clip(running + column, -limit - 1, limit, out=running)
        psum[rows, groups, cols] = running
    return psum
