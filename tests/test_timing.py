"""Analytic timing: SCALE-Sim 3.0.0 agreement (golden data) and the fold-overlap schedule."""

from __future__ import annotations

import csv
import math
from functools import cache
from pathlib import Path

import pytest

from accel.config import ArrayConfig, ChipConfig, VectorUnitConfig
from accel.io.scalesim import load_scalesim_config, load_topology
from accel.io.sources import load_chip, load_network, zoo_names
from accel.mapping.array import ArrayMapping
from accel.mapping.mapper import map_layer
from accel.model.network import LayerEntry, Network
from accel.model.ops import Add, Conv, Shape
from accel.model.pool_ops import GlobalAvgPool, MaxPool
from accel.perf.timing import (
    array_compute_cycles,
    fold_cycles,
    fold_period,
    time_layer,
    vector_cycles,
)
from accel.simulation import simulate_network

DATA = Path(__file__).resolve().parent / "data"
GOLDEN = DATA / "scalesim_golden.csv"


def _golden_rows() -> list[dict[str, str]]:
    with GOLDEN.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@cache
def _chip(cfg_file: str) -> ChipConfig:
    return load_scalesim_config(DATA / "scalesim" / cfg_file)


@cache
def _network(topology_file: str) -> Network:
    return load_topology(DATA / "scalesim" / topology_file)


@pytest.mark.parametrize(
    "row", _golden_rows(), ids=lambda row: f"{row['case']}-{row['layer_name']}"
)
def test_agrees_with_scalesim(row: dict[str, str]) -> None:
    """Compute cycles, SRAM reads and mapping efficiency equal SCALE-Sim 3.0.0's reports.

    Regenerate the data with `.venv-scalesim/bin/python tools/scalesim_golden.py`.
    """
    chip = _chip(row["cfg_file"])
    layer = _network(row["topology_file"]).layers[int(row["layer_id"])]
    assert layer.name == row["layer_name"]
    mapping = map_layer(layer, chip)
    timing = time_layer(mapping, chip)
    array = mapping.array
    assert array is not None
    assert (array.m, array.n, array.k) == (int(row["m"]), int(row["n"]), int(row["k"]))
    assert timing.compute_cycles == int(row["compute_cycles"])
    assert timing.sram_ifmap_reads == int(row["sram_ifmap_reads"])
    assert timing.sram_weight_reads == int(row["sram_filter_reads"])
    assert math.isclose(
        100 * timing.mapping_efficiency, float(row["mapping_efficiency_pct"]), rel_tol=1e-9
    )
    # os: SCALE-Sim adds a bogus (rows + cols) per fold to its OFMAP writes (README).
    bogus = array.folds * (array.array_rows + array.array_cols) if array.dataflow == "os" else 0
    assert timing.sram_ofmap_writes == int(row["sram_ofmap_writes"]) - bogus


def _cases() -> dict[str, list[dict[str, str]]]:
    cases: dict[str, list[dict[str, str]]] = {}
    for row in _golden_rows():
        cases.setdefault(row["case"], []).append(row)
    return cases


def _compute_cycles_agree(rows: list[dict[str, str]], cfg: Path, topology: str) -> list[str]:
    """Simulate the whole topology end to end on `cfg` (memory model included); check every
    layer's compute cycles and SRAM reads against SCALE-Sim's; return the streamed operands."""
    result = simulate_network(_network(topology), load_scalesim_config(cfg))
    by_name = {layer.name: layer for layer in result.layers}
    for row in rows:
        layer = by_name[row["layer_name"]]
        assert layer.timing.compute_cycles == int(row["compute_cycles"])
        assert layer.timing.sram_ifmap_reads == int(row["sram_ifmap_reads"])
        assert layer.timing.sram_weight_reads == int(row["sram_filter_reads"])
        assert layer.memory.dram_bytes >= layer.memory.compulsory_dram_bytes
    return [op for layer in result.layers if layer.memory.tiling
            for op in layer.memory.tiling.streamed]  # fmt: skip


@pytest.mark.parametrize("case", sorted(_cases()))
def test_every_golden_config_simulates_end_to_end(case: str) -> None:
    """Every SCALE-Sim config of the golden data, 1 KiB SRAMs included, runs through the memory
    model and keeps SCALE-Sim's compute cycles."""
    rows = _cases()[case]
    _compute_cycles_agree(rows, DATA / "scalesim" / rows[0]["cfg_file"], rows[0]["topology_file"])


