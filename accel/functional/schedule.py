"""The order in which the MAC array computes one layer: which slices of the GEMM each pass covers.

A conv or fc layer is, per group, a GEMM (M×K)·(K×N) (M = output pixels × batch, K = reduction,
N = output channels per group). The memory model cuts it into tiles `m_tile × k_tile × n_tile`
visited in a loop order (`accel.memory.tiling.Tiling`); the array cuts each tile into folds
(`accel.mapping.array`). A `Schedule` lists the tiles as half-open index ranges along M, K and
N, with the loop order and how the array sums each K tile (`k_chains`). The functional engine
executes exactly these ranges: every chain of products produces an int32 partial sum that is
added to the output accumulator, every (M, N) tile writes its own outputs. So a tiling or
mapping that drops, repeats or misplaces a tile produces wrong numbers, not just wrong counts.
Every pass covers all groups (the engine computes them side by side, each with its own weights);
the tiling's `g_tile` (whole groups per DMA step) changes only how the memory model moves their
data, not which products are summed, so it does not enter the schedule.

How the array sums a K tile (the chains; see `accel.functional.accumulate` for the additions):

- ws / is put K on the array rows: a K tile is a whole number of row folds (the tiling's
  contract), and each row fold is one chain down a PE column, whose sum leaves the array and is
  added to the accumulator in the ofmap buffer;
- os streams K in time through each PE's accumulator: each K tile is one chain, drained after
  the tile, unless the tile is a single fold whose K loop is the innermost that iterates — then
  the partial sums stay in the PEs while the K tiles stream past (`psums_in_pes`, the memory
  model's `streams_in_place`), and all of K is one chain.

Index conventions: M rows are ordered (image, output row, output column); K is ordered
(input channel, kernel row, kernel column) for a convolution, as `accel.mapping.im2col` and the
memory model's K tiles (whole channels' taps), and in (channel, row, column) flattening order
for a fully-connected layer.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from accel.mapping.array import GEMM_DIMS, ArrayMapping, ceil_div, fold_sizes
from accel.memory.tiling import Tiling

Range = tuple[int, int]  # [start, stop) along one GEMM dimension
Chain = tuple[Range, ...]  # K ranges one chain of PEs sums, in order, from 0
M = TypeVar("M")
K = TypeVar("K")
N = TypeVar("N")


def _ranges(sizes: Sequence[int]) -> tuple[Range, ...]:
    ranges, start = [], 0
    for size in sizes:
        ranges.append((start, start + size))
        start += size
    return tuple(ranges)


def _tiles(total: int, tile: int) -> tuple[Range, ...]:
    return tuple((start, min(start + tile, total)) for start in range(0, total, tile))


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


def in_loop_order(
    order: str, m: Sequence[M], k: Sequence[K], n: Sequence[N]
) -> Iterator[tuple[M, K, N]]:
    """Every (m, k, n) combination as the loop nest `order` (outer → inner) visits them."""
    lists: dict[str, Sequence[object]] = {"m": m, "k": k, "n": n}
    for combo in itertools.product(*(lists[dim] for dim in order)):
        picked = dict(zip(order, combo, strict=True))
        yield picked["m"], picked["k"], picked["n"]  # type: ignore[misc]


@dataclass(frozen=True)
class Schedule:
    """The passes of one layer: M, K and N tiles, each in execution order, and the loop order.

    The passes are the Cartesian product of the three tile lists, visited in `loop_order`
    (outer → inner). Per output only the order of its K additions is observable (with a
    saturating accumulator), and that is `k_chunks` order under any loop order.
    """

    m: int
    k: int
    n: int
    m_chunks: tuple[Range, ...]
    k_chunks: tuple[Range, ...]
    n_chunks: tuple[Range, ...]
    loop_order: str = "mkn"
    k_fold: int = 0  # ws / is: K elements per row fold, one chain each; 0: a chain per K chunk
    psums_in_pes: bool = False  # os: consecutive K chunks continue one chain in the PEs

    def __post_init__(self) -> None:
        if sorted(self.loop_order) != ["k", "m", "n"]:
            raise ValueError(f"loop order must be a permutation of 'mkn', not {self.loop_order!r}")

    @classmethod
    def whole(cls, m: int, k: int, n: int) -> Schedule:
        """One pass over the whole GEMM (a unit that keeps all of K in each accumulator)."""
        return cls(m, k, n, ((0, m),), ((0, k),), ((0, n),))

    @classmethod
    def from_array_mapping(cls, mapping: ArrayMapping) -> Schedule:
        """The fold grid of an array mapping with the whole layer on chip: rows and columns cut
        into folds, time whole (ws / is: K in row folds of `array_rows`; os: all of K per PE)."""
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

    @classmethod
    def from_tiling(cls, mapping: ArrayMapping, tiling: Tiling) -> Schedule:
        """The tiles of the memory model's `tiling` of `mapping`, in its loop order.

        Raises ValueError when the tiling does not belong to the mapping or a tile along an
        array-mapped dimension is not a whole number of folds (the tiling's contract).
        """
        check_tiling(mapping, tiling)
        os = mapping.dataflow == "os"
        return cls(
            mapping.m,
            mapping.k,
            mapping.n,
            _tiles(mapping.m, tiling.m_tile),
            _tiles(mapping.k, tiling.k_tile),
            _tiles(mapping.n, tiling.n_tile),
            loop_order=tiling.loop_order,
            k_fold=0 if os else mapping.array_rows,
            psums_in_pes=os and tiling.k_tiles > 1 and tiling.in_place(mapping),
        )

    @property
    def k_chains(self) -> tuple[Chain, ...]:
        """The chains of products the array sums from 0, each added to the accumulator once,
        in order."""
        if self.psums_in_pes:
            return (self.k_chunks,)
        if not self.k_fold:
            return tuple((chunk,) for chunk in self.k_chunks)
        return tuple(
            ((fold, min(fold + self.k_fold, stop)),)
            for start, stop in self.k_chunks
            for fold in range(start, stop, self.k_fold)
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


def check_tiling(mapping: ArrayMapping, tiling: Tiling) -> None:
    """Raise ValueError unless `tiling` tiles `mapping`'s GEMM in whole folds of the array."""
    if (tiling.dataflow, tiling.groups) != (mapping.dataflow, mapping.groups):
        raise ValueError(
            f"tiling must be for dataflow {mapping.dataflow!r} with {mapping.groups} groups, "
            f"not {tiling.dataflow!r} with {tiling.groups}"
        )
    folds = {mapping.rows_dim: mapping.array_rows, mapping.cols_dim: mapping.array_cols}
    for dim in GEMM_DIMS:
        total, tile = mapping.size(dim), tiling.tile(dim)
        if tile <= 0 or tiling.trips(dim) != ceil_div(total, tile):
            raise ValueError(
                f"tiling's {dim} tiles must cover {dim.upper()} = {total} in "
                f"{tiling.trips(dim)} tiles, not tiles of {tile}"
            )
        if dim in folds and tile < total and tile % folds[dim]:
            raise ValueError(
                f"{dim}_tile must be a whole number of folds of {folds[dim]} or all of "
                f"{dim.upper()} = {total}, not {tile}"
            )
