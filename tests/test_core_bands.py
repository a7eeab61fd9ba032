"""One image through pipelined stages in bands of rows: bands wait for the rows their windows
read, stream across cores, beat whole-image pipelining at batch 1 and never beat the slowest
stage's compute."""

from __future__ import annotations

from accel.config import ChipConfig
from accel.memory.core_bands import band_pipeline
from accel.memory.core_stages import image_pipeline, stages_of
from accel.memory.core_timeline import run_cores
from accel.memory.multicore import split_schedule
from accel.model.network import LayerEntry, Network
from accel.model.ops import Conv, Shape
from accel.oracles.core_pipeline import simulate_cores
from accel.simulation import simulate_network


def _chain(channels: int, count: int = 4, size: int = 56) -> Network:
    entries = [LayerEntry(f"conv{i}", Conv(kernel=3, padding=1, out_channels=channels))
               for i in range(count)]  # fmt: skip
    return Network.build("chain", Shape(channels, size, size), entries)


def _chip(cores: int = 2, bandwidth: float = 256.0, **fields: object) -> ChipConfig:
    return ChipConfig().with_values(
        {"cores": cores, "dram.bandwidth_bytes_per_cycle": bandwidth, **fields}
    )


def _stage_compute_bound(network: Network, chip: ChipConfig) -> int:
    """The slowest stage's compute: its layers' whole single-core compute cycles."""
    plan = stages_of(network, chip)
    whole = simulate_network(network, ChipConfig().with_values(
        {"dram.bandwidth_bytes_per_cycle": chip.dram.bandwidth_bytes_per_cycle}))  # fmt: skip
    per_stage = [0] * chip.core_count
    for layer in whole.layers:
        per_stage[plan.core_of[layer.mapping.layer.name]] += layer.timing.compute_cycles
    return max(per_stage)


def test_bands_beat_whole_image_pipelining_at_batch_1_and_never_the_slowest_stage() -> None:
    network, chip = _chain(64), _chip()
    bands = band_pipeline(network, chip)
    images = image_pipeline(network, chip, 1)
    bound = _stage_compute_bound(network, chip)
    assert bound == 225_978  # two 3×3 64→64 convs at 56×56 per core
    assert (bands.total_cycles, images.total_cycles) == (317_032, 455_182)
    assert bound < bands.total_cycles < images.total_cycles
    assert [plan.cut for plan in bands.layers] == ["bands"] * 4
    assert [len(plan.pieces) for plan in bands.layers] == [8] * 4
    # A narrow channel: still ahead of whole images, still above the slowest stage.
    narrow = _chip(bandwidth=16)
    assert (_stage_compute_bound(network, narrow) < band_pipeline(network, narrow).total_cycles
            < image_pipeline(network, narrow, 1).total_cycles)  # fmt: skip


def test_a_band_waits_for_the_bands_holding_the_rows_its_windows_read() -> None:
    run = band_pipeline(_chain(64), _chip())
    first = {(task.layer, task.core): index for index, task in reversed(list(enumerate(run.tasks)))}
    conv2 = run.tasks[first[(2, 1)]]
    # Band 0 of conv2 (output rows 0-6) reads conv1 rows 0-7: bands 0 (rows 0-6) and 1 (7-13),
    # both made on core 0 and sent over the NoC.
    producers = [run.tasks[index] for index in conv2.after]
    assert [(task.layer, task.core) for task in producers] == [(1, 0), (1, 0)]
    # Its 8 input rows (28,672 bytes) come over the NoC as its tiling fetches them (5×), not
    # from DRAM, which it reads only for the weights (and biases): the fastest tiling of the
    # band alone (M56 K288 N32) reads them more than once (37,120 bytes each pass).
    assert (conv2.peer_bytes, conv2.dram_read_bytes) == (143_360, 137_472)
    assert run.timeline.starts[first[(2, 1)]] >= max(run.timeline.finishes[i] for i in conv2.after)
    # The last stage's first band starts long before the first stage has finished.
    assert run.timeline.starts[first[(2, 1)]] < max(
        end for task, end in zip(run.tasks, run.timeline.finishes, strict=True) if task.core == 0)


def test_the_event_schedule_of_bands_equals_the_simpy_model() -> None:
    for chip in (_chip(), _chip(bandwidth=16, **{"noc.topology": "bus"})):
        run = band_pipeline(_chain(32, 3, 28), chip)
        finishes, channel_busy = simulate_cores(run.tasks, 2, chip)
        assert list(run.timeline.finishes) == finishes
        assert run.timeline.channel_busy_cycles == channel_busy
        assert run_cores(run.tasks, 2, chip) == run.timeline


def test_a_stage_whose_weights_fit_reads_them_once() -> None:
    network = _chain(32)  # 9,216 weight bytes per layer: a stage's two fit the 64 KiB buffer
    run = band_pipeline(network, _chip())
    for layer, plan in zip(network.layers, run.layers, strict=True):
        assert plan.total("weight_bytes") == layer.weight_bytes_at(1)
    heavy = band_pipeline(_chain(64), _chip())  # 2 × 36,864 + biases: more than 64 KiB
    assert heavy.layers[0].total("weight_bytes") == 8 * _chain(64).layers[0].weight_bytes_at(1)


def test_auto_tries_the_band_pipeline_at_batch_1_and_keeps_the_faster() -> None:
    network = _chain(64)
    for schedule in ("pipeline", "auto"):
        result = simulate_network(network, _chip(core_schedule=schedule))
        rows = result.rows()
        assert sum(row["total_cycles"] for row in rows) == result.total_cycles
        if schedule == "pipeline":
            assert result.summary()["cores"]["schedule"] == "pipeline"
            assert result.total_cycles == 317_032
            assert [row["cores_cut"] for row in rows] == ["bands"] * 4
            # a row's compute is its bands' on their core, in sum
            run = result.core_run
            assert run is not None
            assert rows[0]["compute_cycles"] == sum(
                task.compute_cycles for task in run.tasks if task.layer == 0)
    split = split_schedule(network, _chip()).total_cycles
    auto = simulate_network(network, _chip())
    assert split == 229_056 and auto.total_cycles == split  # both cores on every layer wins
    # 4 cores on a 16-byte channel: split cuts make every core read the whole ifmap or every
    # weight; the bands stream over the NoC instead, and auto keeps them.
    narrow = _chip(4, 16)
    four = simulate_network(network, narrow)
    assert split_schedule(network, narrow).total_cycles == 287_168
    assert four.total_cycles == 213_566
    assert four.summary()["cores"]["schedule"] == "pipeline"
    assert {row["cores_cut"] for row in four.rows()} == {"bands"}
