"""Every loop order's traffic of a layer's candidate grid, stacked for the cycle bounds.

The bounds (`bounds.py`, `bound_terms.py`) read, per candidate tiling (loop order × tile sizes
m, k, n), its DRAM bytes and transfers per kind (`traffic.py`), which operand's tile changes at
every step, and the tile sizes. `Stack` holds them over one (order, m, k, n) array per quantity
and flattens any of them, or anything broadcast over that shape, to the valid candidates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from accel.config import OPERANDS, ChipConfig, Operand
from accel.mapping.array import GEMM_DIMS, ArrayMapping, GemmDim
from accel.mapping.array import loop_dims as _loop_dims
from accel.memory import tiling as tiles
from accel.memory.channel_cycles import UNKNOWN
from accel.memory.geometry import IntArray
from accel.memory.traffic import TRAFFIC, GridTraffic, grid_sizes, trips


@dataclass(frozen=True)
class Stack:
    """Every loop order's traffic stacked on a first axis (order, m, k, n), with what the
    bounds read of it, and the mask of the candidates kept (one flattening for all)."""

    full: tuple[int, ...]
    streamed: tuple[Operand, ...]  # the same for every order of one grid
    rounded: dict[str, IntArray]  # per TRAFFIC kind: bytes on the bus, at least (`_rounded`)
    refill: IntArray
    moved: IntArray
    in_place: IntArray
    writes: IntArray  # ofmap write-back transfers
    transfers: dict[str, IntArray]  # per TRAFFIC kind
    innermost: dict[Operand, IntArray]  # `innermost_indexes`, per order
    tile_sizes: dict[Operand, IntArray]  # per order
    ends: dict[GemmDim, IntArray]  # `last_extents`
    mask: IntArray
    everything: bool  # every candidate kept: no cut
    flats: dict[int, tuple[IntArray, IntArray]] = field(default_factory=dict, repr=False)

    @classmethod
    def of(
        cls, orders: list[GridTraffic], per_order: list[dict[Operand, IntArray]],
        grid: tiles.Candidates, array: ArrayMapping, chip: ChipConfig, mask: IntArray,
    ) -> Stack:
        trip = trips(grid, array)
        full = (len(orders), *trip["m"].shape)
        stacked = {kind: np.stack([t.bytes[kind] for t in orders]) for kind in TRAFFIC}
        counts = {kind: np.stack([t.transfers[kind] for t in orders]) for kind in TRAFFIC}
        moving: dict[str, IntArray] = {dim: np.asarray(trip[dim] > 1) for dim in GEMM_DIMS}
        inner = [innermost_indexes(t.order, moving, array.groups) for t in orders]
        streamed = orders[0].streamed
        rounded = {kind: _rounded(stacked[kind], counts[kind], kind, streamed, grid, chip)
                   for kind in TRAFFIC}  # fmt: skip
        return cls(
            full, streamed, rounded, np.stack([t.refill for t in orders]),
            np.sum(list(stacked.values()), axis=0), np.stack([t.in_place for t in orders]),
            counts["ofmap_write"], counts,
            {op: np.stack([each[op] for each in inner]) for op in OPERANDS},
            {op: _same_or_stacked([sizes[op] for sizes in per_order], full)
             for op in OPERANDS},
            last_extents(grid, array), mask, bool(mask.all()),
        )  # fmt: skip

    def count(self, kinds: tuple[str, ...] | list[str]) -> IntArray:
        """Transfers of `kinds`, exact (the schedule moves one tile per transfer), except where
        streamed operands move in pieces: `UNKNOWN` there."""
        if self.streamed:
            return np.full((1, 1, 1, 1), UNKNOWN, dtype=np.int64)
        result: IntArray = np.sum([self.transfers[kind] for kind in kinds], axis=0)
        return result

    @cached_property
    def bus(self) -> IntArray:
        """Bytes of every kind on the bus, at least."""
        result: IntArray = np.sum([self.rounded[kind] for kind in TRAFFIC], axis=0)
        return result

    def flat(self, values: IntArray | int) -> IntArray:
        """`values` broadcast over (order, m, k, n), flattened like `Grid.flat` (memoized per
        array: the chains share their tile sizes)."""
        if isinstance(values, np.ndarray):
            found = self.flats.get(id(values))
            if found is not None and found[0] is values:
                return found[1]
        if isinstance(values, np.ndarray) and values.shape == self.full:
            flat = values.astype(np.int64, copy=False).reshape(-1)
        else:
            flat = np.empty(self.full, dtype=np.int64)
            np.copyto(flat, values)
            flat = flat.reshape(-1)
        result: IntArray = flat if self.everything else flat[self.mask]
        if isinstance(values, np.ndarray):
            self.flats[id(values)] = (values, result)  # kept alive: its id stays its own
        return result


def _rounded(
    values: IntArray, transfers: IntArray, kind: str, streamed: tuple[Operand, ...],
    grid: tiles.Candidates, chip: ChipConfig,
) -> IntArray:
    """Bytes of `kind` on the bus, at least: whole bursts, and a burst per transfer where every
    transfer moves a byte or more (weights, outputs and partial sums always; an ifmap tile
    unless it can fall wholly in the padding). A streamed operand's transfer count is an
    estimate, not counted."""
    burst = chip.dram.burst_bytes
    bursts = -(-values // burst)
    operand = "ofmap" if kind.startswith("ofmap") else kind
    if operand not in streamed:
        each = np.maximum(bursts, transfers)
        empty = grid.ifmap_min[:, :, None] <= 0 if kind == "ifmap" else False
        bursts = np.where(empty, bursts, each)
    result: IntArray = bursts * burst
    return result


def _same_or_stacked(values: list[IntArray], full: tuple[int, ...]) -> IntArray:
    """One array per order: broadcast over the orders when they are all one array."""
    if all(each is values[0] for each in values):
        return values[0]
    return np.stack([np.broadcast_to(each, full[1:]) for each in values])


def innermost_indexes(
    order: str, moving: dict[str, IntArray], groups: int
) -> dict[Operand, IntArray]:
    """Per operand, where the innermost loop that iterates indexes it (the groups loop,
    outermost, indexes every operand): its tile changes at every step. `moving`: per dim,
    where its loop has more than one trip."""
    dims = _loop_dims(order)
    # The innermost moving loop is `dims[i]` where it moves and every loop inside it does not.
    innermost: dict[str, IntArray] = {}
    still = np.ones_like(moving["m"])
    for dim in reversed(dims):
        innermost[dim] = moving[dim] & still
        still = still & ~moving[dim]
    result: dict[Operand, IntArray] = {}
    for operand in OPERANDS:
        first, second = tiles.OPERAND_DIMS[operand]
        found = innermost[first] | innermost[second]
        result[operand] = found | still if groups > 1 else found
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
