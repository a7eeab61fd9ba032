"""A vector-unit layer's slices: the fastest slice count, found without replaying every one."""

from __future__ import annotations

import pytest
from conftest import chip_with
from hypothesis import event, given, settings
from hypothesis import strategies as st

from accel.config import ChipConfig, Operand
from accel.memory import vector
from accel.memory.replay import replay_layer
from accel.memory.tile_schedule import Schedule, stream_schedule

chips = st.builds(
    lambda bandwidth, burst, latency, single, size: chip_with(
        dram__bandwidth_bytes_per_cycle=bandwidth, dram__burst_bytes=burst,
        dram__latency_cycles=latency, sram__ofmap__double_buffered=not single,
        sram__ifmap__size_kib=size, sram__ofmap__size_kib=size,
    ),
    bandwidth=st.sampled_from([1, 2.7, 8, 16, 48.6]), burst=st.sampled_from([1, 32, 64]),
    latency=st.sampled_from([0, 7, 100]), single=st.booleans(),
    size=st.sampled_from([0.0625, 1, 8]),
)  # fmt: skip
tensors = st.tuples(st.integers(1, 200_000), st.integers(0, 5_000) | st.just(0),
                    st.integers(0, 200_000), st.integers(1, 300_000))  # fmt: skip


def _every_option(
    ifmap: int, weight: int, ofmap: int, compute: int, chip: ChipConfig
) -> list[tuple[int, int, Schedule]]:
    """Every slice count `fastest_stream` considers, replayed: (cycles, slices, schedule)."""
    sizes: dict[Operand, int] = {"ifmap": ifmap, "weight": weight, "ofmap": ofmap}
    fewest = vector.fewest_slices(sizes, chip)
    options = [fewest * 4**i for i in range(4) if fewest * 4**i <= min(ifmap, ofmap)] or [1]
    drain = min(chip.vector_unit.pipeline_latency_cycles, compute)
    runs = []
    for chunks in options:
        schedule = stream_schedule(sizes, compute, drain, chunks)
        runs.append((replay_layer(schedule, chip), chunks, schedule))
    return runs


@settings(max_examples=150, deadline=None)
@given(chip=chips, tensors=tensors)
def test_the_fastest_slices_are_the_best_of_replaying_every_count(
    chip: ChipConfig, tensors: tuple[int, int, int, int]
) -> None:
    """Slice counts whose bound cannot beat the best so far are not replayed: the pick is the
    best of replaying them all (fewest cycles, then fewest slices), and every count's bound
    is at most its replay."""
    ifmap, weight, ofmap, compute = tensors
    sizes: dict[Operand, int] = {"ifmap": ifmap, "weight": weight, "ofmap": ofmap}
    runs = _every_option(ifmap, weight, ofmap, compute, chip)
    event(f"slice counts: {len(runs)}")
    for cycles, chunks, _ in runs:
        assert vector.stream_bound(sizes, compute, chunks, chip) <= cycles
    total, schedule = vector.fastest_stream(ifmap, weight, ofmap, compute, chip)
    best = min(runs, key=lambda run: run[:2])
    assert (total, schedule) == (best[0], best[2])


def test_a_memory_bound_stream_replays_fewer_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    """A layer whose slices wait on the channel: the bounds of more, smaller slices already
    lose to the fewest, which is then the only count replayed."""
    chip = chip_with(dram__bandwidth_bytes_per_cycle=1)
    replayed: list[int] = []

    def counting(schedule: Schedule, on: ChipConfig) -> int:
        replayed.append(schedule.step_count)
        return replay_layer(schedule, on)

    monkeypatch.setattr(vector, "replay_layer", counting)
    total, _ = vector.fastest_stream(400_000, 0, 400_000, 1_000, chip)
    runs = _every_option(400_000, 0, 400_000, 1_000, chip)
    assert len(runs) == 4 and total == min(runs, key=lambda run: run[:2])[0]
    assert replayed == [runs[0][2].step_count]
