"""The tiling search: the fastest tiling of a layer's candidate grid, proven by lower bounds.

Every candidate tiling (tile sizes × loop order, `tiling.py`) that fits the buffers gets, all at
once over the grid (numpy, no Python loop per candidate), its DRAM bytes per operand in closed
form (`traffic.py`) and a lower bound on the cycles the pipeline replay (`replay.py`) will
measure for it, from three facts of that replay:

- compute runs its steps in order, and the steps' cycles add up to the layer's compute cycles
  plus the refills of a cut streamed dimension; it cannot start before the prologue's weight
  tile has crossed the channel and its latency passed, and the last ofmap tile is written back
  after the last step;
- the one DRAM channel carries every byte, in whole bursts, one transfer after another;
- the layer ends when both are done.

Candidates are then replayed exactly in order of that bound (ties: fewer DRAM bytes first), and
the scan stops at the first whose bound, with its bytes, cannot beat the best replayed so far:
the pick is at least as good as replaying every candidate (fewest cycles, then fewest DRAM
bytes), without doing so. Loop orders that differ only in loops of one trip build the same
schedule and are replayed once. The groups-per-step variants of an uncut tiling
(`tiling.group_blocks`) move the same bytes in fewer, larger transfers and join the scan with
their own bound.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from accel.config import ChipConfig, Operand
from accel.mapping.array import ArrayMapping, GemmDim, ceil_div
from accel.mapping.array import loop_dims as _loop_dims
from accel.memory import tiling as tiles
from accel.memory.geometry import IntArray
from accel.memory.loop_nest import layer_edges
from accel.memory.traffic import TRAFFIC, GridTraffic, streamed_passes, trips
from accel.perf.timing import fill_drain_cycles

Picked = tuple[tiles.Tiling, dict[str, int]]  # a tiling and its traffic (bytes per kind, refill)
Replay = Callable[[tiles.Tiling], int]  # a tiling's exact cycles


@dataclass(frozen=True)
class Chain:
    """An input operand whose tile changes at every step, over `halves` buffer halves: the load
    of step `j`'s tile waits for step `j − halves` to release its half, so every `halves` steps
    the pipeline pays that load, the DRAM latency and a step's compute one after another.
    Averaged over the `halves` interleaved chains, the layer lasts at least
    `(Σ_{j ≥ halves} load_j + (steps − halves) · latency + Σ_{j ≥ halves} compute_j) / halves`.
    Arrays are per valid candidate; `steps` 0 where the operand does not change every step."""

    halves: int
    steps: IntArray
    bus: IntArray  # the operand's bytes, rounded up to whole bursts
    largest: IntArray  # an upper bound of one tile's bytes (the first `halves` loads)
    compute: IntArray  # a lower bound of the compute of steps `halves` onwards


@dataclass(frozen=True)
class Grid:
    """Every valid candidate of one layer, flattened, with what its cycle bound needs."""

    grid: tiles.Candidates
    orders: tuple[GridTraffic, ...]
    per_order: tuple[dict[Operand, IntArray], ...]
    array: ArrayMapping
    compute_cycles: int  # the untiled layer's, from the timing model
    flat: IntArray  # index into (order, m, k, n) of each valid candidate
    compute: IntArray  # compute cycles plus refills
    moved: IntArray  # DRAM bytes
    bus: IntArray  # bytes on the channel, at least: each kind rounded up to whole bursts
    first_ifmap: IntArray  # bytes of the prologue's ifmap load (0 when streamed)
    first_weight: IntArray  # bytes of the prologue's weight load (0 when streamed)
    last_write: IntArray  # bytes of the last write-back (0 when the ofmap is streamed)
    chains: tuple[Chain, ...] = ()  # per input operand: the refill chain of each candidate

    def __len__(self) -> int:
        return len(self.flat)


def build_grid(
    grid: tiles.Candidates,
    orders: list[GridTraffic],
    per_order: list[dict[Operand, IntArray]],
    valid: list[IntArray],
    array: ArrayMapping,
    chip: ChipConfig,
    has_bias: bool,
    compute_cycles: int,
) -> Grid:
    """Flatten the valid candidates of every loop order into one table of bound inputs."""
    mask = np.stack(valid).ravel()
    shape = valid[0].shape
    burst = chip.dram.burst_bytes
    width = chip.array.element_bytes
    m, k, n = grid.m[:, None, None], grid.k[None, :, None], grid.n[None, None, :]
    weight0 = k * n * width + (tiles.BIAS_BYTES * n if has_bias else 0)
    last = _last_extent(array.m, m) * _last_extent(array.n, n) * width
    ifmap0 = grid.ifmap_first[:, :, None] * width
    columns: dict[str, list[IntArray]] = {
        key: [] for key in ("compute", "moved", "bus", "i", "w", "o")
    }
    for traffic in orders:
        columns["compute"].append(np.broadcast_to(compute_cycles + traffic.refill, shape))
        columns["moved"].append(np.broadcast_to(traffic.moved, shape))
        whole = sum(-(-traffic.bytes[kind] // burst) * burst for kind in TRAFFIC)
        columns["bus"].append(np.broadcast_to(whole, shape))
        streamed = traffic.streamed
        columns["i"].append(np.broadcast_to(0 if "ifmap" in streamed else ifmap0, shape))
        columns["w"].append(np.broadcast_to(0 if "weight" in streamed else weight0, shape))
        columns["o"].append(np.broadcast_to(0 if "ofmap" in streamed else last, shape))

    def flat(name: str) -> IntArray:
        return np.stack(columns[name]).ravel()[mask].astype(np.int64)

    chains = tuple(
        _chain(operand, grid, orders, per_order, array, chip, compute_cycles, mask)
        for operand in ("ifmap", "weight")
    )

    return Grid(
        grid, tuple(orders), tuple(per_order), array, compute_cycles, np.flatnonzero(mask),
        flat("compute"), flat("moved"), flat("bus"), flat("i"), flat("w"), flat("o"), chains,
    )  # fmt: skip


def _chain(
    operand: Operand,
    grid: tiles.Candidates,
    orders: list[GridTraffic],
    per_order: list[dict[Operand, IntArray]],
    array: ArrayMapping,
    chip: ChipConfig,
    compute_cycles: int,
    mask: IntArray,
) -> Chain:
    """The `Chain` of `operand` over every loop order's grid, flattened like `Grid`."""
    halves = 2 if chip.sram.buffer_for(operand).double_buffered else 1
    trip = trips(grid, array)
    shape = trip["m"].shape
    steps = array.groups * trip["m"] * trip["k"] * trip["n"]
    sizes = {"m": grid.m[:, None, None], "k": grid.k[None, :, None], "n": grid.n[None, None, :]}
    folds = -(-sizes[array.rows_dim] // array.array_rows) * -(
        -sizes[array.cols_dim] // array.array_cols
    )
    per_fold = np.maximum(fill_drain_cycles(array), array.array_rows) + sizes[array.time_dim]
    first_edge, _ = layer_edges(array, chip.array.fold_overlap)
    step_most = folds * per_fold + max(first_edge, 0)  # a step's compute, at most (not the last)
    burst = chip.dram.burst_bytes
    columns: dict[str, list[IntArray]] = {"steps": [], "bus": [], "largest": [], "compute": []}
    for traffic, tile_sizes in zip(orders, per_order, strict=True):
        changes = np.zeros(shape, dtype=bool) if operand in traffic.streamed else (
            _innermost_indexes(traffic.order, trip, array.groups, operand)
        )  # fmt: skip
        chained = changes & (steps > halves)
        columns["steps"].append(np.where(chained, steps, 0))
        columns["bus"].append(np.broadcast_to(-(-traffic.bytes[operand] // burst) * burst, shape))
        columns["largest"].append(np.broadcast_to(tile_sizes[operand], shape))
        rest = compute_cycles + traffic.refill - halves * step_most
        columns["compute"].append(np.broadcast_to(np.maximum(rest, 0), shape))

    def flat(name: str) -> IntArray:
        return np.stack(columns[name]).ravel()[mask].astype(np.int64)

    return Chain(halves, flat("steps"), flat("bus"), flat("largest"), flat("compute"))


def _innermost_indexes(
    order: str, trip: dict[GemmDim, IntArray], groups: int, operand: Operand
) -> IntArray:
    """Where the innermost loop that iterates indexes `operand` (the groups loop, outermost,
    indexes every operand): its tile changes at every step."""
    result = np.zeros(trip["m"].shape, dtype=bool)
    decided = np.zeros_like(result)
    for dim in reversed(_loop_dims(order)):
        moving = (trip[dim] > 1) & ~decided
        if dim in tiles.OPERAND_DIMS[operand]:
            result |= moving
        decided |= moving
    if groups > 1:
        result |= ~decided
    return result


def _last_extent(total: int, tile: IntArray) -> IntArray:
    """The extent of the last tile along a dimension of `total` cut into `tile`s."""
    result: IntArray = total - (total - 1) // tile * tile
    return result


def transfer_bound(size: IntArray, chip: ChipConfig) -> IntArray:
    """Cycles of one transfer of `size` bytes (`replay.transfer_cycles`, over an array)."""
    burst, bandwidth = chip.dram.burst_bytes, chip.dram.bandwidth_bytes_per_cycle
    result: IntArray = np.floor(-(-size // burst) * burst / bandwidth + 0.5).astype(np.int64)
    return result


def channel_bound(bus: IntArray, chip: ChipConfig) -> IntArray:
    """Cycles the channel needs at least to carry `bus` bytes in whole bursts, however they are
    cut into transfers: each transfer's cycles round to the nearest, so when a burst is not a
    whole number of cycles a transfer of `b` bursts may take half a cycle less than `b` bursts'
    worth, at most a share `bandwidth / (2 · burst)` of its time."""
    burst, bandwidth = chip.dram.burst_bytes, chip.dram.bandwidth_bytes_per_cycle
    per_burst = burst / bandwidth
    slack = 0.0 if per_burst == math.floor(per_burst) else 0.5 / per_burst
    cycles = bus / bandwidth * max(0.0, 1.0 - slack)
    result: IntArray = np.ceil(cycles - 1e-9).astype(np.int64)
    return result


def lower_bounds(table: Grid, chip: ChipConfig) -> IntArray:
    """A lower bound of every candidate's replayed cycles on `chip`'s DRAM channel."""
    latency = chip.dram.latency_cycles
    first = transfer_bound(table.first_ifmap, chip) + transfer_bound(table.first_weight, chip)
    fill = np.where(first > 0, first + latency, 0)
    pipeline = table.compute + fill + transfer_bound(table.last_write, chip)
    bound: IntArray = np.maximum(pipeline, channel_bound(table.bus, chip))
    for chain in table.chains:
        loads = channel_bound(chain.bus, chip) - chain.halves * transfer_bound(chain.largest, chip)
        waits = (chain.steps - chain.halves) * latency
        total = np.maximum(loads, 0) + waits + chain.compute
        bound = np.maximum(bound, np.where(chain.steps > 0, total // chain.halves, 0))
    return bound


def best_tiling(table: Grid, chip: ChipConfig, replay: Replay) -> tuple[Picked, int, int]:
    """The candidate with the fewest replayed cycles, then DRAM bytes; with its cycles and how
    many tilings were replayed."""
    bound = lower_bounds(table, chip)
    order = np.lexsort((table.moved, bound))
    best: tuple[int, int] = (np.iinfo(np.int64).max, 0)
    picked: Picked | None = None
    seen: set[tuple[int, ...] | tiles.Tiling] = set()
    replayed = 0
    for position in order.tolist():
        moved = int(table.moved[position])
        if (int(bound[position]), moved) >= best:
            break
        tiling, traffic = candidate(table, int(table.flat[position]))
        key = _schedule_key(tiling)
        if key in seen:
            continue
        seen.add(key)
        variants = [tiling, *tiles.group_blocks(tiling, chip)]
        for each in variants:
            channel = int(channel_bound(table.bus[position : position + 1], chip)[0])
            if each is not tiling and _variant_bound(each, table, chip, traffic, channel) >= best:
                continue
            cycles = replay(each)
            replayed += 1
            if (cycles, moved) < best:
                best, picked = (cycles, moved), (each, traffic)
    assert picked is not None, "the grid holds at least one valid candidate"
    return picked, best[0], replayed


def _schedule_key(tiling: tiles.Tiling) -> tuple[int, ...] | tiles.Tiling:
    """Tilings with the same sizes whose loop orders agree on the loops that iterate build
    one schedule."""
    moving = "".join(d for d in _loop_dims(tiling.loop_order) if tiling.trips(d) > 1)
    return (tiling.m_tile, tiling.k_tile, tiling.n_tile, hash(moving), hash(tiling.streamed))


def _variant_bound(
    tiling: tiles.Tiling, table: Grid, chip: ChipConfig, traffic: dict[str, int], channel: int
) -> tuple[int, int]:
    """The bound and bytes of one groups-per-step variant of an uncut tiling: its prologue
    weight tile holds `g_tile` groups' weights, its last write-back the last block's outputs."""
    last_groups = tiling.groups - (tiling.g_tiles - 1) * tiling.g_tile
    outputs = last_groups * tiling.m_tile * tiling.n_tile * chip.array.element_bytes
    sizes = np.array([tiling.weight_tile_bytes, outputs], dtype=np.int64)
    first, last = transfer_bound(sizes, chip).tolist()
    pipeline = table.compute_cycles + traffic["refill"] + first + chip.dram.latency_cycles + last
    return max(pipeline, channel), sum(traffic[kind] for kind in TRAFFIC)


def candidate(table: Grid, flat: int) -> Picked:
    """The tiling at `flat` in (order, m, k, n) and its traffic."""
    grid, orders, array = table.grid, table.orders, table.array
    shape = (len(orders), len(grid.m), len(grid.k), len(grid.n))
    o, i, j, n = (int(x) for x in np.unravel_index(flat, shape))
    traffic, sizes = orders[o], table.per_order[o]
    m_tile, k_tile, n_tile = int(grid.m[i]), int(grid.k[j]), int(grid.n[n])
    table_trips = trips(grid, array)
    passes = tuple(
        int(streamed_passes(op, table_trips, traffic.in_place, array)[i, j, n])
        for op in traffic.streamed
    )
    tiling = tiles.Tiling(
        array.dataflow, traffic.order, m_tile, k_tile, n_tile,
        ceil_div(array.m, m_tile), ceil_div(array.k, k_tile), ceil_div(array.n, n_tile),
        array.groups, int(sizes["ifmap"][i, j, 0]), int(sizes["weight"][0, j, n]),
        int(sizes["ofmap"][i, 0, n]), traffic.streamed, passes,
    )  # fmt: skip
    picked = {kind: int(traffic.bytes[kind][i, j, n]) for kind in TRAFFIC}
    picked["refill"] = int(traffic.refill[i, j, n])
    return tiling, picked
