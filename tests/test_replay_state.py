"""The pipeline's state: shifts, snapshots relative to their floor, and a spare set back to empty."""

from __future__ import annotations

import pytest
from conftest import chip_with

from accel.io.sources import load_network
from accel.mapping.mapper import map_layer
from accel.memory.model import model_memory
from accel.memory.replay import Timeline, replay_layer
from accel.memory.replay_channel import layout
from accel.memory.tile_schedule import Load, Schedule, Step
from accel.perf.timing import time_layer


def test_a_shift_moves_every_time_of_the_state_however_long_a_queue() -> None:
    timeline = Timeline.empty(chip_with(sram__weight__double_buffered=False))
    timeline.ready["ifmap"].extend([5, 9, 12])  # longer than a buffer's two halves: never
    timeline.channel_free, timeline.compute_end, timeline.last_write_end = 3, 4, 2
    timeline.shift(10)
    assert (timeline.channel_free, timeline.compute_end, timeline.last_write_end) == (13, 14, 12)
    assert [list(queue) for queue in timeline._queues] == [
        [15, 19, 22], [], [], [10, 10], [10], [10, 10]
    ]


def test_a_snapshot_clamps_times_before_its_floor() -> None:
    timeline = Timeline.empty(chip_with(sram__weight__double_buffered=False))
    timeline.channel_free, timeline.compute_end, timeline.last_write_end = 50, 40, 45
    timeline.ready["weight"].append(70)
    timeline.free_halves["ifmap"][0] = 30  # before the floor (40): it can delay nothing
    state, floor = timeline.snapshot()
    assert floor == 40
    # prefetch fields, queue lengths, channel, compute, write-back, then the queues' times
    assert state == (False, 0, 0, 1, 0, 2, 1, 2, 10, 0, 5, 30, 0, 0, 0, 0, 0)
    moved = Timeline.empty(chip_with(sram__weight__double_buffered=False))
    moved.restore(state, 1040)
    assert (moved.channel_free, moved.compute_end, moved.last_write_end) == (1050, 1040, 1045)
    assert list(moved.ready["weight"]) == [1070] and list(moved.free_halves["ifmap"]) == [1040] * 2


def test_a_cleared_timeline_is_an_empty_one() -> None:
    chip = chip_with(sram__weight__double_buffered=False)
    timeline = Timeline.empty(chip)
    timeline.run_layer(_schedule(chip), prefetch_next_bytes=4096)
    assert timeline.prefetched and timeline.snapshot() != Timeline.empty(chip).snapshot()
    timeline.log, timeline.compress, timeline.events_left = [], False, 3
    timeline.clear(layout(chip)[1])
    assert timeline.snapshot() == Timeline.empty(chip).snapshot()
    assert (timeline.log, timeline.compress, timeline.events_left) == (None, True, -1)


def test_replays_on_spare_timelines_end_where_fresh_ones_do() -> None:
    """`replay_layer` reuses a timeline per chip, set back to empty after each run (even a run
    that failed): one layer after another, each ends where a fresh timeline's run does."""
    chip = chip_with(dram__bandwidth_bytes_per_cycle=3.7)
    network = load_network("mobilenet_v2", {"resolution": 64})
    schedules = []
    for layer in network.layers:
        mapping = map_layer(layer, chip, 1)
        schedule = model_memory(mapping, time_layer(mapping, chip), chip).schedule
        if schedule is not None:
            schedules.append(schedule)
    broken = Schedule((Load("ifmap", 64),), (Step(10, ("ifmap", "ifmap"), True, ()),))
    with pytest.raises(IndexError):  # takes a second ifmap tile that was never loaded
        replay_layer(broken, chip)
    fresh = [Timeline.empty(chip).run_layer(schedule) for schedule in schedules]
    assert [replay_layer(schedule, chip) for schedule in schedules] == fresh
    assert len(layout(chip)[3]) == 1  # one spare, used by every replay in turn


def _schedule(chip: object) -> Schedule:
    """A layer of two weight tiles whose last step may prefetch the next layer's weights."""
    step = Step(100, ("ifmap", "weight"), True, ("ifmap", "weight"), writeback_bytes=256)
    first = step._replace(loads=(Load("ifmap", 512), Load("weight", 1024)))
    return Schedule((Load("ifmap", 512), Load("weight", 1024)),
                    (first, step._replace(prefetch_point=True)))  # fmt: skip
