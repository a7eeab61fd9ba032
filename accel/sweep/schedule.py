"""Which worker simulates which points: groups of points that share the memory model's work
stay on one worker, each worker taking the next group, costliest first, as it frees up.

Two levels of sharing, both memoized per process by the memory model (and a third: inside a
tiling group, points that differ only in clock, energy or area replay once, `cycle_key`):

- a *tiling group*: points that differ only in `PLAN_FREE_FIELDS` (DRAM bandwidth and latency,
  clock, energy) share every layer's tilings and schedules and pay only the replay;
- an *array group*: tiling groups that differ only in SRAM fields share the candidate grid and
  the traffic of each loop order (a new SRAM size costs about a fifth of a new array).

The points of a sweep are cut into chunks inside tiling groups (the unit a worker runs and the
journal records); a worker takes whole array groups, the costliest left whenever its queue
is empty. When none is left, a worker that runs out takes chunks from the end of the busiest
worker's queue when that finishes the sweep sooner even after paying for the tilings again
(`Dispatcher`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from functools import cache
from typing import NamedTuple

from accel.memory.model import PLAN_FREE_FIELDS
from accel.simulation import CYCLE_FREE_FIELDS
from accel.sweep.analytic import analytic_key
from accel.sweep.plan import Point

MAX_CHUNK_POINTS = 16  # bounds what a kill can lose and keeps the progress bar moving
MAX_ANALYTIC_CHUNK = 1024  # analytic points take ~0.1-1 ms each: larger chunks, fewer messages

# Estimated CPU cost per network layer, in units of one point that reuses its tilings. For a
# MobileNetV2 point (`python benchmarks/sweep_speed.py --costs`, medians over 12 arrays): a new
# bandwidth 16 ms, a new SRAM size on a searched array 41 ms, a new array 211 ms.
POINT_COST = 1.0
TILING_COST = 2.0  # a new SRAM configuration on an array already searched
ARRAY_COST = 11.0  # the candidate grid and the loop orders' traffic of a new array
RECLOCK_COST = 0.05  # a point that differs from the last only in clock or energy: 1.5 of 38 ms


# A NamedTuple, not a frozen dataclass: as immutable, equal and hashed, and built at import
# without compiling generated methods (Python 3.11 compiles a dataclass's at every start-up).
class Chunk(NamedTuple):
    """Points of one tiling group that one worker simulates in one go."""

    points: tuple[Point, ...]
    tiling_key: tuple[object, ...] | None  # the same for points that share tilings
    array_key: tuple[object, ...] | None  # the same for points that share the candidate grid
    weight: float  # cost of one point per `POINT_COST`: the network's layers, the batch
    replays: int  # points that replay: the others differ from an earlier one only in clock, energy


@cache
def _is_under(name: str, fields: tuple[str, ...]) -> bool:
    """Whether the dotted field `name` is one of `fields` or inside one (remembered: a sweep
    has a few axes and asks this of each of every point's values, three times per point)."""
    return any(name == field or name.startswith(field + ".") for field in fields)


_TILING_FREE = (*PLAN_FREE_FIELDS, *CYCLE_FREE_FIELDS)


def tiling_key(point: Point) -> tuple[object, ...]:
    """What a point's tilings depend on: everything but `PLAN_FREE_FIELDS` (and the
    `CYCLE_FREE_FIELDS`, such as area, that no stage before the energy reads)."""
    shared = tuple(pair for pair in point.values if not _is_under(pair[0], _TILING_FREE))
    return point.network, point.batch, shared


def array_key(point: Point) -> tuple[object, ...]:
    """What a point's candidate grid depends on: its tiling key without the SRAM fields."""
    network, batch, shared = tiling_key(point)
    assert isinstance(shared, tuple)
    return network, batch, tuple(pair for pair in shared if not _is_under(pair[0], ("sram",)))


def cycle_key(point: Point) -> tuple[object, ...]:
    """What a point's cycles depend on: everything but `CYCLE_FREE_FIELDS` (points with one
    key replay once, `accel.sweep.evaluate`)."""
    kept = tuple(pair for pair in point.values if not _is_under(pair[0], CYCLE_FREE_FIELDS))
    return point.network, point.batch, kept


def _by_cycles(points: list[Point]) -> list[Point]:
    """`points` with those of one `cycle_key` next to each other, in order of first sight."""
    groups: dict[tuple[object, ...], list[Point]] = {}
    for point in points:
        groups.setdefault(cycle_key(point), []).append(point)
    return [point for group in groups.values() for point in group]


def chunk_points(
    points: Sequence[Point], layers: Mapping[str, int], parallelism: int, shared: bool = True
) -> list[Chunk]:
    """The points cut into chunks, each inside one tiling group, grouped by array in order of
    each group's first point. About eight chunks per worker when groups are large, so a worker
    that finishes early can take some. `layers` gives each network's layer count (its cost).

    `shared=False` (an analytic sweep: nothing is memoized, but points that differ only in the
    array's shape are counted at once, `accel.sweep.analytic`) sorts the points by that group
    and cuts them into about four chunks per worker, of at most `MAX_ANALYTIC_CHUNK`."""
    if not shared:
        return _analytic_chunks(points, layers, parallelism)
    size = max(1, min(MAX_CHUNK_POINTS, -(-len(points) // (8 * parallelism))))
    arrays: dict[tuple[object, ...], dict[tuple[object, ...], list[Point]]] = {}
    for point in points:
        arrays.setdefault(array_key(point), {}).setdefault(tiling_key(point), []).append(point)
    chunks: list[Chunk] = []
    for wide, groups in arrays.items():
        for key, group in groups.items():
            ordered, weight = _by_cycles(group), _weight(group[0], layers)
            seen: set[tuple[object, ...]] = set()  # cycles replayed by an earlier chunk
            for start in range(0, len(ordered), size):
                piece = tuple(ordered[start : start + size])
                new = {cycle_key(point) for point in piece} - seen
                seen |= new
                chunks.append(Chunk(piece, key, wide, weight, len(new)))
    return chunks


def _analytic_chunks(
    points: Sequence[Point], layers: Mapping[str, int], parallelism: int
) -> list[Chunk]:
    size = max(1, min(MAX_ANALYTIC_CHUNK, -(-len(points) // (4 * parallelism))))
    ordered = sorted(points, key=lambda p: repr(analytic_key(p)))
    pieces = [ordered[start : start + size] for start in range(0, len(ordered), size)]
    return [
        Chunk(tuple(piece), None, None, sum(_weight(p, layers) for p in piece) / len(piece),
              len(piece))
        for piece in pieces
    ]  # fmt: skip


_AFFINITY_SCAN = 64  # pool groups compared per take: the scan stays short on huge sweeps


def _shared(key: tuple[object, ...] | None, other: tuple[object, ...]) -> int:
    """How many (field, value) pairs two array keys have in common."""
    if key is None:
        return 0
    values, others = key[2], other[2]
    assert isinstance(values, tuple) and isinstance(others, tuple)
    return len(set(values) & set(others)) + (key[:2] == other[:2])


def _weight(point: Point, layers: Mapping[str, int]) -> float:
    """A point's cost relative to one layer at batch 1 (cost grows ~5x from batch 1 to 8)."""
    return float(layers[point.network] * point.batch**0.8)


class _Costs:
    """Estimated cost of chunks to a worker that has already run some tiling and array groups."""

    def __init__(self, chunks: Sequence[Chunk], seen_tilings: set[object],
                 seen_arrays: set[object]) -> None:  # fmt: skip
        self.total = 0.0
        self.tilings, self.arrays = set(seen_tilings), set(seen_arrays)
        for chunk in chunks:
            self.add(chunk)

    def add(self, chunk: Chunk) -> float:
        cost = POINT_COST * chunk.replays + RECLOCK_COST * (len(chunk.points) - chunk.replays)
        if chunk.tiling_key is not None and chunk.tiling_key not in self.tilings:
            self.tilings.add(chunk.tiling_key)
            cost += TILING_COST
        if chunk.array_key is not None and chunk.array_key not in self.arrays:
            self.arrays.add(chunk.array_key)
            cost += ARRAY_COST
        self.total += cost * chunk.weight
        return cost * chunk.weight


class Dispatcher:
    """Hands out chunks to workers: a worker whose queue is empty takes the next whole array
    group, costliest first (list scheduling in LPT order: it follows the real durations, which
    the estimates and a shared machine's load make uneven), among equal estimates the one most
    like its last; when none is left, it takes the tail of the busiest queue if that ends the
    sweep sooner."""

    def __init__(self, chunks: Sequence[Chunk], workers: int) -> None:
        groups: dict[object, list[Chunk]] = {}
        for index, chunk in enumerate(chunks):
            key = index if chunk.array_key is None else chunk.array_key
            groups.setdefault(key, []).append(chunk)
        costs = {id(group): _Costs(group, set(), set()).total for group in groups.values()}
        by_cost = sorted(groups.values(), key=lambda g: -costs[id(g)])
        self.pool: list[tuple[float, list[Chunk]]] = [(costs[id(g)], g) for g in by_cost]
        self.last: list[tuple[object, ...] | None] = [None] * workers
        self.queues: list[deque[Chunk]] = [deque() for _ in range(workers)]
        self._finished: set[int] = set()
        self.tilings: list[set[object]] = [set() for _ in range(workers)]
        self.arrays: list[set[object]] = [set() for _ in range(workers)]

    def next(self, worker: int) -> Chunk | None:
        """The next chunk for `worker`, or None when nothing is left worth its taking."""
        queue = self.queues[worker]
        if not queue and self.pool:
            queue.extend(self._take(worker))
        if not queue and worker not in self._finished:
            self._steal(worker)
        if not queue:
            # Queues only shrink once the pool is empty: a tail not worth taking now will not
            # be later (nor is it worth recounting every queue at each request).
            self._finished.add(worker)
            return None
        chunk = queue.popleft()
        self.tilings[worker].add(chunk.tiling_key)
        self.arrays[worker].add(chunk.array_key)
        self.last[worker] = chunk.array_key
        return chunk

    def _take(self, worker: int) -> list[Chunk]:
        """The costliest array group left; among equal estimates (a grid's groups usually
        are), the one sharing the most swept values with the worker's last group: arrays of
        one dataflow and one side share part of their search (an os array's with another of
        the same rows)."""
        last = self.last[worker]
        best = 0
        if last is not None:
            top = self.pool[0][0]
            ties = [i for i, (cost, _) in enumerate(self.pool[:_AFFINITY_SCAN]) if cost == top]
            best = max(ties, key=lambda i: (_shared(self.pool[i][1][0].array_key, last), -i))
        return self.pool.pop(best)[1]

    def remaining(self, worker: int) -> float:
        return _Costs(self.queues[worker], self.tilings[worker], self.arrays[worker]).total

    def _steal(self, thief: int) -> None:
        """Move to `thief` the tail of the costliest queue that minimizes the later of the two
        finishes (the victim's kept head, the thief's taken tail with its own setup costs)."""
        others = [w for w in range(len(self.queues)) if w != thief and self.queues[w]]
        if not others:
            return
        victim = max(others, key=self.remaining)
        queue = list(self.queues[victim])
        head = _Costs((), self.tilings[victim], self.arrays[victim])
        prefix = [0.0] + [head.add(chunk) for chunk in queue]
        for index in range(1, len(prefix)):
            prefix[index] += prefix[index - 1]
        tail = _Costs((), self.tilings[thief], self.arrays[thief])
        best, cut = prefix[-1], len(queue)  # taking nothing: the victim finishes alone
        for index in range(len(queue) - 1, -1, -1):
            tail.add(queue[index])
            finish = max(prefix[index], tail.total)
            if finish < best:
                best, cut = finish, index
        self.queues[victim] = deque(queue[:cut])
        self.queues[thief].extend(queue[cut:])
