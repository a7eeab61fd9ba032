"""Tiling a layer's GEMM under SRAM capacity: tile sizes, loop order, and what fits.

The chip's SRAM cannot hold a whole layer, so the GEMM (per group `M × K × N`) is cut into tiles
`m_tile × k_tile × n_tile` visited by three nested loops. The loop order (outer → inner, e.g.
`nkm`) decides which operand stays resident: the one the innermost loop does not index (`nkm`
keeps each weight tile while ifmap tiles stream past it). A tile must fit its buffer's half when
the buffer is double-buffered (the other half is being filled), so tile bytes are checked against
`BufferConfig.tile_bytes`; operands without a buffer of their own share the unified one.

Tiles respect the array's folds: along a dimension mapped onto array rows or columns a tile is a
whole number of folds or the whole dimension, so each tile's compute time follows from the timing
model. The dimension streamed in time can be cut anywhere: output rows for `M` (neighbouring
tiles then re-read halo rows), whole channels' taps for `K`. Groups (depthwise) run one after
another, outermost. The ofmap buffer holds int32 accumulators (`accumulator_bits` wide) while
a reduction spans several passes through the array, and int8 outputs once each pass completes
the whole reduction, or when an output-stationary tile of one fold keeps its partial sums in
the PEs while its K-tiles stream past.

When even the smallest legal tile of an operand overflows its buffer half, the chip's
`sram.undersized` policy decides: `error` refuses the layer (`raise_no_fit`), `stream` keeps
simulating with that operand *streamed* (`undersized`): it is never held in SRAM from one step
to the next, but passes through its buffer in pieces of one half every time the array reads it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from accel.config import ChipConfig, Dataflow, Operand
from accel.errors import InputError
from accel.mapping.array import GEMM_DIMS, ArrayMapping, GemmDim, ceil_div, loop_dims
from accel.memory.geometry import IntArray, LayerGeometry, Taps

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


def streams_in_place(
    order: str,
    tile: Mapping[GemmDim, IntArray],
    trip: Mapping[GemmDim, IntArray],
    array: ArrayMapping,
) -> IntArray:
    """Where every tile is one fold of the array and the streamed loop is the innermost that
    moves: consecutive chunks continue the same fold, so its stationary operand (os: the partial
    sums) stays in the PEs. The one home of this rule: the traffic model evaluates it over a grid
    of candidate tile sizes, the loop nest and the int8 engine on one tiling (`Tiling.in_place`).
    """
    single = (tile[array.rows_dim] <= array.array_rows) & (tile[array.cols_dim] <= array.array_cols)
    innermost = np.ones_like(trip[array.time_dim], dtype=bool)
    dims = loop_dims(order)
    for dim in dims[dims.index(array.time_dim) + 1 :]:
        innermost &= trip[dim] == 1
    result: IntArray = single & innermost
    return result


@dataclass(frozen=True)
class Tiling:
    """One layer's chosen tiles: sizes, loop order, trip counts and the largest tile bytes."""

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
    streamed: tuple[Operand, ...] = ()  # operands streamed through an undersized buffer
    streamed_passes: tuple[int, ...] = ()  # for each: times the array reads each element
    g_tile: int = 1  # whole groups per tile step (only when M, K and N are uncut, none streamed)

    def __post_init__(self) -> None:
        cut = self.m_tiles * self.k_tiles * self.n_tiles > 1 or bool(self.streamed)
        if not 1 <= self.g_tile <= max(self.groups, 1) or (self.g_tile > 1 and cut):
            raise ValueError(
                f"g_tile must be 1, or up to {self.groups} groups when no dimension is cut and "
                f"nothing is streamed, not {self.g_tile!r}"
            )

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
        sizes = {dim: np.asarray(self.tile(dim)) for dim in GEMM_DIMS}
        trip = {dim: np.asarray(self.trips(dim)) for dim in GEMM_DIMS}
        return bool(streams_in_place(self.loop_order, sizes, trip, array))

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


@dataclass(frozen=True)
class Candidates:
    """Every legal tile size along each GEMM dimension, with the ifmap bytes each implies."""

    m: IntArray
    k: IntArray
    n: IntArray
    ifmap_sum: IntArray  # [m, k] candidate: ifmap bytes over all tiles of one group (one pass)
    ifmap_max: IntArray  # [m, k]: an upper bound of the largest ifmap tile
    ifmap_first: IntArray  # [m, k]: the ifmap bytes of the first tile (one group)
    ifmap_min: IntArray  # [m, k]: the ifmap bytes of the smallest tile (one group), at least


