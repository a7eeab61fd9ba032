"""The bound-pruned tiling search against the exhaustive one (every valid candidate replayed)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import chip_with, chips, layers, streaming_chips
from hypothesis import assume, given, settings

from accel.config import ChipConfig
from accel.errors import InputError
from accel.io.sources import load_network
from accel.mapping.mapper import map_layer
from accel.memory import model as memory
from accel.memory import plans, search
from accel.memory.bounds import channel_bound
from accel.memory.candidates import NoFit
from accel.model.network import Layer
from accel.perf.timing import time_layer

CHIPS = {
    "default": {},
    "8x8 os, 8 KiB buffers, 4 B/cycle": {
        "array__rows": 8, "array__cols": 8, "array__dataflow": "os", "sram__ifmap__size_kib": 8,
        "sram__weight__size_kib": 8, "sram__ofmap__size_kib": 8,
        "dram__bandwidth_bytes_per_cycle": 4,
    },
    "is, 2 B/cycle, single-buffered ofmap": {
        "array__dataflow": "is", "dram__bandwidth_bytes_per_cycle": 2,
        "sram__ofmap__double_buffered": False,
    },
    "64x64 os, 256 KiB buffers, 48 B/cycle, latency 300": {
        "array__rows": 64, "array__cols": 64, "array__dataflow": "os",
        "sram__ifmap__size_kib": 256, "sram__weight__size_kib": 256,
        "sram__ofmap__size_kib": 128, "dram__bandwidth_bytes_per_cycle": 48,
        "dram__latency_cycles": 300,
    },
}  # fmt: skip
NETWORKS = {
    "lenet5": ("lenet5", None),
    "lenet5_tanh": ("lenet5_tanh", None),
    "mobilenet_v2 at 32x32": ("mobilenet_v2", {"resolution": 32}),
    "resnet18 at 32x32": ("resnet18", {"resolution": 32}),
}


def _never_worse(layer_list: list[Layer], chip: ChipConfig) -> list[str]:
    """Every distinct array layer: the search's pick against the best of every candidate, and
    every candidate's bound against its replay; the failures, named."""
    failures: list[str] = []
    seen: set[object] = set()
    for layer in layer_list:
        mapping = map_layer(layer, chip)
        shape = (layer.op, layer.input_shapes, layer.output_shape)
        if mapping.array is None or shape in seen:
            continue
        seen.add(shape)
        timing = time_layer(mapping, chip)
        picked = memory.model_memory(mapping, timing, chip)
        runs = memory.every_candidate(mapping, timing, chip)
        best = min((cycles, moved) for _, cycles, moved, _ in runs)
        got = (timing.compute_cycles + picked.stall_cycles, picked.dram_bytes)
        if got > best:
            failures.append(f"{layer.name}: picked {got}, exhaustive {best}")
        failures += [
            f"{layer.name} {tiling.describe()}: bound {bound} > replay {cycles}"
            for tiling, cycles, _, bound in runs if bound > cycles
        ]  # fmt: skip
    assert seen, "every case has array layers"
    return failures


@pytest.mark.parametrize("network", NETWORKS)
@pytest.mark.parametrize("chip_name", CHIPS)
def test_the_search_is_never_worse_than_replaying_every_candidate(
    network: str, chip_name: str
) -> None:
    name, params = NETWORKS[network]
    if network.endswith("32x32") and chip_name.startswith("8x8"):
        pytest.skip("the exhaustive side takes ~20 s here; lenet5 and random layers cover it")
    chip = chip_with(**CHIPS[chip_name])
    assert _never_worse(list(load_network(name, params).layers), chip) == []


@settings(max_examples=12, deadline=None)
@given(layer=layers, chip=chips | streaming_chips)
def test_the_search_is_never_worse_on_random_layers_and_chips(
    layer: Layer, chip: ChipConfig
) -> None:
    try:
        failures = _never_worse([layer], chip)
    except InputError as err:  # a layer that fits no buffer on this chip has nothing to search
        assert "must hold at least one" in str(err)
        return
    assert failures == []


def test_the_channel_bound_allows_a_rounded_down_transfer() -> None:
    # 64-byte bursts at 24 B/cycle: 2.67 cycles each, one burst rounds to 3 and two to 5, so
    # two one-burst transfers take 6 cycles and one two-burst transfer 5: below 128/24 = 5.33.
    chip = chip_with(dram__bandwidth_bytes_per_cycle=24)
    assert channel_bound(np.array([128]), chip).tolist() == [5]
    assert channel_bound(np.array([128]), ChipConfig()).tolist() == [8]  # 16 B/cycle: exact


@settings(max_examples=30, deadline=None)
@given(layer=layers, chip=chips | streaming_chips)
def test_a_candidates_schedule_key_is_read_off_the_table_without_building_it(
    layer: Layer, chip: ChipConfig
) -> None:
    """The scan skips loop orders that build a schedule already replayed before it builds the
    tiling: the key it reads off the table is the built tiling's, for every candidate."""
    mapping = map_layer(layer, chip)
    assume(mapping.array is not None)
    assert mapping.array is not None
    args = (layer.op, layer.input_shapes, layer.output_shape, 1, mapping.array,
            time_layer(mapping, chip).compute_cycles, plans.layout_chip(chip))  # fmt: skip
    try:
        table = plans.layer_table(*args)[0]
    except NoFit:
        return
    flats = table.flat.tolist()
    for flat in flats:
        tiling, _ = search.candidate(table, flat)
        assert search._position_key(table, flat) == search._schedule_key(tiling)
