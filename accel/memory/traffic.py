"""DRAM traffic per operand of a tiling, in closed form, for every candidate tiling at once.

With tile sizes `(m_tile, k_tile, n_tile)`, trips `(m_tiles, k_tiles, n_tiles)` and a loop order:

- ifmap: every M-tile × K-tile box (input rows × columns its windows read, × the channels its
  taps belong to: halo rows between M-tiles counted, im2col copies not), once per pass; passes =
  `n_tiles` when the `n` loop runs outside a moving ifmap loop, else 1;
- weights (with int32 biases, loaded with the first K-tile): once per pass; passes = `m_tiles`
  when `m` runs outside a moving weight loop;
- ofmap: final outputs written once as int8; an output tile visited once per `k` iteration
  outside its own loops spills int32 partial sums after each visit but the last, and reads them
  back before each visit but the first.

An operand streamed through an undersized buffer crosses the channel every time the array
reads it, and `refill` counts the array cycles lost to cutting the streamed dimension
(`streamed_traffic.py`); `bursts` the bytes the channel actually carries (each transfer is whole
bursts).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from accel.config import ChipConfig, Operand
from accel.mapping.array import GEMM_DIMS, ArrayMapping, GemmDim
from accel.memory import tiling as tiles
from accel.memory.geometry import IntArray
from accel.memory.loop_masks import Moving
from accel.memory.streamed_traffic import in_pieces, refill_cycles, streamed_passes
from accel.model.frozen import Frozen

TRAFFIC = ("ifmap", "weight", "ofmap_write", "ofmap_read")


_Arrays = tuple[dict[str, IntArray], dict[str, IntArray], IntArray, IntArray]


class GridTraffic(Frozen):
    """Traffic of one loop order for every (m, k, n) tile-size candidate (arrays on the grid).
    Hand-written, not a frozen dataclass (see `frozen.py`): `joint` is left out of equality,
    and one order of a `joint` stack (`in_stack`) takes its views of the stack's arrays when
    first read (a layer's search reads few orders' own arrays: the bounds read the stack)."""

    _compared = ("order", "bytes", "transfers", "refill", "in_place", "streamed")
    __slots__ = ("_arrays", "_at", "joint", "order", "streamed")

    order: str
    streamed: tuple[Operand, ...]  # operands streamed through undersized buffers
    joint: OrderStack | None
    _arrays: _Arrays | None  # bytes, transfers, refill, in_place (None: not yet viewed)
    _at: int | None  # the order's index in `joint`

    def __init__(
        self, order: str, bytes: dict[str, IntArray], transfers: dict[str, IntArray],
        refill: IntArray, in_place: IntArray, streamed: tuple[Operand, ...] = (),
        joint: OrderStack | None = None,
    ) -> None:  # fmt: skip
        init = object.__setattr__
        init(self, "order", order)
        init(self, "_arrays", (bytes, transfers, refill, in_place))
        init(self, "streamed", streamed)
        init(self, "joint", joint)
        init(self, "_at", None)

    @classmethod
    def in_stack(cls, joint: OrderStack, at: int, streamed: tuple[Operand, ...]) -> GridTraffic:
        """The order `joint.orders[at]` of `joint`, its arrays views of the stack's."""
        traffic = cls.__new__(cls)
        init = object.__setattr__
        init(traffic, "order", joint.orders[at])
        init(traffic, "_arrays", None)
        init(traffic, "streamed", streamed)
        init(traffic, "joint", joint)
        init(traffic, "_at", at)
        return traffic

    def _views(self) -> _Arrays:
        arrays = self._arrays
        if arrays is None:
            joint, o = self.joint, self._at
            assert joint is not None and o is not None
            arrays = (
                {kind: values[o] for kind, values in joint.bytes.items()},
                {kind: values[o] for kind, values in joint.transfers.items()},
                joint.refill[o], joint.in_place[o],
            )  # fmt: skip
            object.__setattr__(self, "_arrays", arrays)
        return arrays

    @property
    def bytes(self) -> dict[str, IntArray]:
        """Per TRAFFIC kind."""
        return self._views()[0]

    @property
    def transfers(self) -> dict[str, IntArray]:
        """DMA transfers per TRAFFIC kind, all groups."""
        return self._views()[1]

    @property
    def refill(self) -> IntArray:
        return self._views()[2]

    @property
    def in_place(self) -> IntArray:
        """Single-fold tiles streaming on: the stationary operand never leaves."""
        return self._views()[3]

    @property
    def moved(self) -> IntArray:
        return sum((self.bytes[kind] for kind in TRAFFIC), np.zeros_like(self.refill))


