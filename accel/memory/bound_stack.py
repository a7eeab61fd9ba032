"""Every loop order's traffic of a layer's candidate grid, stacked for the cycle bounds.

The bounds (`bounds.py`, `bound_terms.py`) read, per candidate tiling (loop order × tile sizes
m, k, n), its DRAM bytes and transfers per kind (`traffic.py`), which operand's tile changes at
every step, and the tile sizes. `Stack` holds them over one (order, m, k, n) array per quantity
(as `order_traffics` computed them, all orders at once); `flatten` cuts every bound input, or
anything broadcast over that shape, to the valid candidates in one matrix.
"""

from __future__ import annotations

import numpy as np

from accel.config import OPERANDS, ChipConfig, Operand
from accel.mapping.array import GEMM_DIMS, ArrayMapping, GemmDim
from accel.memory import tiling as tiles
from accel.memory.channel_cycles import UNKNOWN
from accel.memory.fold_cycles import whole_folds_cycles
from accel.memory.geometry import IntArray
from accel.memory.loop_masks import Moving
from accel.memory.traffic import TRAFFIC, GridTraffic, OrderStack, by_kind, grid_sizes, trips
from accel.model.frozen import Frozen


class Stack(Frozen):
    """Every loop order's traffic stacked on a first axis (order, m, k, n), with what the
    bounds read of it. Hand-written, not a frozen dataclass (see `frozen.py`; a NamedTuple's
    `count` is taken)."""

    __slots__ = _compared = (
        "full", "streamed", "rounded", "refill", "moved", "in_place", "writes", "transfers",
        "innermost", "tile_sizes", "ends", "bus", "steps", "merged", "write_most", "sizes",
        "step_cycles", "kinds_transfers",
    )  # fmt: skip

    full: tuple[int, ...]
    streamed: tuple[Operand, ...]  # the same for every order of one grid
    rounded: dict[str, IntArray]  # per TRAFFIC kind: bytes on the bus, at least (`_rounded`)
    refill: IntArray
    moved: IntArray
    in_place: IntArray
    writes: IntArray  # ofmap write-back transfers
    transfers: dict[str, IntArray]  # per TRAFFIC kind
    innermost: dict[Operand, IntArray]  # `_innermost`, per order
    tile_sizes: dict[Operand, IntArray]  # per order
    ends: dict[GemmDim, IntArray]  # `last_extents`
    bus: IntArray  # bytes of every kind on the bus, at least
    steps: IntArray  # tile steps, all groups
    merged: IntArray  # the last (and the first) step continues a fold in place
    write_most: IntArray  # bytes of one write-back, at most (`write_width` each output)
    sizes: dict[GemmDim, IntArray]  # `grid_sizes`, over (m, k, n)
    step_cycles: IntArray  # a step of whole tiles' compute, over (m, k, n) (`whole_folds_cycles`)
    kinds_transfers: IntArray  # `transfers` as the rows of one array (`traffic.by_kind`)

    def __init__(
        self,
        full: tuple[int, ...],
        streamed: tuple[Operand, ...],
        rounded: dict[str, IntArray],
        refill: IntArray,
        moved: IntArray,
        in_place: IntArray,
        writes: IntArray,
        transfers: dict[str, IntArray],
        innermost: dict[Operand, IntArray],
        tile_sizes: dict[Operand, IntArray],
        ends: dict[GemmDim, IntArray],
        bus: IntArray,
        steps: IntArray,
        merged: IntArray,
        write_most: IntArray,
        sizes: dict[GemmDim, IntArray],
        step_cycles: IntArray,
        kinds_transfers: IntArray,
    ) -> None:
        init = object.__setattr__
        init(self, "full", full)
        init(self, "streamed", streamed)
        init(self, "rounded", rounded)
        init(self, "refill", refill)
        init(self, "moved", moved)
        init(self, "in_place", in_place)
        init(self, "writes", writes)
        init(self, "transfers", transfers)
        init(self, "innermost", innermost)
        init(self, "tile_sizes", tile_sizes)
        init(self, "ends", ends)
        init(self, "bus", bus)
        init(self, "steps", steps)
        init(self, "merged", merged)
        init(self, "write_most", write_most)
        init(self, "sizes", sizes)
        init(self, "step_cycles", step_cycles)
        init(self, "kinds_transfers", kinds_transfers)

    @classmethod
    def of(
        cls, orders: list[GridTraffic], per_order: list[dict[Operand, IntArray]],
        grid: tiles.Candidates, array: ArrayMapping, chip: ChipConfig,
    ) -> Stack:
        joint = _joint(orders, grid, array)
        full, streamed, counts = joint.refill.shape, orders[0].streamed, joint.transfers
        rounded = _rounded(joint.kinds_bytes, joint.kinds_transfers, streamed, grid, chip)
        trip, sizes = trips(grid, array), grid_sizes(grid)
        return cls(
            full, streamed, dict(zip(TRAFFIC, rounded, strict=True)), joint.refill,
            np.add.reduce(joint.kinds_bytes, axis=0), joint.in_place,
            counts["ofmap_write"], counts, _innermost(joint.moving, array.groups),
            {op: _same_or_stacked([sizes[op] for sizes in per_order], full)
             for op in OPERANDS},
            last_extents(grid, array), np.add.reduce(rounded, axis=0),
            array.groups * trip["m"] * trip["k"] * trip["n"],
            joint.in_place & (trip[array.time_dim] > 1),
            sizes["m"] * sizes["n"] * write_width(counts, chip), sizes,
            whole_folds_cycles(array, chip.array.fold_overlap, folds_of(sizes, array),
                               sizes[array.time_dim]),
            joint.kinds_transfers,
        )  # fmt: skip

    def count(self, kinds: tuple[str, ...] | list[str]) -> IntArray:
        """Transfers of `kinds`, exact (the schedule moves one tile per transfer), except where
        streamed operands move in pieces: `UNKNOWN` there."""
        if self.streamed:
            return np.full((1, 1, 1, 1), UNKNOWN, dtype=np.int64)
        if tuple(kinds) == TRAFFIC:  # every kind: one sum over the kinds' array
            total: IntArray = np.add.reduce(self.kinds_transfers, axis=0)  # `.sum`, in C
            return total
        return summed([self.transfers[kind] for kind in kinds])