@pytest.mark.parametrize(
    ("case", "streamed"),
    [
        ("alexnet_32x32_ws", "weight"),
        ("alexnet_32x32_os", "ofmap"),
        ("alexnet_32x32_is", "ifmap"),
        ("alexnet_16x32_ws", None),
    ],
)
def test_tiny_srams_stream_and_keep_scalesims_compute_cycles(
    case: str, streamed: str | None, tmp_path: Path
) -> None:
    """AlexNet with 1 KiB SRAMs: SCALE-Sim refetches what does not fit; accel, loading its cfg,
    streams the operands whose smallest tile overflows a 512-byte half (a 16 × 32 weight fold
    just fits one)."""
    rows = _cases()[case]
    text = (DATA / "scalesim" / rows[0]["cfg_file"]).read_text(encoding="utf-8")
    cfg = tmp_path / "tiny.cfg"
    cfg.write_text(text.replace("SzkB: 64", "SzkB: 1"), encoding="utf-8")
    found = _compute_cycles_agree(rows, cfg, rows[0]["topology_file"])
    assert (streamed in found) if streamed else not found


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_a_256x256_array_with_64_kib_srams_simulates(dataflow: str, tmp_path: Path) -> None:
    """A 256 × 256 weight fold is 64 KiB: twice a 64 KiB buffer's half. Compute cycles still
    follow SCALE-Sim's closed form, folds · (T + fill) − 1."""
    text = (DATA / "scalesim" / f"alexnet_32x32_{dataflow}.cfg").read_text(encoding="utf-8")
    cfg = tmp_path / "big.cfg"
    cfg.write_text(text.replace(": 32\n", ": 256\n"), encoding="utf-8")
    chip = load_scalesim_config(cfg)
    assert (chip.array.rows, chip.array.cols) == (256, 256)
    result = simulate_network(_network("topo_alexnet.csv"), chip)
    for layer in result.layers:
        array = layer.mapping.array
        assert array is not None
        fill = 256 + 256 - 2 if dataflow == "os" else 2 * 256 + 256 - 2
        folds = math.ceil(array.rows_needed / 256) * math.ceil(array.cols_needed / 256)
        assert layer.timing.compute_cycles == folds * (array.time_steps + fill) - 1
    undersized = result.summary()["undersized_layers"]
    if dataflow == "ws":  # every layer but Conv1 (K = 363, N = 96) has whole 64 KiB folds
        assert undersized == {f"Conv{i}": ["weight"] for i in range(2, 6)}


@pytest.mark.parametrize(
    ("dataflow", "m", "k", "n", "serial", "overlapped"),
    [
        # 8x4 array. os: T = K = 20, L = 20 + 8 + 4 - 2 = 30, folds = 2·3 = 6, P = max(20, 8)
        ("os", 10, 20, 9, 6 * 30 - 1, 5 * 20 + 30 - 1),
        # ws: T = M = 5 < Ar, L = 5 + 16 + 4 - 2 = 23, folds = 3·3 = 9, P = max(5, 8) = 8
        ("ws", 5, 20, 9, 9 * 23 - 1, 8 * 8 + 23 - 1),
        # is: T = N = 30, L = 30 + 16 + 4 - 2 = 48, folds = 3·2 = 6, P = 30
        ("is", 5, 20, 30, 6 * 48 - 1, 5 * 30 + 48 - 1),
    ],
)
def test_fold_schedules(
    dataflow: str, m: int, k: int, n: int, serial: int, overlapped: int
) -> None:
    array = ArrayMapping(dataflow, m, k, n, 1, 8, 4)  # type: ignore[arg-type]
    assert array_compute_cycles(array, fold_overlap=False) == serial
    assert array_compute_cycles(array, fold_overlap=True) == overlapped
    assert fold_period(array, False) == fold_cycles(array)


def test_one_fold_is_the_same_with_or_without_overlap() -> None:
    array = ArrayMapping("ws", 30, 8, 4, 1, 8, 4)
    assert (
        array_compute_cycles(array, True) == array_compute_cycles(array, False) == 30 + 16 + 2 - 1
    )


