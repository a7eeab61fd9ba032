"""The closed-form replay against the simpy model, its exact skip of repeated runs, and chaining."""

from __future__ import annotations

import hashlib

import pytest
from conftest import chip_with, chips, layers, single_layer, streaming_chips
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from nest_cases import PINNED_CHIPS, pinned_nests, smaller_nest

from accel.config import ChipConfig
from accel.errors import InputError
from accel.io.sources import load_network
from accel.mapping.mapper import map_layer
from accel.memory import replay as replay_module
from accel.memory import vector
from accel.memory.model import MemoryTraffic, model_memory
from accel.memory.network_replay import replay_network
from accel.memory.replay import Timeline, replay_layer, transfer_cycles
from accel.memory.tile_schedule import Repeat
from accel.model.network import Layer, LayerEntry, Network
from accel.model.ops import FullyConnected, Shape
from accel.oracles.pipeline import replay_pipeline
from accel.perf.timing import time_layer


def _memory(layer: Layer, chip: ChipConfig, batch: int = 1) -> MemoryTraffic:
    mapping = map_layer(layer, chip, batch)
    return model_memory(mapping, time_layer(mapping, chip), chip)


@settings(max_examples=60, deadline=None)
@given(
    layer=layers,
    chip=chips | streaming_chips,
    latency=st.sampled_from([0, 7, 100]),
    burst=st.sampled_from([1, 16, 64]),
    single_weight=st.booleans(),
)
def test_replay_matches_simpy_event_for_event(
    layer: Layer, chip: ChipConfig, latency: int, burst: int, single_weight: bool
) -> None:
    weight = "weight" if chip.sram.weight is not None else "unified"
    chip = chip.with_values(
        {
            "dram.latency_cycles": latency,
            "dram.burst_bytes": burst,
            f"sram.{weight}.double_buffered": not single_weight,
        }
    )
    try:
        memory = _memory(layer, chip)
    except InputError:
        return
    assert memory.schedule is not None
    if memory.schedule.step_count > 3000:
        return  # keep simpy runs short
    timeline = Timeline.empty(chip, compress=False, log=[])
    end = timeline.run_layer(memory.schedule)
    simpy_run = replay_pipeline(memory.schedule, chip)
    assert timeline.log is not None
    assert sorted(timeline.log) == simpy_run.log
    assert end == simpy_run.total_cycles == replay_layer(memory.schedule, chip)


def test_skipping_repeated_runs_is_exact_on_whole_networks() -> None:
    chip = chip_with(array__dataflow="is", array__fold_overlap=True, dram__bandwidth_bytes_per_cycle=6)
    for name in ("mobilenet_v2", "resnet18"):
        for layer in load_network(name).layers:
            schedule = _memory(layer, chip).schedule
            if schedule is None:
                continue
            full = Timeline.empty(chip, compress=False).run_layer(schedule)
            assert replay_layer(schedule, chip) == full, layer.name


def test_repeats_compress_thousands_of_tiles_into_a_small_tree() -> None:
    chip = chip_with(sram__ofmap__size_kib=4)
    layer = load_network("vgg16").layer("conv1_2")
    schedule = _memory(layer, chip).schedule
    assert schedule is not None
    assert schedule.step_count > 5000
    assert schedule.node_count < 100
    assert any(isinstance(node, Repeat) and node.count > 100 for node in schedule.body)


def _two_fc(prefetch: bool) -> tuple[list[int], list[MemoryTraffic], ChipConfig]:
    chip = chip_with(dram__prefetch_next_layer_weights=prefetch)
    network = Network.build(
        "two",
        Shape(64, 1, 1),
        [LayerEntry("fc1", FullyConnected(out_features=64)),
         LayerEntry("fc2", FullyConnected(out_features=64))],
    )
    memories = [_memory(layer, chip) for layer in network.layers]
    return replay_network([m.schedule for m in memories], chip), memories, chip


def test_without_prefetch_layers_run_as_if_alone() -> None:
    shares, memories, chip = _two_fc(prefetch=False)
    alone = [replay_layer(m.schedule, chip) for m in memories if m.schedule is not None]
    assert shares == alone


def test_prefetching_the_next_weights_hides_their_transfer() -> None:
    shares, memories, chip = _two_fc(prefetch=True)
    without, _, _ = _two_fc(prefetch=False)
    # fc2 loads its 64·64 + 64·4 weight bytes in two N-tiles of 32 outputs (the second loads
    # while the first computes); the first, 64·32 + 32·4 = 2176 bytes (136 cycles at
    # 16 B/cycle), loads during fc1, and fc2's share shrinks by exactly its transfer.
    schedule = memories[1].schedule
    assert schedule is not None and schedule.first_weight_bytes == 2176
    assert transfer_cycles(2176, chip.dram) == 136
    assert without[1] - shares[1] == 136
    # fc1's last write-back waits behind the prefetch on the one channel.
    assert shares[0] - without[0] == 6


def test_layers_that_move_nothing_take_no_share() -> None:
    chip = ChipConfig()
    fc = _memory(single_layer(FullyConnected(out_features=8), 8, 1), chip)
    assert replay_network([fc.schedule, None, fc.schedule], chip)[1] == 0


