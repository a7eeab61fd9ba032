"""Row stationary: the mapping rule, the PE-level model against the analytic cycles, traffic."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import chip_with, run_accel, single_layer
from hypothesis import given, settings
from hypothesis import strategies as st

from accel.config import ChipConfig
from accel.errors import InputError
from accel.io.sources import load_chip, load_network
from accel.mapping.mapper import map_layer
from accel.mapping.row_stationary import map_row_stationary
from accel.memory.model import model_memory
from accel.memory.row_stationary import rlc_bytes, rlc_pairs, rs_dram_elements
from accel.model.ops import Conv, FullyConnected
from accel.oracles.row_stationary import run_row_stationary
from accel.perf.row_stationary import rs_compute_cycles
from accel.perf.timing import time_layer
from accel.simulation import (
    feature_map_densities,
    require_int8,
    run_functional,
    simulate_network,
)

EYERISS = load_chip("configs/eyeriss_v1.yaml")


def _reference_conv(ifmap: np.ndarray, weights: np.ndarray, op: Conv) -> np.ndarray:
    """Grouped conv by definition (NCHW, OIHW), integers."""
    top, bottom, left, right = op.pads(ifmap.shape[2], ifmap.shape[3])
    x = np.pad(ifmap, ((0, 0), (0, 0), (top, bottom), (left, right)))
    (kh, kw), (sh, sw), groups = op.kernel, op.stride, op.groups
    height = (x.shape[2] - kh) // sh + 1
    width = (x.shape[3] - kw) // sw + 1
    cin, cout = ifmap.shape[1] // groups, weights.shape[0] // groups
    out = np.zeros((ifmap.shape[0], weights.shape[0], height, width), np.int64)
    for g in range(groups):
        for dy in range(kh):
            for dx in range(kw):
                patch = x[:, g * cin:(g + 1) * cin, dy:dy + sh * height:sh, dx:dx + sw * width:sw]
                w = weights[g * cout:(g + 1) * cout, :, dy, dx]
                out[:, g * cout:(g + 1) * cout] += np.einsum("nchw,oc->nohw", patch, w)
    return out


@settings(max_examples=60, deadline=None)
@given(
    channels=st.integers(1, 4), out=st.integers(1, 6), kernel=st.integers(1, 4),
    stride=st.integers(1, 2), padding=st.integers(0, 1), groups=st.integers(1, 2),
    size=st.integers(4, 9), batch=st.integers(1, 3), rows=st.integers(1, 6),
    cols=st.integers(1, 6), ifmap_spad=st.integers(1, 12), filter_spad=st.integers(4, 48),
    psum_spad=st.integers(1, 8), filter_kib=st.sampled_from([0.05, 0.5, 8.0]),
    glb_kib=st.sampled_from([1.0, 4.0, 100.0]), seed=st.integers(0, 2**16),
)  # fmt: skip
def test_pe_model_equals_the_conv_and_the_analytic_cycles(
    channels: int, out: int, kernel: int, stride: int, padding: int, groups: int, size: int,
    batch: int, rows: int, cols: int, ifmap_spad: int, filter_spad: int, psum_spad: int,
    filter_kib: float, glb_kib: float, seed: int,
) -> None:  # fmt: skip
    op = Conv(kernel=kernel, stride=stride, padding=padding, out_channels=out * groups,
              groups=groups)  # fmt: skip
    layer = single_layer(op, channels * groups, max(size, kernel))
    chip = chip_with(
        array__rows=rows, array__cols=cols, array__dataflow="rs",
        row_stationary__ifmap_spad_entries=ifmap_spad,
        row_stationary__filter_spad_entries=filter_spad,
        row_stationary__psum_spad_entries=psum_spad,
        sram__weight__size_kib=filter_kib, sram__ifmap__size_kib=glb_kib,
    )  # fmt: skip
    mapping = map_row_stationary(layer, chip, batch)
    rng = np.random.default_rng(seed)
    shape = layer.input_shapes[0]
    ifmap = rng.integers(-128, 128, (batch, shape.channels, shape.height, shape.width))
    weights = rng.integers(-128, 128, (out * groups, channels, kernel, kernel))
    output, cycles = run_row_stationary(mapping, ifmap, weights, ifmap_spad, filter_spad,
                                        psum_spad)  # fmt: skip
    assert np.array_equal(output, _reference_conv(ifmap, weights, op))
    assert cycles == rs_compute_cycles(mapping)


def test_eyeriss_alexnet_mapping_follows_one_rule() -> None:
    # Active PEs equal JSSC 2017 Table V's (154, 135, 156, 156, 156); CONV1 lands on Table
    # III's parameters (e 7, two filter sets, p 16, q 1, n 1, m 96), CONV2 on its folded 5 × 27
    # set; nothing in the rule names a layer.
    net = load_network("alexnet_v1")
    found = {}
    for layer in net.layers:
        if layer.name.startswith("conv"):
            m = map_row_stationary(layer, EYERISS, 4)
            found[layer.name] = (m.active_pes, m.e, m.r, m.t, m.p, m.q)
    assert found == {
        "conv1": (154, 7, 1, 2, 16, 1),
        "conv2": (135, 27, 1, 1, 16, 2),
        "conv3": (156, 13, 1, 4, 16, 4),
        "conv4": (156, 13, 1, 4, 16, 4),
        "conv5": (156, 13, 1, 4, 16, 4),
    }
    conv1 = map_row_stationary(net.layers[0], EYERISS, 4)
    assert (conv1.n, conv1.m, conv1.strips, conv1.passes) == (1, 96, 8, 288)
    # 288 passes of 176 filter-load cycles + 55 columns × (176 MACs + 16 psum adds) + 10 ripple
    assert rs_compute_cycles(conv1) == 288 * (176 + 55 * (176 + 16) + 10)


def test_conv1_traffic_reads_each_strip_with_its_halo_and_the_filters_per_strip() -> None:
    conv1 = map_row_stationary(load_network("alexnet_v1").layers[0], EYERISS, 4)
    ifmap, weight, ofmap = rs_dram_elements(conv1)
    # 8 strips of 7 ofmap rows read 35 ifmap rows each (the last 6 rows: 31): 276 of 227 rows.
    assert ifmap == 4 * 3 * 276 * 227
    assert weight == 4 * 8 * 96 * 3 * 11 * 11  # every filter once per image and strip
    assert ofmap == 4 * 96 * 55 * 55


def test_rlc_counts_one_pair_per_nonzero_and_per_31_zeros() -> None:
    assert rlc_pairs([0, 0, 5, 0, 7]) == 2
    assert rlc_pairs([0] * 32 + [1]) == 2  # the run saturates at 31: a zero level is sent
    assert rlc_pairs([0] * 31 + [1]) == 1
    assert rlc_pairs([0, 0, 0]) == 1
    assert rlc_bytes(300, 0.5) == 50 * 8  # 150 pairs, 3 to a 64-bit word
    assert rlc_bytes(320, 0.0 + 1e-9) == 8 * 4  # 10 saturated runs: 4 words


def test_compression_codes_feature_maps_but_not_the_first_input_or_weights() -> None:
    net = load_network("alexnet_v1")
    plain = EYERISS.with_values({"dram.feature_map_compression": "none"})
    coded = EYERISS.with_values({"dram.feature_map_density": 0.25})
    for layer, first in ((net.layers[0], True), (net.layers[3], False)):
        results = []
        for chip in (plain, coded):
            mapping = map_layer(layer, chip, 4)
            results.append(model_memory(mapping, time_layer(mapping, chip), chip))
        assert results[0].dram_weight_bytes == results[1].dram_weight_bytes
        assert (results[0].dram_ifmap_bytes == results[1].dram_ifmap_bytes) == first
        elements = results[0].dram_ofmap_write_bytes // 2
        assert results[1].dram_ofmap_write_bytes == rlc_bytes(elements, 0.25)


def test_vgg16_at_batch_3_runs_on_the_eyeriss_config() -> None:
    result = simulate_network(load_network("vgg16"), EYERISS, 3)
    convs = [row for row in result.layers if row.mapping.layer.kind == "conv"]
    assert len(convs) == 13
    assert all(row.memory.glb_access_bytes > 0 for row in convs)
    assert all(0.5 < row.timing.mapping_efficiency <= 1 for row in convs)


def test_fc_maps_as_a_one_by_one_conv() -> None:
    layer = single_layer(FullyConnected(out_features=10), 6, 1)
    mapping = map_row_stationary(layer, EYERISS, 2)
    assert (mapping.shape.in_channels, mapping.shape.out_channels, mapping.e) == (6, 10, 1)
    assert mapping.macs == 2 * 60


def test_rs_refuses_dilation() -> None:
    layer = single_layer(Conv(kernel=3, dilation=2, out_channels=4), 4, 9)
    with pytest.raises(InputError, match="rs dataflow needs dilation 1"):
        map_row_stationary(layer, EYERISS, 1)


def test_int16_is_two_bytes_and_refused_by_the_int8_datapath() -> None:
    chip = ChipConfig().with_values({"array.precision": "int16"})
    assert chip.array.element_bytes == 2 and not chip.array.is_float
    with pytest.raises(InputError, match=r"array.precision must be int8 .* not 'int16'"):
        require_int8(chip)


def test_eyeriss_alexnet_agrees_with_the_measured_table() -> None:
    """benchmarks/eyeriss_alexnet.py's figures against JSSC 2017 Table V (issue 18's targets):
    latency within 10% per layer and 5% in total, DRAM within 15% per layer with run-length
    coding, active PEs equal."""
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "eyeriss_alexnet.py"
    spec = importlib.util.spec_from_file_location("eyeriss_alexnet", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench  # its dataclasses resolve their annotations through it
    spec.loader.exec_module(bench)
    measured, table = bench.measure(), bench.TABLE_V
    ratios = {name: (round(m.processing_ms / table[name].processing_latency_ms, 3),
                     round(m.dram_mb / table[name].dram_mb, 3), m.active_pes - table[name].active_pes)
              for name, m in measured.items()}  # fmt: skip
    assert ratios == {
        "conv1": (0.938, 1.127, 0), "conv2": (0.947, 0.902, 0), "conv3": (0.97, 0.892, 0),
        "conv4": (0.991, 0.911, 0), "conv5": (1.057, 0.999, 0),
    }  # fmt: skip
    total = sum(m.processing_ms for m in measured.values())
    assert abs(total / bench.TOTAL["processing_latency_ms"] - 1) < 0.05


CODING_CHIP = ("array: {rows: 12, cols: 14, dataflow: rs}\n"
               "dram: {feature_map_compression: rlc, feature_map_density: 0.5}\n")


def test_a_functional_runs_zeros_drive_the_coder(tmp_path: Path) -> None:
    # lenet5 on an int8 rs chip that codes feature maps: the densities measured in the int8 run
    # (codes other than the zero point) replace the stated 0.5 in the DRAM bytes; the CLI's
    # --check run writes the same.
    (tmp_path / "chip.yaml").write_text(CODING_CHIP, encoding="utf-8")
    chip = load_chip(tmp_path / "chip.yaml")
    net = load_network("lenet5")
    functional = run_functional(net, chip, 2)
    densities = feature_map_densities(net, functional.run, functional.qnet)
    layer = net.layers[2]  # conv2, reading pool1's output
    codes = functional.run.outputs[layer.name]
    zero = functional.qnet.activations[layer.name].zero_point
    assert densities[layer.name][1] == np.count_nonzero(codes != zero) / codes.size
    stated = simulate_network(net, chip, 2).layers[2].memory
    measured = simulate_network(net, chip, 2, densities).layers[2].memory
    assert measured.dram_ofmap_write_bytes == rlc_bytes(codes.size, densities[layer.name][1])
    assert stated.dram_ofmap_write_bytes == rlc_bytes(codes.size, 0.5)
    assert measured.dram_weight_bytes == stated.dram_weight_bytes
    assert measured.dram_ofmap_write_bytes != stated.dram_ofmap_write_bytes
    run = run_accel("simulate-network", "-n", "lenet5", "--chip", str(tmp_path / "chip.yaml"),
                    "--batch", "2", "--check", "-q", "--out", str(tmp_path / "out"))  # fmt: skip
    assert run.returncode == 0, run.stderr
    rows = list(csv.DictReader((tmp_path / "out" / "layers.csv").open(encoding="utf-8")))
    assert int(rows[2]["dram_ofmap_write_bytes"]) == measured.dram_ofmap_write_bytes