def test_groups_run_one_after_another() -> None:
    """Depthwise on the array: one GEMM (M × 9 × 1) per channel, each its own folds."""
    chip = ChipConfig(array=ArrayConfig(rows=4, cols=4, dataflow="os", fold_overlap=False))
    op = Conv(out_channels=3, kernel=3, padding=1, groups=3)
    layer = Network.build("dw", Shape(3, 4, 4), [LayerEntry("dw", op)]).layers[0]
    timing = time_layer(map_layer(layer, chip), chip)
    assert timing.compute_cycles == 3 * 4 * (9 + 4 + 4 - 2) - 1  # 3 groups × 4 row folds
    assert timing.sram_ifmap_reads == 3 * 16 * 9
    assert timing.mapping_efficiency == 0.25


@pytest.mark.parametrize(
    ("op", "cycles"),
    [
        # 8x8x8 maxpool 2x2 s2: 128 outputs of 4 ops on 32 lanes, 2 ops per lane-cycle, latency 4
        (MaxPool(kernel=2, stride=2), 4 * 2 + 4),
        # global average pool: 8 outputs of 64 ops: one round of 32 cycles
        (GlobalAvgPool(), 32 + 4),
        # 3x3 depthwise, padding 1: 512 outputs of 9 MACs: 16 rounds of ceil(9 / 2) = 5 cycles
        (Conv(out_channels=8, kernel=3, padding=1, groups=8), 16 * 5 + 4),
    ],
)
def test_vector_unit_cycles(op: MaxPool | GlobalAvgPool | Conv, cycles: int) -> None:
    unit = VectorUnitConfig(lanes=32, ops_per_lane_per_cycle=2, pipeline_latency_cycles=4)
    chip = ChipConfig(array=ArrayConfig(depthwise_unit="vector"), vector_unit=unit)
    layer = Network.build("v", Shape(8, 8, 8), [LayerEntry("v", op)]).layers[0]
    mapping = map_layer(layer, chip)
    assert mapping.unit == "vector"
    assert time_layer(mapping, chip).compute_cycles == cycles


def test_add_of_three_inputs_is_two_ops_per_output() -> None:
    unit = VectorUnitConfig(lanes=4, ops_per_lane_per_cycle=1, pipeline_latency_cycles=0)
    assert vector_cycles(outputs=10, ops=20, unit=unit) == 3 * 2
    entries = [LayerEntry("sum", Add(), ("a", "b", "c"))]
    shapes = {name: Shape(2, 1, 5) for name in "abc"}
    layer = Network.build("add", shapes, entries).layers[0]
    chip = ChipConfig(vector_unit=unit)
    assert time_layer(map_layer(layer, chip), chip).compute_cycles == 6


@pytest.mark.parametrize("chip_name", ["default", "default_dw_vector", "edge_16x16_os"])
@pytest.mark.parametrize("network_name", zoo_names())
def test_every_zoo_layer_gets_cycles_on_a_unit(network_name: str, chip_name: str) -> None:
    """Pooling, add, mul and activations cost vector cycles; only addressing is free (concat,
    flatten, LeNet-5's channel slices)."""
    chip = load_chip(chip_name)
    for layer in load_network(network_name):
        mapping = map_layer(layer, chip)
        cycles = time_layer(mapping, chip).compute_cycles
        if mapping.unit == "none":
            assert layer.kind in ("concat", "flatten", "channel_slice") and cycles == 0
        else:
            assert cycles > 0
            on_vector = not layer.uses_array or (
                layer.is_depthwise and chip.array.depthwise_unit == "vector"
            )
            assert mapping.unit == ("vector" if on_vector else "array")


def test_fold_timing_reaches_layers_csv() -> None:
    chip = load_chip("tpu_v1_like")  # 256x256 ws with fold overlap
    network = load_network("lenet5")
    rows = {row["layer"]: row for row in simulate_network(network, chip).rows()}
    fc = network.layers[-1]
    assert fc.uses_array
    row = rows[fc.name]
    assert (row["unit"], row["fold_overlap"], row["folds"]) == ("array", True, 1)
    assert row["fold_period_cycles"] == max(row["M"], 256)
    assert row["cycles_per_fold"] == row["M"] + 2 * 256 + 256 - 2
    assert 0 < row["used_pe_fraction_min"] <= row["mapping_efficiency"]
    pools = [row for row in rows.values() if row["kind"] == "avgpool"]
    assert pools and all(row["unit"] == "vector" and row["folds"] == 0 for row in pools)
