"""Which worker runs which points: tiling groups in one chunk, array groups on one worker, the
groups balanced by estimated cost, and an idle worker taking work only when that pays."""

from __future__ import annotations

import itertools

from accel.sweep.plan import Point
from accel.sweep.schedule import (
    ARRAY_COST,
    POINT_COST,
    TILING_COST,
    Chunk,
    Dispatcher,
    chunk_points,
)

LAYERS = {"lenet5": 10, "mobilenet_v2": 100}


def grid(network: str = "lenet5", **axes: list[object]) -> list[Point]:
    combos = itertools.product(*([(name, v) for v in values] for name, values in axes.items()))
    return [Point(i, f"p{i}", network, 1, tuple(combo)) for i, combo in enumerate(combos)]


def drain(dispatcher: Dispatcher, order: list[int]) -> dict[int, list[Chunk]]:
    """Ask the workers for chunks in `order` (cycled) until none gets any."""
    got: dict[int, list[Chunk]] = {worker: [] for worker in set(order)}
    idle: set[int] = set()
    for worker in itertools.cycle(order):
        if len(idle) == len(got):
            return got
        chunk = dispatcher.next(worker)
        if chunk is None:
            idle.add(worker)
        else:
            got[worker].append(chunk)
    raise AssertionError("unreachable")


def test_chunks_hold_one_tiling_group_and_arrays_stay_together() -> None:
    points = grid(**{"dram.bandwidth_bytes_per_cycle": [4, 8, 16], "array.rows": [8, 16],
                     "sram.ifmap.size_kib": [32, 64], "clock_mhz": [500, 900]})  # fmt: skip
    chunks = chunk_points(points, LAYERS, parallelism=2)
    assert sorted(p.index for c in chunks for p in c.points) == list(range(len(points)))
    for chunk in chunks:
        shared = {tuple(v for v in p.values if v[0] in ("array.rows", "sram.ifmap.size_kib"))
                  for p in chunk.points}  # fmt: skip
        assert len(shared) == 1  # bandwidth and clock vary inside a chunk, nothing else
    # 2 rows x 2 SRAM sizes = 4 tiling groups of 6 points (3 bandwidths x 2 clocks), each cut
    # in three: 24 points over 8 chunks per worker x 2 workers -> 2 points a chunk.
    assert len({c.tiling_key for c in chunks}) == 4 and len(chunks) == 12
    arrays = [c.array_key for c in chunks]
    assert arrays == sorted(arrays, key=arrays.index)  # each array's chunks are contiguous
    assert len(set(arrays)) == 2


def test_array_groups_go_whole_to_the_least_loaded_worker() -> None:
    # Four arrays of 2 SRAM sizes x 4 bandwidths: equal costs, two per worker, none split.
    points = grid(**{"array.rows": [8, 16, 32, 64], "sram.ifmap.size_kib": [32, 64],
                     "dram.bandwidth_bytes_per_cycle": [4, 8, 16, 32]})  # fmt: skip
    dispatcher = Dispatcher(chunk_points(points, LAYERS, parallelism=2), workers=2)
    got = drain(dispatcher, [0, 1])
    rows = {w: {dict(p.values)["array.rows"] for c in cs for p in c.points} for w, cs in got.items()}
    assert len(rows[0]) == len(rows[1]) == 2 and not rows[0] & rows[1]
    assert sum(len(c.points) for cs in got.values() for c in cs) == len(points)


def test_a_lone_group_is_split_only_when_the_tail_outweighs_the_search() -> None:
    cost_of = {w: 0.0 for w in (0, 1)}
    # One tiling group of 64 bandwidths: worker 1 takes the tail, paying the array search
    # again, because 64 points (one search + 64 replays) cost more than two searches.
    many = grid(**{"dram.bandwidth_bytes_per_cycle": list(range(1, 65))})
    got = drain(Dispatcher(chunk_points(many, LAYERS, parallelism=2), workers=2), [0, 1])
    for worker, chunks in got.items():
        cost_of[worker] = ARRAY_COST + TILING_COST + POINT_COST * sum(len(c.points) for c in chunks)
    assert got[1] and abs(cost_of[0] - cost_of[1]) <= 2 * 4 * POINT_COST  # within a chunk or so
    # Four bandwidths: splitting would cost a second search for a few replays; one worker.
    few = grid(**{"dram.bandwidth_bytes_per_cycle": [4, 8, 16, 32]})
    got = drain(Dispatcher(chunk_points(few, LAYERS, parallelism=2), workers=2), [0, 1])
    assert sum(len(c.points) for c in got[0]) == 4 and got[1] == []


def test_a_lone_group_of_clock_values_stays_on_one_worker() -> None:
    # 64 clocks on one array: one replay, then 63 points that only count energy again, far
    # cheaper than a second search; beside them 64 bandwidths (64 replays) are split.
    clocks = grid(**{"clock_mhz": [float(100 + i) for i in range(64)]})
    chunks = chunk_points(clocks, LAYERS, parallelism=2)
    assert sum(c.replays for c in chunks) == 1
    got = drain(Dispatcher(chunks, workers=2), [0, 1])
    assert sum(len(c.points) for c in got[0]) == 64 and got[1] == []


def test_a_worker_takes_the_next_whole_array_when_it_frees_up() -> None:
    # Worker 0 is slow (asks once per three of worker 1's requests): each takes the next
    # array as its queue empties, so worker 1 runs four of the six and worker 0 two.
    points = grid(**{"array.rows": [4, 8, 16, 32, 64, 128], "sram.ifmap.size_kib": [32, 64]})
    dispatcher = Dispatcher(chunk_points(points, LAYERS, parallelism=2), workers=2)
    got = drain(dispatcher, [0, 1, 1, 1])
    rows = {w: [dict(p.values)["array.rows"] for c in cs for p in c.points] for w, cs in got.items()}
    assert set(rows[0]) == {4, 64} and set(rows[1]) == {8, 16, 32, 128}
    assert len(rows[0]) == 4  # no array was split: each is two cheap tilings


def test_analytic_chunks_keep_points_that_differ_in_shape_together() -> None:
    points = grid(network="mobilenet_v2", **{"array.dataflow": ["os", "ws"],
                  "array.rows": list(range(1, 51)), "sram.ifmap.size_kib": [32, 64]})  # fmt: skip
    chunks = chunk_points(points, LAYERS, parallelism=2, shared=False)
    assert sorted(p.index for c in chunks for p in c.points) == list(range(200))
    assert [len(c.points) for c in chunks] == [25] * 8  # 200 points / (4 per worker x 2)
    for chunk in chunks:  # one dataflow each: the rows and SRAM sizes vary inside a chunk
        assert len({dict(p.values)["array.dataflow"] for p in chunk.points}) == 1
    assert all(c.tiling_key is None and c.weight == 100 for c in chunks)


def test_a_worker_takes_the_array_most_like_its_last() -> None:
    # Eight arrays of equal estimate, one chunk each, asked for unevenly: in plan order the
    # ws worker would take an os array next; each takes the one most like its last instead,
    # so each keeps to one dataflow (arrays of one dataflow share part of their search).
    points = grid(**{"array.rows": [16, 64], "array.cols": [16, 64],
                     "array.dataflow": ["os", "ws"]})  # fmt: skip
    got = drain(Dispatcher(chunk_points(points, LAYERS, parallelism=2), workers=2), [1, 0, 0, 1])
    dataflows = {w: [dict(p.values)["array.dataflow"] for c in cs for p in c.points]
                 for w, cs in got.items()}  # fmt: skip
    assert dataflows == {1: ["os"] * 4, 0: ["ws"] * 4}
