"""The order in which the MAC array computes one layer: which slices of the GEMM each pass covers.

A conv or fc layer is, per group, a GEMM (M×K)·(K×N) (M = output pixels × batch, K = reduction,
N = output channels per group). The mapping cuts the two dimensions that lie on the array into
folds (`accel.mapping.array`); a `Schedule` lists those folds as half-open index ranges
along M, K and N, in the order the hardware runs them. The functional engine executes exactly
these ranges: every K chunk produces an int32 partial sum that is added to the output
accumulator, every (M, N) tile writes its own outputs. So a mapping that drops, repeats or
misplaces a fold produces wrong numbers, not just wrong cycle counts.

Index conventions: M rows are ordered (image, output row, output column); K is ordered
(kernel row, kernel column, input channel) for a convolution, as the ifmap operand matrix of
SCALE-Sim, and in (channel, row, column) flattening order for a fully-connected layer.
A tiling of the memory hierarchy (DRAM → SRAM tiles) is another source of the same kind of
ranges: anything that can list its M, K and N chunks can build a `Schedule`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from accel.mapping.array import ArrayMapping, fold_sizes

Range = tuple[int, int]  # [start, stop) along one GEMM dimension


def _ranges(sizes: Sequence[int]) -> tuple[Range, ...]:
    ranges, start = [], 0
    for size in sizes:
        ranges.append((start, start + size))
        start += size
    return tuple(ranges)


def merge_runs(chunks: Sequence[Range]) -> tuple[Range, ...]:
    """Consecutive chunks that continue each other (`stop == next start`) as single runs.

    Integer addition is associative, so the partial sums of a run of K chunks can be computed in
    one matrix product without changing a bit. A gap, an overlap or a reordering starts a new run
    and is executed as written.
    """
    runs: list[Range] = []
    for start, stop in chunks:
        if runs and runs[-1][1] == start:
            runs[-1] = (runs[-1][0], stop)
        else:
            runs.append((start, stop))
    return tuple(runs)


@dataclass(frozen=True)
class Schedule:
    """The passes of one layer: M, K and N chunks, each in execution order.

    The passes are the Cartesian product of the three chunk lists; K chunks accumulate into the
    same outputs one after another (the order matters only for a saturating accumulator).
    """

    m: int
    k: int
    n: int
    m_chunks: tuple[Range, ...]
    k_chunks: tuple[Range, ...]
    n_chunks: tuple[Range, ...]

    @classmethod
    def whole(cls, m: int, k: int, n: int) -> Schedule:
        """One pass over the whole GEMM (a unit that keeps all of K in each accumulator)."""
        return cls(m, k, n, ((0, m),), ((0, k),), ((0, n),))

    @classmethod
    def from_array_mapping(cls, mapping: ArrayMapping) -> Schedule:
        """The fold grid of an array mapping: rows and columns cut into folds, time whole.

        ws and is place K on the array rows, so K is split into row folds of `array_rows`;
        os keeps all of K in each PE's accumulator.
        """
        sizes: dict[str, tuple[int, ...]] = {
            "m": (mapping.m,),
            "k": (mapping.k,),
            "n": (mapping.n,),
        }
        sizes[mapping.rows_dim] = fold_sizes(mapping.rows_needed, mapping.array_rows)
        sizes[mapping.cols_dim] = fold_sizes(mapping.cols_needed, mapping.array_cols)
        return cls(
            mapping.m,
            mapping.k,
            mapping.n,
            _ranges(sizes["m"]),
            _ranges(sizes["k"]),
            _ranges(sizes["n"]),
        )

    @property
    def k_runs(self) -> tuple[Range, ...]:
        return merge_runs(self.k_chunks)

    @property
    def m_runs(self) -> tuple[Range, ...]:
        return merge_runs(self.m_chunks)

    @property
    def n_runs(self) -> tuple[Range, ...]:
        return merge_runs(self.n_chunks)

    @property
    def passes(self) -> int:
        return len(self.m_chunks) * len(self.k_chunks) * len(self.n_chunks)
