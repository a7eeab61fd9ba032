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

from dataclasses import dataclass
from typing import ClassVar, Literal

from accel.config import ArrayConfig, Dataflow
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


_HASH = "_kept_hash"  # where an ArrayMapping keeps its hash


@dataclass(frozen=True)
class ArrayMapping:
    """One layer's GEMM placed on the array (all groups, batch included in M)."""

    dataflow: Dataflow
    m: int  # output pixels × batch
    k: int
    n: int
    groups: int  # independent GEMMs run one after another (depthwise: one per channel)
    array_rows: int
    array_cols: int
    _kept_hash: ClassVar[int]  # set per instance by `__post_init__`, not a field

    def __post_init__(self) -> None:
        """The dataclass's hash (of the fields, in order), worked out once and kept: mappings
        key the memory model's memos (tables, schedules, candidate grids), and a dataclass
        hashes its seven fields on every lookup. Set here, with the fields, not on first use:
        reading `__dict__` to look for it would turn the instance's inline attribute values
        into a dict of their own, which every attribute read then goes through."""
        object.__setattr__(self, _HASH, hash((self.dataflow, self.m, self.k, self.n,
                                              self.groups, self.array_rows, self.array_cols)))

    def __hash__(self) -> int:
        return self._kept_hash

    def __getstate__(self) -> dict[str, object]:
        """The fields without the kept hash (a string's hash differs between processes)."""
        return {name: value for name, value in self.__dict__.items() if name != _HASH}

    def __setstate__(self, state: dict[str, object]) -> None:
        """Unpickled or copied: the fields, then this process's hash of them."""
        for name, value in state.items():
            object.__setattr__(self, name, value)
        self.__post_init__()

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
