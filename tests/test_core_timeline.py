"""The cores' event schedule against the simpy model of the same hardware, and by hand."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from accel.config import ChipConfig
from accel.memory.core_timeline import CoreTask, hops_between, hops_to_controller, run_cores
from accel.oracles.core_pipeline import simulate_cores


def _chip(cores: int, **noc: object) -> ChipConfig:
    return ChipConfig.from_dict({
        "cores": cores,
        "dram": {"bandwidth_bytes_per_cycle": 16, "latency_cycles": 100, "burst_bytes": 64},
        "noc": {"bandwidth_bytes_per_cycle": 32, "hop_latency_cycles": 2, **noc},
    })  # fmt: skip


def test_two_cores_share_the_channel_oldest_request_first_ties_to_the_lower_core() -> None:
    # Each core: load 16 B (one 64-byte burst: 4 cycles), compute 10, write 16 B back.
    tasks = [CoreTask(core, 0, 10, 16, 16) for core in (0, 1)]
    schedule = run_cores(tasks, 2, _chip(2))
    # core 0: load 0-4, lands 4 + 100 + 1 hop·2 = 106, computes 106-116, writes 116-120;
    # core 1 waits for the channel: load 4-8, lands 8 + 100 + 2 hops·2 = 112, computes
    # 112-122, writes 122-126.
    assert schedule.finishes == (120, 126)
    assert schedule.busy_cycles == (10, 10)
    assert schedule.channel_busy_cycles == 16
    assert simulate_cores(tasks, 2, _chip(2)) == ([120, 126], 16)


def test_a_task_waits_for_the_tasks_it_comes_after() -> None:
    tasks = [CoreTask(0, 0, 10, 16, 16), CoreTask(1, 1, 10, 0, 0, peer_bytes=64, peer_hops=1,
                                                  after=(0,))]  # fmt: skip
    schedule = run_cores(tasks, 2, _chip(2))
    # After core 0's 120: 64 B over one mesh link at 32 B/cycle (2 cycles), one hop (2).
    assert schedule.finishes == (120, 134)
    bus = _chip(2, topology="bus")
    assert list(run_cores(tasks, 2, bus).finishes) == simulate_cores(tasks, 2, bus)[0]


def test_mesh_hops() -> None:
    # 4 cores on a 2×2 mesh, the controller beside core 0; 5 cores on a 3-column grid.
    assert [hops_to_controller(core, 4, "mesh") for core in range(4)] == [1, 2, 2, 3]
    assert hops_between(0, 3, 4, "mesh") == 2
    assert hops_between(1, 3, 5, "mesh") == 2  # (0, 1) → (1, 0)
    assert hops_to_controller(3, 4, "bus") == hops_between(0, 3, 4, "bus") == 1


@st.composite
def _runs(draw: st.DrawFn) -> tuple[list[CoreTask], int, ChipConfig]:
    cores = draw(st.integers(1, 4))
    chip = ChipConfig.from_dict({
        "cores": cores,
        "dram": {"bandwidth_bytes_per_cycle": draw(st.sampled_from([1, 4, 16])),
                 "latency_cycles": draw(st.integers(0, 50)),
                 "burst_bytes": draw(st.sampled_from([1, 16, 64]))},
        "noc": {"topology": draw(st.sampled_from(["mesh", "bus"])),
                "bandwidth_bytes_per_cycle": draw(st.sampled_from([2, 8, 32])),
                "hop_latency_cycles": draw(st.integers(0, 5))},
    })  # fmt: skip
    tasks: list[CoreTask] = []
    previous: list[int] = []
    for layer in range(draw(st.integers(1, 5))):
        current = []
        for core in range(cores):
            if draw(st.booleans()) and previous:
                continue
            current.append(len(tasks))
            tasks.append(CoreTask(
                core, layer, draw(st.integers(0, 400)), draw(st.integers(0, 900)),
                draw(st.integers(0, 300)), draw(st.sampled_from([0, 0, 37, 300])),
                draw(st.integers(0, 3)), draw(st.integers(1, 5)), tuple(previous),
            ))  # fmt: skip
        previous = current or previous
    return tasks, cores, chip


@st.composite
def _band_runs(draw: st.DrawFn) -> tuple[list[CoreTask], int, ChipConfig]:
    """Tasks as a band pipeline makes them: numbered core by core, each after any earlier
    tasks, on its own core (bands of earlier layers) or on earlier cores (streamed bands)."""
    tasks, cores, chip = draw(_runs())
    count = len(tasks)
    order = sorted(range(count), key=lambda i: (tasks[i].core, i))
    banded = []
    for position, index in enumerate(order):
        after = draw(st.lists(st.integers(0, max(0, position - 1)), max_size=3, unique=True))
        task = tasks[index]
        banded.append(CoreTask(
            task.core, task.layer, task.compute_cycles, task.dram_read_bytes,
            task.dram_write_bytes, task.peer_bytes, task.peer_hops, task.chunks,
            tuple(sorted(after)) if position else (),
        ))  # fmt: skip
    return banded, cores, chip


@settings(max_examples=150, deadline=None)
@given(run=st.one_of(_runs(), _band_runs()))
def test_the_recurrence_equals_the_simpy_model(
    run: tuple[list[CoreTask], int, ChipConfig],
) -> None:
    tasks, cores, chip = run
    schedule = run_cores(tasks, cores, chip)
    finishes, channel_busy = simulate_cores(tasks, cores, chip)
    assert list(schedule.finishes) == finishes
    assert schedule.channel_busy_cycles == channel_busy
    assert sum(schedule.busy_cycles) == sum(task.compute_cycles for task in tasks)
