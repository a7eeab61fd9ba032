"""The tiling search: the fastest tiling of a layer's candidate grid, proven by lower bounds.

Every valid candidate carries a lower bound of its replayed cycles (`bounds.py`). Candidates are
replayed exactly in order of that bound (ties: fewer DRAM bytes first), and the scan stops at
the first whose bound, with its bytes, cannot beat the best replayed so far: the pick is at
least as good as replaying every candidate (fewest cycles, then fewest DRAM bytes), without
doing so. Loop orders that differ only in loops of one trip build the same schedule and are
replayed once. The groups-per-step variants of an uncut tiling (`tiling.group_blocks`) move the
same bytes in fewer, larger transfers and join the scan with their own bound.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from accel.config import ChipConfig
from accel.mapping.array import ceil_div
from accel.mapping.array import loop_dims as _loop_dims
from accel.memory import tiling as tiles
from accel.memory.bounds import Grid, channel_bound, lower_bounds, transfer_bound
from accel.memory.traffic import TRAFFIC, streamed_passes, trips

Picked = tuple[tiles.Tiling, dict[str, int]]  # a tiling and its traffic (bytes per kind, refill)
Replay = Callable[[tiles.Tiling], int]  # a tiling's exact cycles


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
        flat = int(table.flat[position])
        key = _position_key(table, flat)
        if key in seen:
            continue
        seen.add(key)
        tiling, traffic = candidate(table, flat)
        variants = [tiling, *tiles.group_blocks(tiling, chip)]
        channel = -1  # the channel bound, once a variant needs it
        for each in variants:
            if each is not tiling:
                if channel < 0:
                    channel = int(channel_bound(table.bus[position : position + 1], chip)[0])
                if _variant_bound(each, table, chip, traffic, channel) >= best:
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


def _position_key(table: Grid, flat: int) -> tuple[int, ...] | tiles.Tiling:
    """`_schedule_key` of the candidate at `flat`, without building it."""
    grid, orders, array = table.grid, table.orders, table.array
    shape = (len(orders), len(grid.m), len(grid.k), len(grid.n))
    o, i, j, n = (int(x) for x in np.unravel_index(flat, shape))
    sizes = {"m": int(grid.m[i]), "k": int(grid.k[j]), "n": int(grid.n[n])}
    totals = {"m": array.m, "k": array.k, "n": array.n}
    traffic = orders[o]
    moving = "".join(
        d for d in _loop_dims(traffic.order) if ceil_div(totals[d], sizes[d]) > 1
    )
    return (sizes["m"], sizes["k"], sizes["n"], hash(moving), hash(traffic.streamed))


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
