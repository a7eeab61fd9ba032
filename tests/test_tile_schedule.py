"""Compressed step sequences: runs of a repeated period, and vector-unit streams."""

from __future__ import annotations

from accel.memory.tile_schedule import Repeat, compress, stream_schedule


def test_compress_finds_runs_of_single_items_and_of_periods() -> None:
    assert compress(list("abbbbbcd")) == [(1, ("a",)), (5, ("b",)), (1, ("c",)), (1, ("d",))]
    assert compress(list("xabcabcabcy")) == [(1, ("x",)), (3, ("a", "b", "c")), (1, ("y",))]
    assert compress([]) == []
    assert compress(list("ab")) == [(1, ("a",)), (1, ("b",))]


def test_stream_schedule_splits_tensors_evenly_and_drains_at_the_end() -> None:
    schedule = stream_schedule({"ifmap": 1003, "ofmap": 250}, 400, 4, 10)
    steps = list(schedule.steps())
    assert len(steps) == schedule.step_count == 10
    loaded = sum(load.bytes for load in schedule.prologue) + sum(
        load.bytes for step in steps for load in step.loads
    )
    assert loaded == 1003
    assert sum(step.writeback_bytes for step in steps) == 250
    # 396 busy cycles in 10 near-equal shares, then the 4-cycle drain.
    assert [step.compute_cycles for step in steps] == [40] * 6 + [39] * 3 + [39 + 4]
    assert schedule.prefetch_at_start  # no weights: the next layer's may load right away


def test_long_streams_stay_small() -> None:
    schedule = stream_schedule({"ifmap": 10**7 + 3, "weight": 999, "ofmap": 10**6}, 10**6, 8, 10**5)
    assert schedule.step_count == 10**5
    assert schedule.node_count < 20
    assert any(isinstance(node, Repeat) for node in schedule.body)
    assert sum(step.prefetch_point for step in schedule.steps()) == 1
