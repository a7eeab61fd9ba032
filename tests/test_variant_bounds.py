"""A groups-per-step variant's bound in plain numbers against the grid forms it stands for."""

from __future__ import annotations

import numpy as np
from conftest import chip_with, chips, layers, single_layer, streaming_chips
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st
from test_search import _table

from accel.config import ChipConfig
from accel.memory import search, variant_bounds
from accel.memory import tiling as tiles
from accel.memory.bound_terms import Chain, chain_bound
from accel.memory.channel_cycles import (
    channel_bound,
    channel_cycles_of,
    transfer_bound,
    transfer_cycles_of,
)
from accel.model.network import Layer
from accel.model.ops import Conv

bandwidths = st.sampled_from([1, 1.5, 2.7, 4, 8, 16, 24, 48.6, 100])
bursts = st.sampled_from([1, 16, 32, 64, 256])


@settings(max_examples=300, deadline=None)
@given(size=st.integers(0, 1 << 40), transfers=st.integers(1, 1 << 20) | st.none(),
       bandwidth=bandwidths, burst=bursts)  # fmt: skip
def test_one_candidates_channel_cycles_are_the_grid_forms(
    size: int, transfers: int | None, bandwidth: float, burst: int
) -> None:
    chip = chip_with(dram__bandwidth_bytes_per_cycle=bandwidth, dram__burst_bytes=burst)
    assert transfer_cycles_of(size, chip) == int(transfer_bound(np.array([size]), chip)[0])
    count = None if transfers is None else np.array([transfers])
    assert channel_cycles_of(size, chip, transfers) == int(
        channel_bound(np.array([size]), chip, count)[0]
    )


def _grid_bound(variant: variant_bounds.Variant, chip: ChipConfig) -> int:
    """`variant_bounds.timed_bound` as it was written over one-element arrays (the grid forms
    of `bounds.lower_bounds`)."""
    sizes = np.array([variant.first_ifmap, variant.first_weight, variant.last_outputs])
    first_ifmap, first_weight, last = transfer_bound(sizes, chip).tolist()
    latency = chip.dram.latency_cycles
    pipeline = variant.pipeline + first_ifmap + first_weight + latency + last
    count = np.array([2 * variant.steps, 3 * variant.steps])
    bus = np.array([variant.reads, variant.everything])
    loads, channel = channel_bound(bus, chip, count).tolist()
    drain = loads + latency + variant.last_compute + last
    terms = variant.chain
    chain = Chain(
        terms.halves, np.array([terms.steps]), np.array([terms.bus]),
        tuple(np.array([each]) for each in terms.largest), np.array([terms.compute]),
        np.array([terms.transfers]),
    )  # fmt: skip
    return max(pipeline, channel, drain, int(chain_bound(chain, chip)[0]))


@settings(max_examples=40, deadline=None)
@given(layer=layers, chip=chips | streaming_chips, bandwidth=bandwidths,
       latency=st.sampled_from([0, 100, 300]))  # fmt: skip
def test_a_variants_bound_in_plain_numbers_is_the_grid_forms(
    layer: Layer, chip: ChipConfig, bandwidth: float, latency: int
) -> None:
    found = _table(layer, chip)
    assume(found is not None)
    assert found is not None
    table = found[0]
    timed = chip.with_values({"dram.bandwidth_bytes_per_cycle": bandwidth,
                              "dram.latency_cycles": latency})  # fmt: skip
    compared = 0
    for position, flat in enumerate(table.flat.tolist()):
        picked = search.candidate(table, flat)
        for variant, (block, _) in variant_bounds.variants(picked, table, chip, position):
            assert block.g_tile > 1 and variant.tiling == block
            assert variant_bounds.timed_bound(variant, timed) == _grid_bound(variant, timed)
            compared += 1
    event(f"variants compared: {'some' if compared else 'none'}")


def test_a_depthwise_layers_uncut_tilings_have_variants() -> None:
    """The property above meets variants: a depthwise layer's uncut tiling has some."""
    layer = single_layer(Conv(kernel=3, out_channels=32, padding=1, groups=32), 32, 14)
    found = _table(layer, ChipConfig())
    assert found is not None
    table = found[0]
    blocks = [len(tiles.group_blocks(search.candidate(table, flat)[0], ChipConfig()))
              for flat in table.flat.tolist()]  # fmt: skip
    assert max(blocks) > 0


@settings(max_examples=20, deadline=None)
@given(scale=st.sampled_from([0.25, 0.5, 2.0, 4.0]), dataflow=st.sampled_from(["os", "ws", "is"]))
def test_tables_cut_from_one_build_share_their_variants(scale: float, dataflow: str) -> None:
    """A candidate's variants kept per groups per step (`kept`) by the table of one SRAM size
    serve the table of another cut from the same build: the same variants, bounds and all,
    as that table works out on its own."""
    from conftest import sram_scaled

    layer = single_layer(Conv(kernel=3, out_channels=32, padding=1, groups=32), 32, 14)
    chip = chip_with(array__dataflow=dataflow)
    other = sram_scaled(chip, scale)
    first, second = _table(layer, chip), _table(layer, other)
    assert first is not None and second is not None
    assert second[0].positions is first[0].positions  # one build
    shared: dict[int, variant_bounds.Kept] = {}
    compared = 0
    for table, target in ((first[0], chip), (second[0], other)):
        for base, flat in enumerate(table.flat.tolist()):
            picked = search.candidate(table, flat)
            kept = shared.setdefault(flat, ({}, {}))
            fast = variant_bounds.variants(picked, table, target, base, kept)
            assert fast == variant_bounds.variants(picked, table, target, base)
            assert [block for _, (block, _) in fast] == tiles.group_blocks(picked[0], target)
            compared += len(fast)
    assert compared > 0
