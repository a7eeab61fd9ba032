"""The simpy DMA / compute / write-back pipeline: exact timelines on small schedules."""

from __future__ import annotations

import itertools
import math

from conftest import chip_with, single_layer

from accel.mapping.mapper import map_layer
from accel.memory.model import model_memory
from accel.memory.tile_schedule import Load, Schedule, Step, stream_schedule
from accel.model.ops import Conv, FullyConnected
from accel.oracles.pipeline import replay_pipeline
from accel.perf.timing import time_layer


def test_double_buffering_loads_the_next_slice_while_computing() -> None:
    # Two slices of 32 B in, 16 B out, 10 cycles each; 16 B/cycle, 10 cycles of latency.
    chip = chip_with(
        dram__bandwidth_bytes_per_cycle=16, dram__latency_cycles=10, dram__burst_bytes=16
    )
    schedule = stream_schedule({"ifmap": 64, "ofmap": 32}, 20, 0, 2)
    run = replay_pipeline(schedule, chip)
    assert run.log == [
        (0, 2, "dma_load", "ifmap"),  # slice 0 on the bus; lands at 12
        (2, 4, "dma_load", "ifmap"),  # slice 1 right behind it, into the other half
        (12, 22, "compute", ""),
        (22, 23, "writeback", "ofmap"),
        (22, 32, "compute", ""),  # slice 1 arrived at 14: no wait
        (32, 33, "writeback", "ofmap"),
    ]
    assert run.total_cycles == 33


def test_a_single_buffer_waits_for_compute_to_free_it() -> None:
    chip = chip_with(
        dram__bandwidth_bytes_per_cycle=16,
        dram__latency_cycles=5,
        dram__burst_bytes=16,
        sram__ifmap__double_buffered=False,
    )
    schedule = stream_schedule({"ifmap": 48, "ofmap": 48}, 30, 0, 3)
    run = replay_pipeline(schedule, chip)
    assert run.log == [
        (0, 1, "dma_load", "ifmap"),
        (6, 16, "compute", ""),
        (16, 17, "dma_load", "ifmap"),  # the only ifmap half is free once slice 0 computed
        (17, 18, "writeback", "ofmap"),
        (22, 32, "compute", ""),  # waits for slice 1: 17 + 5 cycles of latency
        (32, 33, "dma_load", "ifmap"),
        (33, 34, "writeback", "ofmap"),
        (38, 48, "compute", ""),
        (48, 49, "writeback", "ofmap"),
    ]
    assert run.total_cycles == 49


def test_partial_sums_are_read_back_before_the_visit_that_adds_to_them() -> None:
    # One output tile visited twice: the first visit spills 64 B of int32 partial sums, the
    # second reads them back (into a fresh ofmap half) and writes the final 16 B.
    first = Step(10, ("ifmap", "weight"), True, ("ifmap", "weight"),
                 loads=(Load("ifmap", 32), Load("weight", 32), Load("psum", 64)),
                 writeback_bytes=64)
    second = Step(10, ("ifmap", "weight", "psum"), False, ("ifmap", "weight"), writeback_bytes=16)
    schedule = Schedule((Load("ifmap", 32), Load("weight", 32)), (first, second))
    chip = chip_with(dram__bandwidth_bytes_per_cycle=16, dram__latency_cycles=0, dram__burst_bytes=16)
    run = replay_pipeline(schedule, chip)
    assert run.log == [
        (0, 2, "dma_load", "ifmap"),
        (2, 4, "dma_load", "weight"),
        (4, 6, "dma_load", "ifmap"),
        (4, 14, "compute", ""),
        (6, 8, "dma_load", "weight"),
        (8, 12, "dma_load", "psum"),  # ring order: this read is queued before the spill
        (14, 18, "writeback", "ofmap"),
        (14, 24, "compute", ""),
        (24, 25, "writeback", "ofmap"),
    ]


def test_unlimited_bandwidth_leaves_only_compute() -> None:
    chip = chip_with(
        array__rows=4, array__cols=4, sram__ifmap__size_kib=0.5, sram__ofmap__size_kib=0.5,
        dram__bandwidth_bytes_per_cycle=math.inf, dram__latency_cycles=0,
    )
    layer = single_layer(Conv(kernel=3, padding=1, out_channels=8), 8, 8)
    mapping = map_layer(layer, chip)
    timing = time_layer(mapping, chip)
    memory = model_memory(mapping, timing, chip)
    assert memory.schedule is not None and memory.tile_steps > 1
    run = replay_pipeline(memory.schedule, chip)
    assert run.total_cycles == timing.compute_cycles
    computes = [entry for entry in run.log if entry[2] == "compute"]
    assert all(a[1] == b[0] for a, b in itertools.pairwise(computes))  # no gaps


def test_a_weight_stream_keeps_the_channel_busy() -> None:
    # FC 512 → 256 at batch 1 on a 16×16 array with overlapped folds: 131 KB of weights at
    # 4 B/cycle dwarf 8k cycles of compute; the replay ends when the last bytes arrive.
    chip = chip_with(
        array__rows=16, array__cols=16, array__fold_overlap=True,
        dram__bandwidth_bytes_per_cycle=4, dram__latency_cycles=20,
    )
    layer = single_layer(FullyConnected(out_features=256), 512, 1)
    mapping = map_layer(layer, chip)
    timing = time_layer(mapping, chip)
    memory = model_memory(mapping, timing, chip)
    assert memory.schedule is not None
    run = replay_pipeline(memory.schedule, chip)
    busy = sum(end - start for start, end, actor, _ in run.log if actor != "compute")
    assert busy >= memory.dram_bytes / 4
    assert run.total_cycles == timing.compute_cycles + memory.stall_cycles
    assert busy > 3 * timing.compute_cycles
    # The channel never idles for long: only the first tile's wait and the last tile's compute.
    assert run.total_cycles < busy * 1.05