def candidates(array: ArrayMapping, geometry: LayerGeometry) -> Candidates:
    sizes = {dim: _sizes(dim, array, geometry) for dim in GEMM_DIMS}
    boxes: dict[Taps, tuple[IntArray, IntArray]] = {}  # taps → (sum, max) per m candidate

    def box(taps: Taps) -> tuple[IntArray, IntArray]:
        if taps not in boxes:
            boxes[taps] = geometry.box_stats(tuple(sizes["m"].tolist()), taps)
        return boxes[taps]

    shape = (len(sizes["m"]), len(sizes["k"]))
    ifmap_sum, ifmap_max = np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=np.int64)
    for j, k_tile in enumerate(sizes["k"]):
        for part, repeats in geometry.k_patterns(int(k_tile)).items():
            ifmap_sum[:, j] += repeats * sum(count * box(taps)[0] for count, taps in part)
            largest = sum(count * box(taps)[1] for count, taps in part)
            ifmap_max[:, j] = np.maximum(ifmap_max[:, j], largest)
    m_sizes = tuple(sizes["m"].tolist())
    ifmap_min = np.full(shape, np.iinfo(np.int64).max, dtype=np.int64)
    for j, k_tile in enumerate(sizes["k"].tolist()):
        for part in geometry.k_patterns(k_tile):
            fewest = sum(count * geometry.box_smallest(m_sizes, taps) for count, taps in part)
            ifmap_min[:, j] = np.minimum(ifmap_min[:, j], fewest)
    ifmap_first = np.zeros(shape, dtype=np.int64)
    first_boxes: dict[Taps, IntArray] = {}
    for j, k_tile in enumerate(sizes["k"].tolist()):
        for count, taps in geometry.first_k_part(k_tile):
            if taps not in first_boxes:
                first_boxes[taps] = geometry.first_box(sizes["m"], taps)
            ifmap_first[:, j] += count * first_boxes[taps]
    return Candidates(
        sizes["m"], sizes["k"], sizes["n"], ifmap_sum, ifmap_max, ifmap_first, ifmap_min
    )