# A NamedTuple, not a frozen dataclass: as immutable, equal and hashed alike, and built at import
# without compiling generated methods (Python 3.11 compiles each at every start-up).
class OrderStack(NamedTuple):
    """The traffic of several loop orders over one (order, m, k, n) grid, of which each order's
    `GridTraffic` holds a view (`joint`): the cycle bounds read every order at once."""

    orders: tuple[str, ...]
    bytes: dict[str, IntArray]  # per TRAFFIC kind, over (order, m, k, n): rows of `kinds_bytes`
    transfers: dict[str, IntArray]  # the same, rows of `kinds_transfers`
    refill: IntArray
    in_place: IntArray
    moving: Moving  # where the loops inside each loop iterate, per order
    kinds_bytes: IntArray  # over (TRAFFIC kind, order, m, k, n): the kinds in one array
    kinds_transfers: IntArray


def grid_sizes(grid: tiles.Candidates) -> dict[GemmDim, IntArray]:
    """Each candidate's tile size along m, k, n, broadcastable over the (m, k, n) grid."""
    return {"m": grid.m[:, None, None], "k": grid.k[None, :, None], "n": grid.n[None, None, :]}


def trips(grid: tiles.Candidates, array: ArrayMapping) -> dict[GemmDim, IntArray]:
    """Tile trips along m, k, n of every candidate, over the (m, k, n) grid (read-only views,
    memoized per grid: the traffic, the bounds and each picked candidate read them)."""
    found = _TRIPS.get(id(grid))
    if found is not None and found[0] is grid and found[1] == array:
        return found[2]
    shape = (len(grid.m), len(grid.k), len(grid.n))
    sizes = grid_sizes(grid)
    result = {}
    for dim in GEMM_DIMS:  # spelled out over the grid: `np.broadcast_to` costs more, in Python
        result[dim] = np.empty(shape, dtype=np.int64)
        result[dim][...] = -(-array.size(dim) // sizes[dim])
        result[dim].flags.writeable = False
    if len(_TRIPS) >= 256:
        _TRIPS.clear()
    _TRIPS[id(grid)] = (grid, array, result)
    return result


# id(grid) → (grid, array, trips); the grid is kept alive so its id is not reused meanwhile.
_TRIPS: dict[int, tuple[tiles.Candidates, ArrayMapping, dict[GemmDim, IntArray]]] = {}


def clear_cache() -> None:
    """Forget the memoized trips."""
    _TRIPS.clear()


def grid_traffic(
    order: str,
    grid: tiles.Candidates,
    array: ArrayMapping,
    chip: ChipConfig,
    weight_bytes: int,
    streamed: tuple[Operand, ...] = (),
) -> GridTraffic:
    """Traffic of every candidate tile size under loop `order` (outer → inner)."""
    return order_traffics((order,), grid, array, chip, weight_bytes, streamed)[0]


def order_traffics(
    orders: tuple[str, ...],
    grid: tiles.Candidates,
    array: ArrayMapping,
    chip: ChipConfig,
    weight_bytes: int,
    streamed: tuple[Operand, ...] = (),
) -> tuple[GridTraffic, ...]:
    """`grid_traffic` of each of `orders`, computed for all of them at once over an (order, m,
    k, n) grid: a loop order decides only which loops run inside which, so each order's passes
    and in-place streaming select among a few masks of where loops iterate."""
    trip = trips(grid, array)
    shape = trip["m"].shape
    full = (len(orders), *shape)
    groups, outputs = array.groups, array.groups * array.m * array.n
    moving = Moving(trip, orders)
    sizes = grid_sizes(grid)
    single = (sizes[array.rows_dim] <= array.array_rows) & (
        sizes[array.cols_dim] <= array.array_cols
    )
    # `tiles.streams_in_place`: single-fold tiles, no loop moving inside the streamed one.
    in_place = single & ~moving.stacked(array.time_dim)
    passes = {
        op: streamed_passes(op, trip, in_place, array) if op in streamed
        # `tiles.refetches`: the idle loop repeats a tile when a loop inside it moves.
        else np.where(moving.stacked(tiles.IDLE_DIM[op]), trip[tiles.IDLE_DIM[op]], 1)
        for op in ("ifmap", "weight", "ofmap")
    }  # fmt: skip
    width = chip.array.element_bytes
    ifmap_pass = groups * width * (
        array.m * array.k if "ifmap" in streamed else grid.ifmap_sum[:, :, None]
    )
    revisits = passes["ofmap"] - 1
    spill = revisits * outputs * chip.array.accumulator_bytes
    size = {
        "ifmap": ifmap_pass * passes["ifmap"],
        "weight": weight_bytes * passes["weight"],
        "ofmap_write": outputs * width + spill,
        "ofmap_read": spill,
    }
    ofmap_tiles = trip["m"] * trip["n"]
    per_group = {
        "ifmap": trip["m"] * trip["k"] * passes["ifmap"],
        "weight": trip["k"] * trip["n"] * passes["weight"],
        "ofmap_write": ofmap_tiles * passes["ofmap"],
        "ofmap_read": ofmap_tiles * revisits,
    }
    transfers = per_group if groups == 1 else {
        kind: groups * count for kind, count in per_group.items()
    }  # fmt: skip
    in_pieces(transfers, size, chip, streamed)
    refill = _over(refill_cycles(trip, grid, array, chip, in_place), full)
    kinds_bytes, kinds_transfers = by_kind(size, full), by_kind(transfers, full)
    size = dict(zip(TRAFFIC, kinds_bytes, strict=True))
    transfers = dict(zip(TRAFFIC, kinds_transfers, strict=True))
    in_place = _over(in_place, full)
    joint = OrderStack(
        orders, size, transfers, refill, in_place, moving, kinds_bytes, kinds_transfers
    )
    return tuple(GridTraffic.in_stack(joint, o, streamed) for o in range(len(orders)))


def by_kind(values: dict[str, IntArray], full: tuple[int, ...]) -> IntArray:
    """`values` of each TRAFFIC kind, broadcast over the (order, m, k, n) grid, as the rows of
    one array: the bounds round and add the kinds in a few whole-array operations."""
    result = np.empty((len(TRAFFIC), *full), dtype=np.int64)
    for row, kind in zip(result, TRAFFIC, strict=True):
        row[...] = values[kind]
    return result


def _over(values: IntArray, full: tuple[int, ...]) -> IntArray:
    """`values` over the (order, m, k, n) grid (as it is when it already spans it): a
    read-only copy, which costs less than `np.broadcast_to`'s Python."""
    if values.shape == full:
        return values
    result = np.empty(full, dtype=values.dtype)
    result[...] = values
    result.flags.writeable = False
    return result


def bursts(size: IntArray, transfers: IntArray, burst: int) -> IntArray:
    """Bytes on the bus when `size` bytes move in `transfers` equal transfers of whole bursts."""
    each = -(-size // np.maximum(transfers, 1))
    return np.where(transfers > 0, transfers * -(-each // burst) * burst, 0)


def tiling_traffic(
    tiling: tiles.Tiling,
    grid: tiles.Candidates,
    array: ArrayMapping,
    chip: ChipConfig,
    weight_bytes: int,
) -> dict[str, int]:
    """Bytes per TRAFFIC kind (and `refill` cycles) of one tiling drawn from `grid`."""
    at = (
        int(np.searchsorted(grid.m, tiling.m_tile)),
        int(np.searchsorted(grid.k, tiling.k_tile)),
        int(np.searchsorted(grid.n, tiling.n_tile)),
    )
    traffic = grid_traffic(
        tiling.loop_order, grid, array, chip, weight_bytes, tiling.streamed
    )
    result = {kind: int(traffic.bytes[kind][at]) for kind in TRAFFIC}
    result["refill"] = int(traffic.refill[at])
    return result