def flatten(values: list[IntArray | int], full: tuple[int, ...], mask: IntArray | None) -> IntArray:
    """`values`, each broadcast over (order, m, k, n), as the rows of one matrix whose columns
    are the candidates `mask` keeps (all when None), in flat (order, m, k, n) order: one copy
    and one cut for every bound input."""
    matrix = np.empty((len(values), *full), dtype=np.int64)
    for row, each in zip(matrix, values, strict=True):
        row[...] = each
    flat = matrix.reshape(len(values), -1)
    return flat if mask is None else flat[:, mask]


def in_bursts(values: IntArray, burst: int) -> IntArray:
    """`values` bytes rounded up to whole bursts of `burst` bytes, `-(-values // burst) *
    burst`: with a power-of-two burst the same integers from an add and a mask (two's
    complement), without the division."""
    if burst & (burst - 1) == 0:
        masked: IntArray = (values + (burst - 1)) & -burst
        return masked
    result: IntArray = -(-values // burst) * burst
    return result


def summed(values: list[IntArray]) -> IntArray:
    """The sum of `values` (broadcast together), term by term: `np.sum` of a list would first
    copy them all into one array."""
    result = values[0]
    for each in values[1:]:
        result = result + each
    return result


def _joint(orders: list[GridTraffic], grid: tiles.Candidates, array: ArrayMapping) -> OrderStack:
    """The orders' traffic over one (order, m, k, n) grid: as `order_traffics` computed it
    when these are its orders, else stacked here."""
    joint = orders[0].joint
    names = tuple(t.order for t in orders)
    if joint is not None and joint.orders == names and all(t.joint is joint for t in orders):
        return joint
    full = (len(orders), len(grid.m), len(grid.k), len(grid.n))
    stacked = [
        by_kind({kind: np.stack([getattr(t, field)[kind] for t in orders]) for kind in TRAFFIC},
                full)
        for field in ("bytes", "transfers")
    ]  # fmt: skip
    return OrderStack(
        names, dict(zip(TRAFFIC, stacked[0], strict=True)),
        dict(zip(TRAFFIC, stacked[1], strict=True)),
        np.stack([t.refill for t in orders]), np.stack([t.in_place for t in orders]),
        Moving(trips(grid, array), names), *stacked,
    )  # fmt: skip


def _innermost(moving: Moving, groups: int) -> dict[Operand, IntArray]:
    """Per operand, over (order, m, k, n), where the innermost loop that iterates indexes it
    (the groups loop, outermost, indexes every operand): its tile changes at every step. The
    innermost moving loop is the one that moves while no loop inside it does."""
    # `moves & ~stacked`, of booleans: `moves > stacked`, one operation
    inner = {dim: np.greater(moving.moves[i], moving.stacked(dim))
             for i, dim in enumerate(GEMM_DIMS)}  # fmt: skip
    still = ~moving.subsets[-1]  # no loop moves
    result: dict[Operand, IntArray] = {}
    for operand in OPERANDS:
        first, second = tiles.OPERAND_DIMS[operand]
        found = inner[first] | inner[second]
        result[operand] = found | still if groups > 1 else found
    return result


def _rounded(
    values: IntArray, transfers: IntArray, streamed: tuple[Operand, ...],
    grid: tiles.Candidates, chip: ChipConfig,
) -> IntArray:
    """Bytes of each kind (`values`, over (TRAFFIC kind, order, m, k, n)) on the bus, at
    least: whole bursts, and a burst per transfer where every transfer moves a byte or more
    (weights, outputs and partial sums always; an ifmap tile unless it can fall wholly in the
    padding). A streamed operand's transfer count is an estimate, not counted."""
    burst = chip.dram.burst_bytes
    if burst & (burst - 1) == 0:  # `-(-values // burst)` by a shift (floor, as `//` is)
        bursts: IntArray = (values + (burst - 1)) >> (burst.bit_length() - 1)
    else:
        bursts = -(-values // burst)
    result: IntArray = np.maximum(bursts, transfers)
    for row, kind in enumerate(TRAFFIC):
        if ("ofmap" if kind.startswith("ofmap") else kind) in streamed:
            result[row] = bursts[row]
        elif kind == "ifmap":
            np.copyto(result[row], bursts[row], where=grid.ifmap_min[:, :, None] <= 0)
    result *= burst
    return result


def write_width(transfers: dict[str, IntArray], chip: ChipConfig) -> IntArray:
    """Bytes per output of a write-back, at most: accumulators where partial sums spill (and
    are read back, `transfers` of that kind), else final outputs only."""
    array = chip.array
    spills = transfers["ofmap_read"] > 0
    result: IntArray = np.where(spills, max(array.accumulator_bytes, array.element_bytes),
                                array.element_bytes)  # fmt: skip
    return result


def _same_or_stacked(values: list[IntArray], full: tuple[int, ...]) -> IntArray:
    """One array per order: broadcast over the orders when they are all one array."""
    if all(each is values[0] for each in values):
        return values[0]
    result = np.empty(full, dtype=np.result_type(*values))  # `np.stack`, without its Python
    for row, each in enumerate(values):
        result[row] = each
    return result


def last_extents(grid: tiles.Candidates, array: ArrayMapping) -> dict[GemmDim, IntArray]:
    """Per dim, the extent of the last tile of every candidate (the whole extent when uncut),
    over the (m, k, n) grid."""
    sizes = grid_sizes(grid)
    return {dim: last_extent(array.size(dim), sizes[dim]) for dim in GEMM_DIMS}


def last_extent(total: int, tile: IntArray) -> IntArray:
    """The extent of the last tile along a dimension of `total` cut into `tile`s."""
    result: IntArray = total - (total - 1) // tile * tile
    return result


def folds_of(sizes: dict[GemmDim, IntArray], array: ArrayMapping) -> IntArray:
    """Array folds of a step computing tiles of `sizes` (one group)."""
    result: IntArray = -(-sizes[array.rows_dim] // array.array_rows) * -(
        -sizes[array.cols_dim] // array.array_cols
    )
    return result
