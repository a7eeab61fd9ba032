"""Closed-form traffic of a tiling against walking its loop nest tile by tile."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from conftest import chip_with, single_layer
from hypothesis import given, settings
from hypothesis import strategies as st

from accel.config import ChipConfig
from accel.mapping.array import ArrayMapping
from accel.mapping.mapper import map_layer
from accel.memory import tile_grid
from accel.memory import tiling as tiles
from accel.memory.geometry import LayerGeometry
from accel.memory.traffic import bursts, grid_traffic, tiling_traffic
from accel.model.network import Layer
from accel.model.ops import Conv, FullyConnected


def _setup(layer: Layer, chip: ChipConfig) -> tuple[ArrayMapping, LayerGeometry, tiles.Candidates]:
    array = map_layer(layer, chip).array
    assert array is not None
    geometry = LayerGeometry.of(layer, 1)
    return array, geometry, tile_grid.candidates(array, geometry)


def _tiling(array: ArrayMapping, order: str, m: int, k: int, n: int) -> tiles.Tiling:
    trips = (-(-array.m // m), -(-array.k // k), -(-array.n // n))
    return tiles.Tiling(array.dataflow, order, m, k, n, *trips, array.groups, 0, 0, 0)


def test_splitting_k_outside_a_moving_output_loop_spills_partial_sums() -> None:
    # 1×1 conv, 16 → 16 channels on 8×8: M = 64, K = 16, N = 16 on a 4×4 ws array.
    layer = single_layer(Conv(kernel=1, out_channels=16), 16, 8)
    chip = chip_with(array__rows=4, array__cols=4, array__fold_overlap=False)  # refills exposed
    array, _, grid = _setup(layer, chip)
    weights = 16 * 16 + 16 * 4
    # k outermost, M in two tiles: every output tile is visited twice (one int32 spill); the
    # second M chunk refills each of the 4 × 4 folds once more (2·Ar + Ac − 2 = 10 cycles).
    spilled = tiling_traffic(_tiling(array, "kmn", 32, 8, 16), grid, array, chip, weights)
    assert spilled == {
        "ifmap": 1024, "weight": weights, "ofmap_write": 1024 + 4096, "ofmap_read": 4096,
        "refill": 16 * 10,
    }
    # m outermost instead: outputs stay until their reduction ends; weights are read twice.
    refetched = tiling_traffic(_tiling(array, "mkn", 32, 8, 16), grid, array, chip, weights)
    assert (refetched["weight"], refetched["ofmap_read"]) == (2 * weights, 0)
    # A single M-tile keeps the outputs resident whatever the order.
    resident = tiling_traffic(_tiling(array, "kmn", 64, 8, 16), grid, array, chip, weights)
    assert resident["ofmap_read"] == 0


def test_cutting_the_streamed_dimension_costs_refills() -> None:
    layer = single_layer(Conv(kernel=1, out_channels=16), 16, 8)
    chip = chip_with(array__rows=4, array__cols=4, array__fold_overlap=False)  # refills exposed
    array, _, grid = _setup(layer, chip)
    # ws streams M; 4 K-folds × 4 N-folds, each refilled once more per extra M chunk.
    overhead = 2 * 4 + 4 - 2
    cut = tiling_traffic(_tiling(array, "kmn", 32, 16, 16), grid, array, chip, 320)
    assert cut["refill"] == 16 * 1 * overhead
    # A single-fold tile with M innermost streams on without reloading the weights.
    merged = tiling_traffic(_tiling(array, "knm", 8, 4, 4), grid, array, chip, 320)
    assert merged["refill"] == 0


def test_bus_bytes_round_each_transfer_up_to_whole_bursts() -> None:
    assert bursts(np.array([100]), np.array([4]), 16).tolist() == [4 * 32]
    assert bursts(np.array([0]), np.array([0]), 16).tolist() == [0]


@settings(max_examples=60, deadline=None)
@given(
    op=st.sampled_from(
        [
            Conv(kernel=3, padding=1, out_channels=10),
            Conv(kernel=3, stride=2, out_channels=6),
            Conv(kernel=1, out_channels=12),
            Conv(kernel=3, padding=1, groups=4, out_channels=4),
            FullyConnected(out_features=9),
        ]
    ),
    dataflow=st.sampled_from(["os", "ws", "is"]),
    order=st.sampled_from(tiles.LOOP_ORDERS),
    picks=st.tuples(st.integers(0, 99), st.integers(0, 99), st.integers(0, 99)),
)
def test_closed_form_traffic_equals_walking_the_loop_nest(
    op: Conv | FullyConnected, dataflow: str, order: str, picks: tuple[int, int, int]
) -> None:
    layer = single_layer(op, 4, 7)
    chip = chip_with(array__rows=4, array__cols=2, array__dataflow=dataflow)
    array, geometry, grid = _setup(layer, chip)
    sizes = [int(c[p % len(c)]) for c, p in zip((grid.m, grid.k, grid.n), picks, strict=True)]
    tiling = _tiling(array, order, *sizes)
    found = tiling_traffic(tiling, grid, array, chip, layer.weight_bytes)
    found.pop("refill")
    assert found == _walk(tiling, geometry, array, layer.weight_bytes)
    traffic = grid_traffic(order, grid, array, chip, layer.weight_bytes)
    assert np.all(traffic.moved >= traffic.bytes["ifmap"])


def _walk(
    tiling: tiles.Tiling, geometry: LayerGeometry, array: ArrayMapping, weight_bytes: int
) -> dict[str, int]:
    """Play the loops; fetch a tile whenever its index changes; spill outputs left unfinished."""
    parts = geometry.k_parts(tiling.k_tile)
    boxes = {taps: geometry.box_pixels(tiling.m_tile, taps).tolist() for part in parts for _, taps in part}
    bias = weight_bytes - array.groups * array.k * array.n  # int32 biases, with K-tile 0
    sizes = {"m": (array.m, tiling.m_tile), "k": (array.k, tiling.k_tile), "n": (array.n, tiling.n_tile)}

    def extent(dim: str, index: int) -> int:
        total, tile = sizes[dim]
        return min(tile, total - index * tile)

    counts = {"ifmap": 0, "weight": 0, "ofmap_write": 0, "ofmap_read": 0}
    held: dict[str, tuple[int, ...] | None] = {"ifmap": None, "weight": None, "ofmap": None}
    visits: dict[tuple[int, ...], int] = {}
    loops = [range(tiling.trips(dim)) for dim in tiling.loop_order]
    for group in range(array.groups):
        for indices in itertools.product(*loops):
            at = dict(zip(tiling.loop_order, indices, strict=True))
            m, k, n = at["m"], at["k"], at["n"]
            if held["ifmap"] != (group, m, k):
                counts["ifmap"] += sum(count * boxes[taps][m] for count, taps in parts[k])
                held["ifmap"] = (group, m, k)
            if held["weight"] != (group, k, n):
                per_group_bias = bias // array.groups if k == 0 else 0
                counts["weight"] += extent("k", k) * extent("n", n) + per_group_bias * extent("n", n) // array.n
                held["weight"] = (group, k, n)
            if held["ofmap"] != (group, m, n):
                key = (group, m, n)
                if key in visits:
                    counts["ofmap_read"] += extent("m", m) * extent("n", n) * 4
                visits[key] = visits.get(key, 0) + 1
                held["ofmap"] = key
    outputs = array.groups * array.m * array.n
    spills = sum(v - 1 for v in visits.values())
    per_tile = {key: extent("m", key[1]) * extent("n", key[2]) for key in visits}
    spilled = sum((visits[key] - 1) * per_tile[key] * 4 for key in visits)
    assert spills == 0 or spilled > 0
    counts["ofmap_write"] = outputs + spilled
    return counts


@pytest.mark.parametrize("order", tiles.LOOP_ORDERS)
def test_every_loop_order_reads_each_operand_at_least_once(order: str) -> None:
    layer = single_layer(Conv(kernel=3, padding=1, out_channels=8), 8, 8)
    chip = chip_with(array__rows=4, array__cols=4)
    array, geometry, grid = _setup(layer, chip)
    traffic = grid_traffic(order, grid, array, chip, layer.weight_bytes)
    assert traffic.bytes["weight"].min() >= layer.weight_bytes
    assert traffic.bytes["ofmap_write"].min() >= layer.ofmap_bytes
    assert traffic.bytes["ifmap"].min() >= geometry.image_box * 8