def test_a_timeline_too_long_to_write_is_refused_by_its_step_count() -> None:
    from accel.memory.network_replay import trace_events
    from accel.simulation import simulate_network

    result = simulate_network(load_network("lenet5"), ChipConfig())
    names = [layer.name for layer in result.layers]
    schedules = [layer.memory.schedule for layer in result.layers]
    steps = sum(schedule.step_count for schedule in schedules if schedule is not None)
    assert len(trace_events(names, schedules, ChipConfig(), limit=steps)["traceEvents"]) > steps
    with pytest.raises(InputError, match=f"--timeline would hold {steps:,} tile steps"):
        trace_events(names, schedules, ChipConfig(), limit=steps - 1)


def test_watching_a_few_layers_logs_the_same_events_as_watching_all() -> None:
    from accel.simulation import simulate_network

    chip = chip_with(dram__prefetch_next_layer_weights=True)
    result = simulate_network(load_network("mobilenet_v2", {"resolution": 64}), chip)
    schedules = [layer.memory.schedule for layer in result.layers]
    everything: list[list[tuple[int, int, str, str]]] = []
    shares = replay_network(schedules, chip, everything)
    present = [i for i, schedule in enumerate(schedules) if schedule is not None]
    window = range(20, 24)
    some: list[list[tuple[int, int, str, str]]] = []
    assert replay_network(schedules, chip, some, window) == shares
    assert some == [everything[present.index(i)] for i in window if schedules[i] is not None]
    capped: list[list[tuple[int, int, str, str]]] = []
    assert replay_network(schedules, chip, capped, window, max_events=50) == shares
    flat = [event for log in some for event in log]
    assert len(flat) > 50 and [event for log in capped for event in log] == flat[:50]


@settings(max_examples=60, deadline=None)
@given(
    layer=layers, chip=chips | streaming_chips,
    cuts=st.tuples(st.integers(1, 6), st.integers(1, 6), st.integers(1, 6)),
    order=st.sampled_from(["mkn", "mnk", "kmn", "knm", "nmk", "nkm"]),
    bandwidth=st.sampled_from([1, 3.7, 16, 1000]), latency=st.sampled_from([0, 7, 100]),
)  # fmt: skip
def test_the_fast_replay_is_the_plain_one_event_for_event(
    layer: Layer, chip: ChipConfig, cuts: tuple[int, int, int], order: str,
    bandwidth: float, latency: int,
) -> None:  # fmt: skip
    """`play` (unlogged, periods skipped or not) ends where the logged step-by-step replay
    does, on schedules of smaller tiles in any loop order: deep nests of nested repeats."""
    chip = chip.with_values(
        {"dram.bandwidth_bytes_per_cycle": bandwidth, "dram.latency_cycles": latency}
    )
    nest = smaller_nest(layer, chip, 1, cuts, order)
    if nest is None:
        return
    schedule = nest.schedule()
    assume(schedule.step_count <= 5000)
    plain = Timeline.empty(chip, compress=False, log=[])
    end = plain.run_layer(schedule)
    assert plain.log is not None and len(plain.log) >= schedule.step_count
    assert Timeline.empty(chip, compress=False).run_layer(schedule) == end
    assert replay_layer(schedule, chip) == end


def test_replays_on_other_channels_share_no_transfer_cycles_by_mistake() -> None:
    """Replays keep each channel's transfer cycles (and vector layers their slices'
    schedules) for the next on the same channel: replaying at three bandwidths in turn, then
    again, gives each bandwidth's cycles as a replay with nothing kept."""
    layer = single_layer(FullyConnected(out_features=96), 300, 1)
    chips_by_bandwidth = [chip_with(dram__bandwidth_bytes_per_cycle=b) for b in (3, 8, 24.5)]
    schedule = _memory(layer, chips_by_bandwidth[0]).schedule
    assert schedule is not None
    kept = [replay_layer(schedule, chip) for chip in chips_by_bandwidth * 2]
    kept_streams = [vector.fastest_stream(5000, 0, 4000, 900, chip)[0]
                    for chip in chips_by_bandwidth]  # fmt: skip
    fresh, fresh_streams = [], []
    for chip in chips_by_bandwidth:
        replay_module.clear_cache()
        vector.clear_cache()
        fresh.append(replay_layer(schedule, chip))
        fresh_streams.append(vector.fastest_stream(5000, 0, 4000, 900, chip)[0])
    assert kept == fresh * 2 and kept_streams == fresh_streams
    assert len(set(fresh)) == 3 and len(set(fresh_streams)) == 3


DRAM_TIMINGS = ((3.7, 0), (16, 100), (1000, 7))  # (bytes/cycle, latency cycles)


@pytest.mark.filterwarnings("ignore:Using `assume` outside")  # smaller_nest's, always true here
def test_the_replays_of_small_networks_are_pinned() -> None:
    """The replayed cycles of the schedules `test_loop_nest` pins, on three DRAM channels,
    alone and back to back with the next layer's weights prefetched, as a digest: a faster
    replay must end every layer at the same cycle. Recorded at 2a8ea8f."""
    digest = hashlib.sha256()
    for chip_name, values in PINNED_CHIPS.items():
        for bandwidth, latency in DRAM_TIMINGS:
            chip = chip_with(**values, dram__bandwidth_bytes_per_cycle=bandwidth,
                             dram__latency_cycles=latency)  # fmt: skip
            schedules = [nest.schedule() for _, _, nest in pinned_nests(chip)]
            ends = [replay_layer(schedule, chip) for schedule in schedules]
            shares = replay_network(schedules, chip)
            digest.update(f"{chip_name} {bandwidth} {latency} {ends} {shares}".encode())
    assert digest.hexdigest()[:16] == "c71cf2327b7ee3ba"
