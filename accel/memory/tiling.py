"""Tiling a layer's GEMM under SRAM capacity: tile sizes, loop order, and what fits.

The chip's SRAM cannot hold a whole layer, so the GEMM (per group `M × K × N`) is cut into tiles
`m_tile × k_tile × n_tile` visited by three nested loops. The loop order (outer → inner, e.g.
`nkm`) decides which operand stays resident: the one the innermost loop does not index (`nkm`
keeps each weight tile while ifmap tiles stream past it). Which tiles fit the buffers is
`tile_fit.py`; the candidate tile sizes and their ifmap bytes are `tile_grid.py`.

Tiles respect the array's folds: along a dimension mapped onto array rows or columns a tile is a
whole number of folds or the whole dimension, so each tile's compute time follows from the timing
model. The dimension streamed in time can be cut anywhere: output rows for `M` (neighbouring
tiles then re-read halo rows), whole channels' taps for `K`. Groups (depthwise) run one after
another, outermost.

When even the smallest legal tile of an operand overflows its buffer half, the chip's
`sram.undersized` policy decides: `error` refuses the layer (`tile_fit.raise_no_fit`), `stream`
keeps simulating with that operand *streamed* (`undersized`): it is never held in SRAM from one
step to the next, but passes through its buffer in pieces of one half every time the array
reads it.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import NamedTuple, TypeVar, cast

import numpy as np

from accel.config import ChipConfig, Dataflow, Operand
from accel.mapping.array import GEMM_DIMS, ArrayMapping, GemmDim, ceil_div, loop_dims
from accel.memory.geometry import IntArray
from accel.model.frozen import Frozen

LOOP_ORDERS: tuple[str, ...] = tuple("".join(p) for p in itertools.permutations("mkn"))
OPERAND_DIMS: dict[Operand, tuple[GemmDim, GemmDim]] = {
    "ifmap": ("m", "k"), "weight": ("k", "n"), "ofmap": ("m", "n")
}
IDLE_DIM: dict[Operand, GemmDim] = {"ifmap": "n", "weight": "m", "ofmap": "k"}
BIAS_BYTES = 4


def refetches(order: str, trips: Mapping[GemmDim, IntArray], operand: Operand) -> IntArray:
    """How many times each tile of `operand` is brought on chip (ofmap: visits per tile).

    A tile stays on chip while the loops inside its innermost indexing loop run; the one loop
    that does not index the operand repeats it only if some indexing loop sits deeper and
    actually iterates (a loop of one trip changes nothing).
    """
    idle, dims = IDLE_DIM[operand], loop_dims(order)
    deeper = dims[dims.index(idle) + 1 :]
    moves = np.zeros_like(trips[idle], dtype=bool)
    for dim in deeper:
        moves |= trips[dim] > 1
    return np.where(moves, trips[idle], 1)


Counts = TypeVar("Counts", IntArray, int)  # a grid of candidates, or one tiling's


def streams_in_place(
    order: str,
    tile: Mapping[GemmDim, Counts],
    trip: Mapping[GemmDim, Counts],
    array: ArrayMapping,
) -> Counts:
    """Where every tile is one fold of the array and the streamed loop is the innermost that
    moves: consecutive chunks continue the same fold, so its stationary operand (os: the partial
    sums) stays in the PEs. The one home of this rule: the traffic model evaluates it over a grid
    of candidate tile sizes, the loop nest and the int8 engine on one tiling (`Tiling.in_place`).
    """
    single = (tile[array.rows_dim] <= array.array_rows) & (tile[array.cols_dim] <= array.array_cols)
    innermost = trip[array.time_dim] > 0  # all true (a loop makes a trip at least), its shape
    dims = loop_dims(order)
    for dim in dims[dims.index(array.time_dim) + 1 :]:
        innermost &= trip[dim] == 1
    return cast(Counts, single & innermost)  # booleans, as the grid's IntArray has always held


class Tiling(Frozen):
    """One layer's chosen tiles: sizes, loop order, trip counts and the largest tile bytes.
    Hand-written, not a frozen dataclass (see `frozen.py`): it checks `g_tile` when built."""

    __slots__ = _compared = (
        "dataflow", "loop_order", "m_tile", "k_tile", "n_tile", "m_tiles", "k_tiles", "n_tiles",
        "groups", "ifmap_tile_bytes", "weight_tile_bytes", "ofmap_tile_bytes", "streamed",
        "streamed_passes", "g_tile",
    )  # fmt: skip

    dataflow: Dataflow
    loop_order: str  # outer → inner over m, k, n
    m_tile: int
    k_tile: int
    n_tile: int
    m_tiles: int
    k_tiles: int
    n_tiles: int
    groups: int
    ifmap_tile_bytes: int  # of one step (all its `g_tile` groups)
    weight_tile_bytes: int
    ofmap_tile_bytes: int
    streamed: tuple[Operand, ...]  # operands streamed through an undersized buffer
    streamed_passes: tuple[int, ...]  # for each: times the array reads each element
    g_tile: int  # whole groups per tile step (only when M, K and N are uncut, none streamed)

    def __init__(
        self,
        dataflow: Dataflow,
        loop_order: str,
        m_tile: int,
        k_tile: int,
        n_tile: int,
        m_tiles: int,
        k_tiles: int,
        n_tiles: int,
        groups: int,
        ifmap_tile_bytes: int,
        weight_tile_bytes: int,
        ofmap_tile_bytes: int,
        streamed: tuple[Operand, ...] = (),
        streamed_passes: tuple[int, ...] = (),
        g_tile: int = 1,
    ) -> None:
        init = object.__setattr__
        init(self, "dataflow", dataflow)
        init(self, "loop_order", loop_order)
        init(self, "m_tile", m_tile)
        init(self, "k_tile", k_tile)
        init(self, "n_tile", n_tile)
        init(self, "m_tiles", m_tiles)
        init(self, "k_tiles", k_tiles)
        init(self, "n_tiles", n_tiles)
        init(self, "groups", groups)
        init(self, "ifmap_tile_bytes", ifmap_tile_bytes)
        init(self, "weight_tile_bytes", weight_tile_bytes)
        init(self, "ofmap_tile_bytes", ofmap_tile_bytes)
        init(self, "streamed", streamed)
        init(self, "streamed_passes", streamed_passes)
        init(self, "g_tile", g_tile)
        self._check()

    def _check(self) -> None:
        cut = self.m_tiles * self.k_tiles * self.n_tiles > 1 or bool(self.streamed)
        if not 1 <= self.g_tile <= max(self.groups, 1) or (self.g_tile > 1 and cut):
            raise ValueError(
                f"g_tile must be 1, or up to {self.groups} groups when no dimension is cut and "
                f"nothing is streamed, not {self.g_tile!r}"
            )

    def replace(self, **changes: object) -> Tiling:
        """A copy with `changes`, checked again (`dataclasses.replace`, as it was)."""
        return Tiling(**{**dict(zip(self._compared, self._key(self), strict=True)), **changes})

    @property
    def g_tiles(self) -> int:
        """Tile steps along the groups: `ceil(groups / g_tile)`, the last one partial."""
        return ceil_div(self.groups, self.g_tile)

    def trips(self, dim: GemmDim) -> int:
        return {"m": self.m_tiles, "k": self.k_tiles, "n": self.n_tiles}[dim]

    def tile(self, dim: GemmDim) -> int:
        return {"m": self.m_tile, "k": self.k_tile, "n": self.n_tile}[dim]

    def in_place(self, array: ArrayMapping) -> bool:
        """`streams_in_place` for this tiling."""
        sizes: dict[GemmDim, int] = {"m": self.m_tile, "k": self.k_tile, "n": self.n_tile}
        trip: dict[GemmDim, int] = {"m": self.m_tiles, "k": self.k_tiles, "n": self.n_tiles}
        return bool(streams_in_place(self.loop_order, sizes, trip, array))  # on plain integers

    def passes(self, operand: Operand) -> int:
        """Passes over `operand` (ofmap: visits of each output tile; > 1 spills partial sums).

        A streamed operand crosses the channel once per read by the array: its passes are the
        array's (a streamed ifmap's elements are its im2col copies).
        """
        if operand in self.streamed:
            return self.streamed_passes[self.streamed.index(operand)]
        trips = {dim: np.array([self.trips(dim)]) for dim in GEMM_DIMS}
        return int(refetches(self.loop_order, trips, operand)[0])

    @property
    def steps(self) -> int:
        """Tile steps computed, over all groups."""
        return self.g_tiles * self.m_tiles * self.k_tiles * self.n_tiles

    @property
    def resident(self) -> str:
        """The operand whose tile stays on chip across the innermost loop."""
        moving = [dim for dim in loop_dims(self.loop_order) if self.trips(dim) > 1]
        if not moving:
            return "all"
        return next(op for op, dims in OPERAND_DIMS.items() if moving[-1] not in dims)

    def describe(self) -> str:
        groups = f"G{self.g_tile} " if self.g_tile > 1 else ""
        return (
            f"{groups}M{self.m_tile} K{self.k_tile} N{self.n_tile} {self.loop_order} "
            f"({self.resident} resident)"
        )


# A NamedTuple, not a frozen dataclass: as immutable, equal and hashed alike, and built at import
# without compiling generated methods (Python 3.11 compiles each at every start-up).
class Candidates(NamedTuple):
    """Every legal tile size along each GEMM dimension, with the ifmap bytes each implies."""

    m: IntArray
    k: IntArray
    n: IntArray
    ifmap_sum: IntArray  # [m, k] candidate: ifmap bytes over all tiles of one group (one pass)
    ifmap_max: IntArray  # [m, k]: an upper bound of the largest ifmap tile
    ifmap_first: IntArray  # [m, k]: the ifmap bytes of the first tile (one group)
    ifmap_min: IntArray  # [m, k]: the ifmap bytes of the smallest tile (one group), at least


def group_blocks(
    tiling: Tiling, chip: ChipConfig, made: dict[int, Tiling] | None = None
) -> list[Tiling]:
    """`tiling` carrying several whole groups per step: the most whose double-buffered tiles
    fit every buffer half, and each power of two below it (fewer groups per step fill the
    pipeline sooner). Empty unless the groups' GEMMs are uncut and nothing is streamed.
    `made`: the blocks of `tiling` built before, per groups per step (each reads only `tiling`
    and its count; which counts fit reads the buffers), filled in."""
    uncut = tiling.m_tiles * tiling.k_tiles * tiling.n_tiles == 1 and not tiling.streamed
    if tiling.groups == 1 or tiling.g_tile > 1 or not uncut:
        return []
    per_group: dict[Operand, int] = {
        "ifmap": tiling.ifmap_tile_bytes,
        "weight": tiling.weight_tile_bytes,
        "ofmap": tiling.ofmap_tile_bytes,
    }
    most = tiling.groups
    sram = chip.sram
    for operand, size in per_group.items():
        if not sram.is_shared(operand):
            most = min(most, sram.buffer_for(operand).tile_bytes // max(size, 1))
    if sram.unified is not None:
        shared = sum(size for op, size in per_group.items() if sram.is_shared(op))
        most = min(most, sram.unified.tile_bytes // max(shared, 1))
    blocks = sorted({most} | {2**i for i in range(1, most.bit_length()) if 2**i < most})
    found = {} if made is None else made
    result = []
    for g in blocks:
        if g > 1:
            block = found.get(g)
            if block is None:
                block = found[g] = tiling.replace(
                    g_tile=g, ifmap_tile_bytes=g * per_group["ifmap"],
                    weight_tile_bytes=g * per_group["weight"],
                    ofmap_tile_bytes=g * per_group["ofmap"],
                )  # fmt: skip
            result.append(block)
    return result


def undersized(smallest: dict[Operand, int], chip: ChipConfig) -> tuple[Operand, ...]:
    """Operands whose smallest legal tile (`smallest`, bytes) overflows its buffer half.

    A unified buffer too small for the smallest tiles of its operands together holds none of
    them: every operand it serves is streamed, each through an equal share of its half.
    """
    sram = chip.sram
    shared = [op for op in smallest if sram.is_shared(op)]
    over = [
        op for op, need in smallest.items()
        if not sram.is_shared(op) and need > sram.buffer_for(op).tile_bytes
    ]  # fmt: skip
    if shared and sum(smallest[op] for op in shared) > sram.buffer_for(shared[0]).tile_bytes:
        over += shared
    return tuple(op for op in smallest if op in over)


def piece_bytes(chip: ChipConfig, streamed: tuple[Operand, ...]) -> dict[Operand, int]:
    """Bytes a streamed operand moves through its buffer at a time: one half (or its share of
    a unified buffer's half), at least one byte."""
    sram = chip.sram
    sharing = sum(sram.is_shared(op) for op in streamed)
    return {
        op: max(1, sram.buffer_for(op).tile_bytes // (sharing if sram.is_shared(op) else 1))
        for op in streamed
    }
