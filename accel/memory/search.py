"""The tiling search: the fastest tiling of a layer's candidate grid, proven by lower bounds.

Every valid candidate carries a lower bound of its replayed cycles (`bounds.py`). Candidates are
replayed exactly in order of that bound, and the scan stops at the first whose bound cannot beat
the best replayed so far: the pick is the best of replaying every candidate (fewest cycles, then
fewest DRAM bytes), without doing so. Ties in both go to the smaller prologue (the first ifmap
and weight tiles), then to the earlier candidate in the grid: a rule of the candidates alone,
so the pick does not depend on the bounds or the order of the replays. Loop orders that differ
only in loops of one trip build the same schedule and are replayed once. The groups-per-step
variants of an uncut tiling (`tiling.group_blocks`) move the same bytes in fewer, larger
transfers; each joins the scan at its own bound (`variant_bounds.py`), not right after its
tiling.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TypeVar

import numpy as np

from accel.config import ChipConfig
from accel.mapping.array import ceil_div
from accel.mapping.array import loop_dims as _loop_dims
from accel.memory import tiling as tiles
from accel.memory import variant_bounds
from accel.memory.bounds import Grid, lower_bounds
from accel.memory.geometry import IntArray
from accel.memory.search_facts import TableFacts, facts_of
from accel.memory.streamed_traffic import streamed_passes
from accel.memory.traffic import TRAFFIC, trips

Picked = tuple[tiles.Tiling, dict[str, int]]  # a tiling and its traffic (bytes per kind, refill)
Replay = Callable[[tiles.Tiling], int]  # a tiling's exact cycles


def best_tiling(table: Grid, chip: ChipConfig, replay: Replay) -> tuple[Picked, int, int]:
    """The candidate with the fewest replayed cycles, then DRAM bytes; with its cycles and how
    many tilings were replayed."""
    facts = facts_of(table, chip)
    timing = variant_bounds.Timing.of(chip)
    scan = _Scan(replay)
    seen: set[tuple[int, ...] | tiles.Tiling] = set()
    keys, candidates, variants = facts.keys, facts.candidates, facts.variants
    for position, cycles, flat, moved, prologue in _lazily(facts, lower_bounds(table, chip)):
        key = (cycles, moved, prologue, flat, 0)
        if scan.pending and scan.pending[0][0] < key:
            scan.variants_before(key)
        if key >= scan.best:
            break
        schedule = keys.get(flat)  # what a table's position needs at every bandwidth, kept
        if schedule is None:
            schedule = keys[flat] = _shared(table, flat, _position_key)
        if schedule in seen:
            continue
        seen.add(schedule)
        picked = candidates.get(flat)
        if picked is None:
            picked = candidates[flat] = _shared(table, flat, candidate)
        scan.replay_if_better(key, picked)
        found = variants.get(flat)
        if found is None:
            kept = _shared(table, flat, _no_variants)  # per groups per step, across cuts
            found = variants[flat] = variant_bounds.variants(picked, table, chip, position, kept)
        for index, (variant, each) in enumerate(found, start=1):
            rank = (variant_bounds.timed(variant, timing), variant.moved, variant.prologue,
                    flat, index)  # fmt: skip
            heapq.heappush(scan.pending, (rank, each))
    scan.variants_before(scan.best)
    assert scan.picked is not None, "the grid holds at least one valid candidate"
    return scan.picked, scan.best[0], scan.replayed


T = TypeVar("T")


def _lazily(facts: TableFacts, bound: IntArray) -> Iterator[tuple[int, int, int, int, int]]:
    """Each candidate's (position, bound, flat, DRAM bytes, prologue bytes) in plain
    integers, in order of (bound, DRAM bytes, prologue, flat), a few at a time: the scan
    rarely reads past its first few positions, and a table holds hundreds."""
    columns, order = facts.columns, facts.order(bound)
    start, size = 0, 8
    while start < len(order):
        chunk = order[start : start + size]
        flat, moved, prologue = columns[:, chunk].tolist()
        yield from zip(chunk.tolist(), bound[chunk].tolist(), flat, moved, prologue, strict=True)
        start, size = start + size, size * 4


def _shared(table: Grid, flat: int, make: Callable[[Grid, int], T]) -> T:
    """`make(table, flat)`, kept in `table.positions`: it reads only what tables cut from one
    build share (the grid, the loop orders' traffic, the tile bytes), so a table of the same
    layer at another SRAM size finds it there."""
    key = (make, flat)
    value: T | None = table.positions.get(key)
    if value is None:
        value = table.positions[key] = make(table, flat)
    return value


def _no_variants(table: Grid, flat: int) -> variant_bounds.Kept:
    """A position's kept blocks and variants (`variant_bounds.variants`), none yet."""
    return {}, {}


# (cycles or their bound, DRAM bytes, prologue bytes, position in the grid, variant: 0 for none)
Rank = tuple[int, int, int, int, int]


@dataclass
class _Scan:
    """The best replayed so far and the groups-per-step variants waiting for their turn.

    Ties in (cycles, DRAM bytes) go to the candidate with the smaller prologue (its first ifmap
    and weight tiles), then the earlier in the grid (a variant after its tiling, fewer groups
    per step first), whatever order they were replayed in: a candidate is replayed when its
    bound could beat the best so far on that full rank."""

    replay: Replay
    best: Rank = (np.iinfo(np.int64).max, 0, 0, 0, 0)
    picked: Picked | None = None
    replayed: int = 0
    pending: list[tuple[Rank, Picked]] = field(default_factory=list)  # a heap on the rank

    def replay_if_better(self, bound: Rank, candidate: Picked) -> None:
        if bound >= self.best:
            return
        cycles = self.replay(candidate[0])
        self.replayed += 1
        rank = (cycles, *bound[1:])
        if rank < self.best:
            self.best, self.picked = rank, candidate

    def variants_before(self, key: Rank) -> None:
        """Replay the waiting variants whose bound ranks before `key` (and the best)."""
        while self.pending and self.pending[0][0] < key:
            bound, candidate = heapq.heappop(self.pending)
            self.replay_if_better(bound, candidate)


def _schedule_key(tiling: tiles.Tiling) -> tuple[int, ...] | tiles.Tiling:
    """Tilings with the same sizes whose loop orders agree on the loops that iterate build
    one schedule."""
    moving = "".join(d for d in _loop_dims(tiling.loop_order) if tiling.trips(d) > 1)
    return (tiling.m_tile, tiling.k_tile, tiling.n_tile, hash(moving), hash(tiling.streamed))


def _position_key(table: Grid, flat: int) -> tuple[int, ...] | tiles.Tiling:
    """`_schedule_key` of the candidate at `flat`, without building it: a loop iterates where
    its tile is smaller than its extent (`ceil_div(extent, tile) > 1`)."""
    grid, array = table.grid, table.array
    o, i, j, n = _indices(table, flat)
    m_tile, k_tile, n_tile = int(grid.m[i]), int(grid.k[j]), int(grid.n[n])
    traffic = table.orders[o]
    moving = _moving(traffic.order, array.m > m_tile, array.k > k_tile, array.n > n_tile)
    return (m_tile, k_tile, n_tile, moving, hash(traffic.streamed))


@lru_cache(maxsize=256)
def _moving(order: str, m: bool, k: bool, n: bool) -> int:
    """The hash of the loops of `order` that iterate (`m`, `k`, `n`: whether each does), as
    `_schedule_key` spells them."""
    moves = {"m": m, "k": k, "n": n}
    return hash("".join(d for d in _loop_dims(order) if moves[d]))


def _indices(table: Grid, flat: int) -> tuple[int, int, int, int]:
    """The (order, m, k, n) indices of the candidate at `flat` (`np.unravel_index` on one
    number, in plain integers)."""
    grid = table.grid
    rest, n = divmod(flat, len(grid.n))
    rest, j = divmod(rest, len(grid.k))
    o, i = divmod(rest, len(grid.m))
    return o, i, j, n


def candidate(table: Grid, flat: int) -> Picked:
    """The tiling at `flat` in (order, m, k, n) and its traffic."""
    grid, orders, array = table.grid, table.orders, table.array
    o, i, j, n = _indices(table, flat)
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
