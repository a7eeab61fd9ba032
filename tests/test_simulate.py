"""Whole networks end to end: per-layer shares, prefetch, and a DRAM bandwidth sweep."""

from __future__ import annotations

import itertools
import math

import pytest

from accel.config import ChipConfig
from accel.io.sources import load_network
from accel.simulation import simulate_layer, simulate_network

BANDWIDTHS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096)


@pytest.mark.parametrize("name", ["vgg16", "mobilenet_v2"])
def test_latency_falls_with_bandwidth_and_flattens_at_the_compute_bound(name: str) -> None:
    network = load_network(name)
    cycles = []
    for bandwidth in BANDWIDTHS:
        chip = ChipConfig().with_values({"dram.bandwidth_bytes_per_cycle": bandwidth})
        cycles.append(simulate_network(network, chip).total_cycles)
    unlimited = ChipConfig().with_values(
        {"dram.bandwidth_bytes_per_cycle": math.inf, "dram.latency_cycles": 0}
    )
    bound = simulate_network(network, unlimited)
    assert bound.total_cycles == sum(layer.timing.compute_cycles for layer in bound.layers)
    assert all(a >= b for a, b in itertools.pairwise(cycles)), cycles
    assert cycles[0] > 5 * bound.total_cycles  # starved at 1 byte per cycle
    assert cycles[-1] == pytest.approx(bound.total_cycles, rel=0.02)  # flat at the top
    assert cycles[-2] == pytest.approx(cycles[-1], rel=0.05)


def test_layer_shares_sum_to_the_end_to_end_latency() -> None:
    result = simulate_network(load_network("resnet18"), ChipConfig())
    summary = result.summary()
    assert summary["total_cycles"] == sum(layer.total_cycles for layer in result.layers)
    assert summary["total_cycles"] == summary["compute_cycles"] + summary["stall_cycles"]
    assert all(layer.stall_cycles >= 0 for layer in result.layers)
    assert summary["isolated_total_cycles"] == sum(layer.isolated_cycles for layer in result.layers)
    assert summary["overlap_saved_cycles"] == summary["isolated_total_cycles"] - summary["total_cycles"]
    assert summary["overlap_saved_cycles"] > 0  # next-layer weights prefetched
    assert summary["latency_ms"] == pytest.approx(summary["total_cycles"] / 1e6, abs=1e-6)
    assert summary["fps"] == pytest.approx(1000 / summary["latency_ms"], rel=1e-4)


def test_without_prefetch_the_network_is_its_layers_run_alone() -> None:
    chip = ChipConfig().with_values({"dram.prefetch_next_layer_weights": False})
    result = simulate_network(load_network("mobilenet_v3_small"), chip)
    assert [layer.total_cycles for layer in result.layers] == [
        layer.isolated_cycles for layer in result.layers
    ]
    assert result.summary()["overlap_saved_cycles"] == 0


def test_summary_reports_footprint_and_fit() -> None:
    summary = simulate_network(load_network("lenet5"), ChipConfig(), batch=2).summary()
    assert summary["weight_bytes"] == sum(
        layer.weight_bytes for layer in load_network("lenet5").layers
    )
    assert summary["sram_bytes"] == 160 * 1024
    assert summary["weights_fit_on_chip"] and summary["network_fits_on_chip"]
    assert summary["max_batch_on_chip"] >= 2
    assert summary["peak_footprint_bytes"] >= summary["peak_activation_bytes"] > 0


def test_a_layer_alone_counts_its_cold_start() -> None:
    layer = load_network("lenet5").layers[0]
    result = simulate_layer(layer, ChipConfig())
    assert result.total_cycles == result.isolated_cycles == (
        result.timing.compute_cycles + result.memory.stall_cycles
    )


def test_points_that_share_the_array_share_mappings_and_nothing_else_leaks() -> None:
    """Chips that differ only in SRAM, DRAM, clock or energy map and time every layer once
    (`cost._front`); a chip that differs in the array, or a row-stationary chip in its buffers,
    maps again, and every result is what a fresh process computes."""
    from accel.memory.model import clear_cache
    from accel.simulation import cost

    network = load_network("lenet5")
    base = ChipConfig()
    chips = [
        base,
        base.with_values({"dram.bandwidth_bytes_per_cycle": 4, "sram.weight.size_kib": 16}),
        base.with_values({"array.rows": 8}),
        base.with_values({"array.dataflow": "rs"}),
        base.with_values({"array.dataflow": "rs", "sram.ifmap.size_kib": 8}),
    ]
    results = [simulate_network(network, chip) for chip in chips]
    first, same_array, other_array = (result.layers for result in results[:3])
    assert all(a.mapping is b.mapping for a, b in zip(first, same_array, strict=True))
    assert not any(a.mapping is b.mapping for a, b in zip(first, other_array, strict=True))
    for chip, result in zip(chips, results, strict=True):
        cost._FRONTS.clear()
        clear_cache()
        assert simulate_network(network, chip) == result
