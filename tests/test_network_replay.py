"""Layers back to back: a layer run again from a state it ran from before is not replayed."""

from __future__ import annotations

import pytest
from conftest import chip_with

from accel.config import ChipConfig
from accel.io.sources import load_network
from accel.memory.network_replay import clear_cache, replay_network
from accel.memory.replay import Timeline
from accel.memory.tile_schedule import Schedule
from accel.simulation import simulate_network


def _schedules(chip: ChipConfig) -> list[Schedule | None]:
    result = simulate_network(load_network("mobilenet_v2", {"resolution": 64}), chip)
    return [layer.memory.schedule for layer in result.layers]


@pytest.mark.parametrize(
    ("bandwidth", "latency", "prefetch"),
    [(16, 0, False), (3.7, 100, True), (1000, 7, True)],
)
def test_repeated_layers_end_where_replaying_them_event_by_event_does(
    bandwidth: float, latency: int, prefetch: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MobileNetV2's repeated blocks start the same layers in the same state, so the unlogged
    replay runs fewer layers than there are; the logged one runs every layer, event by event
    (no memo, no skipped periods), and ends each one at the same cycle."""
    chip = chip_with(dram__bandwidth_bytes_per_cycle=bandwidth, dram__latency_cycles=latency,
                     dram__prefetch_next_layer_weights=prefetch)  # fmt: skip
    schedules = _schedules(chip)
    runs = _counted_runs(monkeypatch)
    clear_cache()  # the runs kept from the simulation's own replay
    shares = replay_network(schedules, chip)
    present = sum(schedule is not None for schedule in schedules)
    assert 0 < len(runs) < present
    runs.clear()
    assert replay_network(schedules, chip, logs=[]) == shares
    assert len(runs) == present


def test_a_restored_state_runs_on_as_the_state_it_was_taken_from_shifted() -> None:
    chip = chip_with(dram__bandwidth_bytes_per_cycle=3.7, dram__latency_cycles=100)
    first, second = [schedule for schedule in _schedules(chip) if schedule is not None][3:5]
    timeline = Timeline.empty(chip)
    timeline.run_layer(first, second.first_weight_bytes)
    state, floor = timeline.snapshot()
    moved = Timeline.empty(chip)
    moved.restore(state, floor + 1000)
    assert moved.snapshot() == (state, floor + 1000)
    assert moved.run_layer(second) == timeline.run_layer(second) + 1000


def test_a_replay_on_the_same_channel_and_buffers_reuses_the_runs_an_earlier_one_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The runs outlive a replay: another chip object with the same DRAM channel and buffer
    halves (a sweep point that differs in SRAM sizes only) replays no layer again and gets the
    same shares; another bandwidth replays its own."""
    chip = chip_with(dram__bandwidth_bytes_per_cycle=3.7, dram__latency_cycles=100,
                     dram__prefetch_next_layer_weights=True)  # fmt: skip
    schedules = _schedules(chip)
    clear_cache()
    fresh = replay_network(schedules, chip)
    runs = _counted_runs(monkeypatch)
    again = chip_with(dram__bandwidth_bytes_per_cycle=3.7, dram__latency_cycles=100,
                      dram__prefetch_next_layer_weights=True, sram__ifmap__size_kib=512)  # fmt: skip
    assert again is not chip
    assert replay_network(schedules, again) == fresh
    assert runs == []
    faster = chip_with(dram__bandwidth_bytes_per_cycle=7.4, dram__latency_cycles=100,
                       dram__prefetch_next_layer_weights=True)  # fmt: skip
    shares = replay_network(schedules, faster)
    assert len(runs) > 0
    assert shares != fresh
    runs.clear()
    clear_cache()
    assert replay_network(schedules, faster) == shares


def _counted_runs(monkeypatch: pytest.MonkeyPatch) -> list[Schedule]:
    """The schedules `Timeline.run_layer` runs from now on (the test's end undoes it)."""
    runs: list[Schedule] = []
    run_layer = Timeline.run_layer

    def counted(timeline: Timeline, schedule: Schedule, next_bytes: int = 0) -> int:
        runs.append(schedule)
        return run_layer(timeline, schedule, next_bytes)

    monkeypatch.setattr(Timeline, "run_layer", counted)
    return runs
