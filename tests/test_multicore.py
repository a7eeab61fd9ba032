"""Multi-core chips: one core is today's chip exactly, layers cut without losing work, more
cores run faster but never more than their count, and a narrow DRAM channel caps the speed-up."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from conftest import chips, layers, run_accel
from hypothesis import given, settings
from hypothesis import strategies as st

from accel.config import ChipConfig
from accel.errors import InputError
from accel.io.sources import load_network, zoo_names
from accel.memory.core_outputs import network_compulsory_bytes
from accel.memory.core_split import split_layer
from accel.memory.core_stages import balanced_stages
from accel.memory.multicore import pipeline_schedule, split_schedule
from accel.model.network import Layer, LayerEntry, Network
from accel.model.ops import Activation
from accel.report.run_report import build_run_report
from accel.simulation import simulate_network, simulate_training
from accel.sweep.executors import SerialExecutor
from accel.sweep.plan import load_plan
from accel.sweep.runner import run_sweep

ROOT = Path(__file__).resolve().parents[1]


def _wide(cores: int, bandwidth: float = 256.0, **fields: object) -> ChipConfig:
    return ChipConfig().with_values(
        {"cores": cores, "dram.bandwidth_bytes_per_cycle": bandwidth, **fields}
    )


@pytest.mark.parametrize("name", zoo_names())
def test_one_core_is_the_single_core_chip_exactly(name: str) -> None:
    network = load_network(name)
    single = simulate_network(network, ChipConfig())
    for cores in (1, [{}]):
        one = simulate_network(network, ChipConfig.from_dict({"cores": cores}))
        assert one.rows() == single.rows()
        summary = one.summary()
        assert "cores" not in summary
        assert summary == single.summary()


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2", "googlenet"])
def test_a_cut_keeps_every_mac_and_every_output(name: str) -> None:
    for layer in load_network(name).layers:
        for cut in ("channels", "rows"):
            pieces = split_layer(layer, 4, cut)
            if pieces is None:
                continue
            assert 2 <= len(pieces) <= 4
            assert sum(piece.output_shape.elements for piece in pieces) == (
                layer.output_shape.elements
            )
            if layer.uses_array:
                assert sum(piece.macs for piece in pieces) == layer.macs


def test_row_bands_read_their_halo() -> None:
    layer = load_network("resnet18").layer("layer1.0.conv1")  # 3×3, stride 1, pad 1, 56 rows
    pieces = split_layer(layer, 4, "rows")
    assert pieces is not None
    assert [piece.output_shape.height for piece in pieces] == [14] * 4
    # The first band reads rows 0-14 (one halo row below), inner bands one halo row each side.
    assert [piece.input_shapes[0].height for piece in pieces] == [15, 16, 16, 15]


@pytest.mark.parametrize("name", ["resnet18", "vgg16", "mobilenet_v2"])
def test_four_cores_are_faster_than_one_and_never_four_times_faster(name: str) -> None:
    network = load_network(name)
    one = simulate_network(network, _wide(1)).total_cycles
    four = simulate_network(network, _wide(4)).total_cycles
    assert one < 4 * four
    assert four < one
    if name == "resnet18":
        assert one / four > 3.5  # a compute-bound network on a wide channel: near 4×


def test_a_narrow_channel_caps_the_speed_up_in_the_shipped_sweep(tmp_path: Path) -> None:
    plan = load_plan(ROOT / "configs" / "sweeps" / "cores_bandwidth.yaml")
    run_sweep(plan, tmp_path / "sweep", SerialExecutor())
    rows = list(csv.DictReader((tmp_path / "sweep" / "results.csv").open(encoding="utf-8")))
    cycles = {(int(row["cores"]), float(row["dram.bandwidth_bytes_per_cycle"])):
              int(row["total_cycles"]) for row in rows}  # fmt: skip
    speed_up = {key: cycles[(1, key[1])] / value for key, value in cycles.items()}
    assert speed_up[(4, 1024.0)] > 3.8  # compute-bound: the cores are the limit
    assert speed_up[(4, 64.0)] < speed_up[(4, 256.0)] < speed_up[(4, 1024.0)]
    assert speed_up[(4, 4.0)] < 1.05  # the shared channel is: more cores buy nothing
    assert all(value <= 4 for value in speed_up.values())


def test_the_summary_has_a_cores_block_and_rows_say_how_each_layer_was_cut() -> None:
    network = load_network("resnet18")
    result = simulate_network(network, _wide(4))
    cores = result.summary()["cores"]
    assert cores["count"] == 4 and cores["schedule"] == "split"
    assert [core["core"] for core in cores["per_core"]] == [0, 1, 2, 3]
    busy = sum(core["busy_cycles"] for core in cores["per_core"])
    assert busy >= sum(layer.timing.compute_cycles for layer in result.layers)
    assert all(0 < core["utilization"] <= 1 for core in cores["per_core"])
    assert cores["compulsory_dram_bytes"] == network_compulsory_bytes(network, 1, 1)
    # 150,528 input + 11,689,512 weights (+ int32 biases) + 1,000 outputs, each once
    assert cores["compulsory_dram_bytes"] == 150_528 + 11_702_112 + 1_000
    assert cores["dram_bytes"] >= cores["compulsory_dram_bytes"]
    assert cores["dram_bytes"] == result.summary()["dram_read_bytes"] + (
        result.summary()["dram_write_bytes"])
    rows = result.rows()
    assert {row["cores_cut"] for row in rows} <= {"channels", "rows", "spread", "whole"}
    assert rows[0]["cores_used"] == 4
    assert sum(row["total_cycles"] for row in rows) == result.total_cycles


def test_a_global_buffer_fetches_the_shared_operand_once() -> None:
    network = load_network("resnet18")
    plain = split_schedule(network, _wide(4))
    shared = split_schedule(network, _wide(4, global_buffer={"size_kib": 4096}))
    dram = [sum(t.dram_read_bytes for t in run.tasks) for run in (plain, shared)]
    assert dram[1] < dram[0]
    assert sum(t.peer_bytes for t in shared.tasks) > 0 == sum(t.peer_bytes for t in plain.tasks)


def test_pipelined_stages_stream_activations_between_cores() -> None:
    network = load_network("resnet18")
    chip = _wide(4, core_schedule="pipeline")
    run = pipeline_schedule(network, chip, batch=4)
    assert run.schedule == "pipeline"
    stages = {task.core for task in run.tasks}
    assert stages == {0, 1, 2, 3}
    assert sum(task.peer_bytes for task in run.tasks) > 0
    one = simulate_network(network, _wide(1), batch=4).total_cycles
    assert one / 4 < run.total_cycles < one
    # auto keeps the faster of the two schedules
    auto = simulate_network(network, _wide(4), batch=4).summary()["cores"]
    split = split_schedule(network, _wide(4), batch=4).total_cycles
    assert simulate_network(network, _wide(4), batch=4).total_cycles == min(
        split, run.total_cycles)
    assert auto["schedule"] == ("pipeline" if run.total_cycles < split else "split")


def test_stages_balance_the_largest_stage() -> None:
    assert balanced_stages([5, 1, 1, 1, 5], 3) == [0, 1, 1, 1, 2]
    assert balanced_stages([1, 2, 3], 5) == [0, 1, 2]


def test_cores_may_differ() -> None:
    chip = ChipConfig.from_dict({"cores": [{}, {"array": {"rows": 16, "cols": 16}}]})
    assert [core.array.rows for core in chip.core_chips()] == [32, 16]
    result = simulate_network(load_network("lenet5"), chip)
    assert [core["array"] for core in result.summary()["cores"]["per_core"]] == ["32x32", "16x16"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ("cores: 0", "cores must be a count from 1 to 4096 or a non-empty list, not 0"),
        ("cores: []", "cores must be a count from 1 to 4096 or a non-empty list, not \\[\\]"),
        ("noc: {bandwidth_bytes_per_cycle: -1}", "noc.bandwidth_bytes_per_cycle must be > 0"),
        ("noc: {hop_latency_cycles: -2}", "noc.hop_latency_cycles must be >= 0"),
        ("noc: {topology: ring}", "noc.topology must be"),
        ("core_schedule: fused", "core_schedule must be"),
        ("cores: 2\nmemory: {fusion: auto}", "memory.activation_residency and memory.fusion "
         "are single-core schedules: they need cores: 1, not 2"),
        ("cores: 4\nmemory: {activation_residency: 'on'}", "need cores: 1, not 4"),
    ],
)
def test_bad_multicore_fields_are_one_line_errors(
    tmp_path: Path, fields: str, message: str
) -> None:
    chip = tmp_path / "chip.yaml"
    chip.write_text(fields + "\n", encoding="utf-8")
    done = run_accel("simulate-network", "-n", "lenet5", "-c", str(chip), "--out",
                     str(tmp_path / "out"))  # fmt: skip
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert re.search(message, done.stderr)


def test_the_run_report_draws_a_track_per_core(tmp_path: Path) -> None:
    result = simulate_network(load_network("lenet5"), _wide(2))
    html = build_run_report(tmp_path, result)
    assert "2 cores, split schedule" in html
    assert html.count(">core 0<") == html.count(">core 1<") == 1
    assert f"pieces on 2 cores, {result.total_cycles:,} cycles" in html


def test_the_trace_file_has_a_track_per_core_and_a_span_per_piece(tmp_path: Path) -> None:
    chip = tmp_path / "chip.yaml"
    chip.write_text("cores: 2\n", encoding="utf-8")
    trace = tmp_path / "trace.json"
    done = run_accel("simulate-network", "-n", "lenet5", "-c", str(chip), "--out",
                     str(tmp_path / "out"), "-q", "--timeline", str(trace))  # fmt: skip
    assert done.returncode == 0, done.stderr
    events = json.loads(trace.read_text(encoding="utf-8"))["traceEvents"]
    assert [e["args"]["name"] for e in events if e["ph"] == "M"] == ["core 0", "core 1"]
    spans = [e for e in events if e["ph"] == "X"]
    run = split_schedule(load_network("lenet5"), ChipConfig(cores=2))
    assert len(spans) == len(run.tasks)
    assert max(e["args"]["cycles"] + e["ts"] * 1000 for e in spans) == pytest.approx(
        run.total_cycles)


@settings(max_examples=40, deadline=None)
@given(layer=layers, chip=chips, cores=st.integers(2, 4), topology=st.sampled_from(["mesh", "bus"]),
       batch=st.integers(1, 3))  # fmt: skip
def test_a_schedule_is_bounded_by_its_work_and_its_channel(
    layer: Layer, chip: ChipConfig, cores: int, topology: str, batch: int
) -> None:
    network = Network.build("two", layer.input_shapes[0],
                            [LayerEntry("first", layer.op), LayerEntry("relu", Activation(
                                function="relu"))])  # fmt: skip
    chip = chip.with_values({"cores": cores, "noc.topology": topology})
    result = simulate_network(network, chip, batch)
    block = result.summary()["cores"]
    run = result.core_run
    assert run is not None
    # No core is busier than the run; the shared channel never holds more than the run.
    assert max(core["busy_cycles"] for core in block["per_core"]) <= result.total_cycles
    assert block["dram_channel_busy_cycles"] <= result.total_cycles
    # DRAM traffic is at least the network's compulsory bytes; the rows sum to the block.
    assert block["compulsory_dram_bytes"] <= block["dram_bytes"]
    summary = result.summary()
    assert summary["dram_read_bytes"] + summary["dram_write_bytes"] == block["dram_bytes"]
    assert sum(core["macs"] for core in block["per_core"]) == network.macs * batch
    assert sum(row["total_cycles"] for row in result.rows()) == result.total_cycles


def test_a_training_step_runs_on_one_core() -> None:
    with pytest.raises(InputError, match="cores must be 1 for --training, not 2"):
        simulate_training(load_network("lenet5"), ChipConfig(cores=2))