def _sizes(dim: GemmDim, array: ArrayMapping, geometry: LayerGeometry) -> IntArray:
    """Tile sizes along `dim`: the smallest legal one, then aligned ones doubling up to the dim.

    Aligned sizes keep every interior tile alike (whole output rows, whole channels' taps), so
    schedules compress well; the smallest legal tile keeps tight buffers usable.
    """
    total = {"m": array.m, "k": array.k, "n": array.n}[dim]
    width, plane, taps = geometry.cols.outputs, geometry.plane, geometry.taps
    if dim in (array.rows_dim, array.cols_dim):
        fold = array.array_rows if dim == array.rows_dim else array.array_cols
        align = {"m": width, "k": taps, "n": 1}[dim]
        smallest, starts = fold, [math.lcm(fold, align)]
    elif dim == "m":
        smallest = 1
        starts = [width, plane] + [width // 2**i for i in range(1, 8) if width % 2**i == 0]
    elif dim == "k":
        smallest, starts = 1, [taps]
    else:
        smallest, starts = 1, [1]
    found = {total, min(smallest, total)}
    for size in starts:
        while size < total:
            found.add(size)
            size *= 2
    return np.array(sorted(found), dtype=np.int64)


def tile_bytes(
    grid: Candidates, geometry: LayerGeometry, array: ArrayMapping, chip: ChipConfig,
    has_bias: bool,
) -> dict[Operand, IntArray]:
    """Largest tile of each operand for every (m, k, n) candidate, as broadcastable arrays.

    An ofmap tile holds int32 (float chips: fp32) accumulators while its reduction is spread
    over several passes through the array; when each pass finishes the whole `K` (os with the
    whole `K` per tile; ws / is when `K` fits one fold of rows) it holds final outputs of
    `array.element_bytes` each instead (int8: requantized). Operands are that wide too.
    """
    m, k, n = grid.m[:, None, None], grid.k[None, :, None], grid.n[None, None, :]
    width = chip.array.element_bytes
    ifmap = grid.ifmap_max[:, :, None] * width
    weight = k * n * width + (BIAS_BYTES * n if has_bias else 0)
    in_array = array.k <= array.array_rows or array.dataflow == "os"
    complete = (k == array.k) & in_array
    ofmap = m * n * np.where(complete, width, chip.array.accumulator_bytes)
    return {"ifmap": ifmap, "weight": weight, "ofmap": ofmap}


def with_outputs_in_pes(
    sizes: dict[Operand, IntArray], grid: Candidates, array: ArrayMapping, in_place: IntArray,
    element_bytes: int = 1,
) -> dict[Operand, IntArray]:
    """Tile bytes when an os tile keeps its partial sums in the PEs (`in_place`): only final
    outputs (`element_bytes` each) reach the ofmap buffer."""
    if array.dataflow != "os":
        return sizes
    outputs = grid.m[:, None, None] * grid.n[None, None, :] * element_bytes
    return {**sizes, "ofmap": np.where(in_place, outputs, sizes["ofmap"])}


def fits(
    tiles: dict[Operand, IntArray], chip: ChipConfig, streamed: tuple[Operand, ...] = ()
) -> IntArray:
    """Boolean grid: which candidates fit every buffer half (shared ones by their sum).

    Streamed operands are exempt: they pass through their buffer in pieces.
    """
    sram = chip.sram
    ok = np.ones(np.broadcast_shapes(*(t.shape for t in tiles.values())), dtype=bool)
    shared = np.zeros_like(ok, dtype=np.int64)
    for operand, size in tiles.items():
        if operand in streamed:
            continue
        if sram.is_shared(operand):
            shared = shared + size
        else:
            ok &= size <= sram.buffer_for(operand).tile_bytes
    if sram.unified is not None:
        ok &= shared <= sram.unified.tile_bytes
    return ok


def group_blocks(tiling: Tiling, chip: ChipConfig) -> list[Tiling]:
    """`tiling` carrying several whole groups per step: the most whose double-buffered tiles
    fit every buffer half, and each power of two below it (fewer groups per step fill the
    pipeline sooner). Empty unless the groups' GEMMs are uncut and nothing is streamed."""
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
    return [
        replace(
            tiling, g_tile=g, ifmap_tile_bytes=g * per_group["ifmap"],
            weight_tile_bytes=g * per_group["weight"], ofmap_tile_bytes=g * per_group["ofmap"],
        )
        for g in blocks if g > 1
    ]  # fmt: skip


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


def stream_legal(grid: Candidates, array: ArrayMapping, streamed: tuple[Operand, ...]) -> IntArray:
    """Candidates a streamed ofmap allows: where `K` sits on the array rows (ws / is), a tile
    takes one row fold of `K`, so each step updates its outputs once (read, add, write back)."""
    ok = np.ones((len(grid.m), len(grid.k), len(grid.n)), dtype=bool)
    if "ofmap" in streamed and array.rows_dim == "k":
        ok &= (grid.k <= array.array_rows)[None, :, None]
    return ok


def raise_no_fit(
    layer_name: str, tiles: dict[Operand, IntArray], chip: ChipConfig, grid: Candidates
) -> None:
    """Name the buffer that cannot hold even the smallest legal tile, and the bytes it needs."""
    smallest: dict[Operand, int] = {op: int(size.flat[0]) for op, size in tiles.items()}
    detail = f"m_tile {grid.m[0]}, k_tile {grid.k[0]}, n_tile {grid.n[0]}"
    sram = chip.sram
    for operand, need in smallest.items():
        if not sram.is_shared(operand) and need > sram.buffer_for(operand).tile_bytes:
            half = sram.buffer_for(operand).tile_bytes
            raise InputError(
                f"layer {layer_name!r}: {operand} buffer ({half} bytes per half) must hold at "
                f"least one {operand} tile of {need} bytes ({detail}), not {half}"
            )
    shared = [op for op in smallest if sram.is_shared(op)]
    assert sram.unified is not None
    need = sum(smallest[op] for op in shared)
    half = sram.unified.tile_bytes
    raise InputError(
        f"layer {layer_name!r}: unified buffer ({half} bytes per half) must hold at least one "
        f"{' + '.join(shared)} tile of {need} bytes ({detail}), not {half}"
    )
