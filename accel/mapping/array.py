"""Mapping a GEMM onto a systolic array: which dimension sits on rows, columns and time, and folds.

A conv or fc layer is a GEMM (M×K)·(K×N) per group (the im2col view). The dataflow decides which
two dimensions are spread over the array's `rows × cols` PEs and which one streams through in time:

| dataflow | rows | cols | time |
|---|---|---|---|
| os (output stationary) | M | N | K |
| ws (weight stationary) | K | N | M |
| is (input stationary)  | K | M | N |

When a spatial dimension is larger than the array it is cut into folds, run one after another;
the last fold along each axis is partial and leaves PEs idle.
"""

from __future__ import annotations

from typing import Literal

from accel.config import ArrayConfig, Dataflow
from accel.model.frozen import Frozen
from accel.model.network import GemmView

GemmDim = Literal["m", "k", "n"]  # the GEMM's output rows, reduction and output columns
GEMM_DIMS: tuple[GemmDim, ...] = ("m", "k", "n")
_AS_DIM: dict[str, GemmDim] = {dim: dim for dim in GEMM_DIMS}


def loop_dims(order: str) -> tuple[GemmDim, ...]:
    """A loop order's dimensions, outer → inner: 'nkm' → ('n', 'k', 'm')."""
    return tuple(_AS_DIM[dim] for dim in order)

_PLACEMENT: dict[Dataflow, tuple[GemmDim, GemmDim, GemmDim]] = {
    "os": ("m", "n", "k"),
    "ws": ("k", "n", "m"),
    "is": ("k", "m", "n"),
    # Row stationary is not a GEMM placement: its cycles and traffic come from
    # accel.mapping.row_stationary. The GEMM view keeps ws's for what reads one (explain, the
    # results' M/K/N columns).
    "rs": ("k", "n", "m"),
}


def ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def fold_sizes(needed: int, array_size: int) -> tuple[int, ...]:
    """Sizes of the folds that cover `needed` with `array_size` PEs: full ones, then a remainder."""
    full, rest = divmod(needed, array_size)
    return (array_size,) * full + ((rest,) if rest else ())


class ArrayMapping(Frozen):
    """One layer's GEMM placed on the array (all groups, batch included in M).

    Hand-written (`Frozen`, with an instance dict), equal, hashed and shown as the frozen
    dataclass it was (a dataclass's methods are compiled at every start-up). Its hash, the
    fields' in order, is worked out with them and kept (`Frozen` leaves it out of pickles and
    copies): mappings key the memory model's memos (tables, schedules, candidate grids)."""

    _compared = ("dataflow", "m", "k", "n", "groups", "array_rows", "array_cols")
    dataflow: Dataflow
    m: int  # output pixels × batch
    k: int
    n: int
    groups: int  # independent GEMMs run one after another (depthwise: one per channel)
    array_rows: int
    array_cols: int

    def __init__(self, dataflow: Dataflow, m: int, k: int, n: int, groups: int,
                 array_rows: int, array_cols: int) -> None:  # fmt: skip
        fields = (dataflow, m, k, n, groups, array_rows, array_cols)
        for name, value in zip(self._compared, fields, strict=True):
            object.__setattr__(self, name, value)
        # Set here, with the fields, not on first use: `Frozen._kept_hash` reads it back.
        object.__setattr__(self, "_kept_hash_value", hash(fields))

    @classmethod
    def place(cls, gemm: GemmView, batch: int, array: ArrayConfig) -> ArrayMapping:
        return cls(
            array.dataflow, gemm.m * batch, gemm.k, gemm.n, gemm.groups, array.rows, array.cols
        )

    def size(self, name: GemmDim) -> int:
        """The GEMM's extent along `name` (per group; M includes the batch)."""
        return {"m": self.m, "k": self.k, "n": self.n}[name]

    @property
    def rows_dim(self) -> GemmDim:
        return _PLACEMENT[self.dataflow][0]

    @property
    def cols_dim(self) -> GemmDim:
        return _PLACEMENT[self.dataflow][1]

    @property
    def time_dim(self) -> GemmDim:
        return _PLACEMENT[self.dataflow][2]

    @property
    def rows_needed(self) -> int:
        return self.size(self.rows_dim)

    @property
    def cols_needed(self) -> int:
        return self.size(self.cols_dim)

    @property
    def time_steps(self) -> int:
        """T: how many operand wavefronts stream through the array per fold."""
        return self.size(self.time_dim)

    @property
    def row_fold_sizes(self) -> tuple[int, ...]:
        return fold_sizes(self.rows_needed, self.array_rows)

    @property
    def col_fold_sizes(self) -> tuple[int, ...]:
        return fold_sizes(self.cols_needed, self.array_cols)

    @property
    def row_folds(self) -> int:
        return ceil_div(self.rows_needed, self.array_rows)

    @property
    def col_folds(self) -> int:
        return ceil_div(self.cols_needed, self.array_cols)

    @property
    def folds_per_group(self) -> int:
        return self.row_folds * self.col_folds

    @property
    def folds(self) -> int:
        return self.folds_per_group * self.groups

    @property
    def macs(self) -> int:
        return self.m * self.k * self.n * self.groups

    def used_pe_fractions(self) -> list[float]:
        """The fraction of PEs holding work in each fold of one group (row-major fold order)."""
        pes = self.array_rows * self.array_cols
        return [r * c / pes for r in self.row_fold_sizes for c in self.col_fold_sizes]

    @property
    def used_pe_fraction_min(self) -> float:
        """The used-PE fraction of the emptiest fold (the corner fold, partial on both axes)."""
        smallest = self.row_fold_sizes[-1] * self.col_fold_sizes[-1]  # remainders come last
        return smallest / (self.array_rows * self.array_cols)

    @property
    def mapping_efficiency(self) -> float:
        """Mean used-PE fraction over folds (identical for every group)."""
        used = self.rows_needed * self.cols_needed
        return used / (self.folds_per_group * self.array_rows * self.array_cols)
